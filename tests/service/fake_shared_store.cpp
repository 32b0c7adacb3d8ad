#include "fake_shared_store.hpp"

#include <algorithm>
#include <system_error>
#include <utility>

namespace tinychat::test {

namespace {

std::error_code unreachable() { return std::make_error_code(std::errc::connection_refused); }

} // namespace

// ---- the store ---------------------------------------------------------------------------------

FakeSharedStore::Node& FakeSharedStore::add_node() {
  nodes_.push_back(std::make_unique<Node>(*this, "node" + std::to_string(nodes_.size() + 1)));
  return *nodes_.back();
}

void FakeSharedStore::settle() {
  for (bool busy = true; busy;) {
    busy = false;
    while (!ops_.empty()) {
      auto op = std::move(ops_.front());
      ops_.pop_front();
      op();
      busy = true;
    }
    for (auto& node : nodes_)
      if (!node->held_ && !node->pending_.empty()) {
        node->deliver();
        busy = true;
      }
  }
}

void FakeSharedStore::set_failing(bool failing, bool joins_take_effect) {
  failing_ = failing;
  joins_take_effect_ = joins_take_effect;
  if (!failing)
    for (auto& op : std::exchange(parked_leaves_, {}))
      queue(std::move(op));
}

void FakeSharedStore::evict(Node& node) {
  queue([this, &node] {
    const std::string mark = node.id() + ":";
    for (auto& [id, room] : rooms_) {
      std::vector<std::string> gone;
      for (const auto& [conn, key] : room.connections)
        if (conn.starts_with(mark)) gone.push_back(conn);
      for (const auto& conn : gone)
        leave_script(room, conn);
    }
    node.run([&node] { node.events_->evicted(); });
  });
}

const FakeSharedStore::Room* FakeSharedStore::room(std::string_view id) const {
  auto it = rooms_.find(id);
  return it == rooms_.end() ? nullptr : &it->second;
}

FakeSharedStore::Room* FakeSharedStore::live(std::string_view id) {
  auto it = rooms_.find(id);
  return it != rooms_.end() && it->second.record.expires_at > clock_.now() ? &it->second : nullptr;
}

void FakeSharedStore::publish(const std::string& room_id, const Publication& p) {
  for (auto& node : nodes_)
    if (node->watches(room_id)) node->pending_.push_back(p);
}

// ---- the scripts -------------------------------------------------------------------------------

JoinResult FakeSharedStore::join_script(const Node& node, const JoinAttempt& a) {
  JoinResult r;
  Room* room = live(a.room_id);
  if (!room) {
    r.refused = error::room_not_found;
    return r;
  }
  r.refused = a.refusal;
  auto present = room->present.find(a.pub_key);
  if (!r.refused && present == room->present.end()) {
    if (room->present.size() >= a.max_members)
      r.refused = error::room_full;
    else if (room->names.contains(a.user_name))
      r.refused = error::name_taken;
  }
  if (!r.refused && !a.signature_valid) r.refused = error::invalid_signature;
  if (r.refused) return r;
  if (room->connections.emplace(node.connection(a.client), a.pub_key).second)
    ++room->key_connections[a.pub_key];
  if (present != room->present.end()) {
    r.user_name = present->second.user_name;
    r.presence_version = room->pv;
  } else {
    Member m{a.user_id, a.user_name, a.pub_key};
    room->present.emplace(a.pub_key, m);
    room->names.emplace(a.user_name, a.pub_key);
    r.user_name = a.user_name;
    r.presence_version = ++room->pv;
    publish(a.room_id, PresenceEvent{a.room_id, room->pv, true, m});
  }
  auto last = room->last_client_seq.find(a.pub_key);
  r.last_client_seq = last == room->last_client_seq.end() ? 0 : last->second;
  r.expires_at = room->record.expires_at;
  return r;
}

void FakeSharedStore::leave_script(Room& room, const std::string& connection) {
  auto c = room.connections.find(connection);
  if (c == room.connections.end()) return;
  const PublicKey key = c->second;
  room.connections.erase(c);
  if (--room.key_connections[key] > 0) return;
  room.key_connections.erase(key);
  auto p = room.present.find(key);
  if (p == room.present.end()) return;
  const Member m = p->second;
  room.names.erase(m.user_name);
  room.present.erase(p);
  publish(room.record.room_id, PresenceEvent{room.record.room_id, ++room.pv, false, m});
}

AppendResult FakeSharedStore::append_script(const std::string& connection, ChatMessage m,
                                            std::uint32_t keep) {
  AppendResult r;
  Room* room = live(m.room_id);
  if (!room)
    r.refused = error::room_not_found;
  else if (!room->connections.contains(connection))
    r.refused = error::not_member;
  if (r.refused) return r;
  auto last = room->last_client_seq.find(m.pub_key);
  if (last != room->last_client_seq.end() && m.client_seq <= last->second) {
    r.refused = error::stale_client_seq;
    r.last_client_seq = last->second;
    return r;
  }
  room->last_client_seq[m.pub_key] = m.client_seq;
  m.seq = r.seq = ++room->seq;
  m.ts = r.ts = clock_.now();
  room->messages.push_back(m);
  while (room->messages.size() > keep)
    room->messages.pop_front();
  publish(m.room_id, m);
  return r;
}

// ---- one node ----------------------------------------------------------------------------------

void FakeSharedStore::Node::run(const std::function<void()>& work) {
  if (runner_)
    runner_(work);
  else
    work();
}

// Runs `op` when the store gets to it; `done` gets its result, or an error while failing.
template <class T>
void FakeSharedStore::Node::later(SharedStore::Done<T> done, std::function<T()> op) {
  store_.queue([this, done = std::move(done), op = std::move(op)] {
    if (store_.failing_) return run([&] { done(unreachable(), T{}); });
    T result = op();
    run([&] { done({}, std::move(result)); });
  });
}

void FakeSharedStore::Node::create_room(const RoomRecord& room, Store::Completion done) {
  later<std::error_code>(
      [done](std::error_code ec, std::error_code in_use) { done(ec ? ec : in_use); },
      [this, room] {
        Room fresh;
        fresh.record = room;
        if (store_.rooms_.try_emplace(room.room_id, std::move(fresh)).second)
          return std::error_code();
        return std::make_error_code(std::errc::file_exists);
      });
}

void FakeSharedStore::Node::join(const JoinAttempt& attempt, Done<JoinResult> done) {
  store_.queue([this, attempt, done = std::move(done)] {
    const bool failed = store_.failing_;
    JoinResult result; // with joins_take_effect, the script runs and its answer is lost
    if (!failed || store_.joins_take_effect_) result = store_.join_script(*this, attempt);
    run([&] { done(failed ? unreachable() : std::error_code(), result); });
  });
}

void FakeSharedStore::Node::leave(std::string_view room_id, ClientId client) {
  std::function<void()> op = [this, id = std::string(room_id), conn = connection(client)] {
    if (auto r = store_.rooms_.find(id); r != store_.rooms_.end())
      store_.leave_script(r->second, conn);
  };
  store_.queue([this, op] {
    if (store_.failing_)
      store_.parked_leaves_.push_back(op);
    else
      op();
  });
}

void FakeSharedStore::Node::append(ClientId client, const ChatMessage& message, std::uint32_t keep,
                                   Done<AppendResult> done) {
  later<AppendResult>(std::move(done), [this, conn = connection(client), message, keep] {
    return store_.append_script(conn, message, keep);
  });
}

void FakeSharedStore::Node::watch(std::string_view room_id, Store::Completion done) {
  later<bool>([done](std::error_code ec, bool) { done(ec); },
              [this, id = std::string(room_id)] { return watched_.insert(id).second; });
}

void FakeSharedStore::Node::unwatch(std::string_view room_id) {
  store_.queue([this, id = std::string(room_id)] { watched_.erase(id); });
}

void FakeSharedStore::Node::read_room(std::string_view room_id,
                                      Done<std::optional<RoomView>> done) {
  later<std::optional<RoomView>>(std::move(done), [this, id = std::string(room_id)] {
    std::optional<RoomView> view;
    if (const Room* r = store_.live(id)) {
      view = RoomView{r->record, r->seq, {r->messages.begin(), r->messages.end()}, r->pv, {}};
      for (const auto& [key, member] : r->present)
        view->members.push_back(member);
    }
    return view;
  });
}

void FakeSharedStore::Node::read_messages(std::string_view room_id, std::uint64_t after_seq,
                                          Done<std::vector<ChatMessage>> done) {
  later<std::vector<ChatMessage>>(std::move(done), [this, id = std::string(room_id), after_seq] {
    std::vector<ChatMessage> out;
    if (const Room* r = store_.room(id))
      std::copy_if(r->messages.begin(), r->messages.end(), std::back_inserter(out),
                   [&](const ChatMessage& m) { return m.seq > after_seq; });
    return out;
  });
}

void FakeSharedStore::Node::room_exists(std::string_view room_id, Done<bool> done) {
  later<bool>(std::move(done),
              [this, id = std::string(room_id)] { return store_.live(id) != nullptr; });
}

bool FakeSharedStore::Node::drop(const std::function<bool(const Publication&)>& lost) {
  auto it = std::find_if(pending_.begin(), pending_.end(), lost);
  if (it == pending_.end()) return false;
  pending_.erase(it);
  return true;
}

bool FakeSharedStore::Node::drop_message(std::string_view room_id, std::uint64_t seq) {
  return drop([&](const Publication& p) {
    auto* m = std::get_if<ChatMessage>(&p);
    return m && m->room_id == room_id && m->seq == seq;
  });
}

bool FakeSharedStore::Node::drop_presence(std::string_view room_id, std::uint64_t version) {
  return drop([&](const Publication& p) {
    auto* e = std::get_if<PresenceEvent>(&p);
    return e && e->room_id == room_id && e->version == version;
  });
}

void FakeSharedStore::Node::deliver() {
  while (!pending_.empty()) {
    Publication p = std::move(pending_.front());
    pending_.pop_front();
    run([&] {
      if (auto* m = std::get_if<ChatMessage>(&p))
        events_->message(*m);
      else
        events_->presence(std::get<PresenceEvent>(p));
    });
  }
}

void FakeSharedStore::Node::resync() {
  run([this] { events_->resync(); });
}

} // namespace tinychat::test
