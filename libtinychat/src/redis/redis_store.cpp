#include "connection.hpp"
#include "redis_codec.hpp"
#include "redis_scripts.hpp"

#include <tinychat/encoding.hpp>
#include <tinychat/redis_store.hpp>
#include <tinychat/signature_verifier.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <deque>
#include <map>

namespace tinychat {

using namespace redis; // Reply, the codec and the scripts

namespace {

enum class ScriptId { create, join, leave, append, find_append, read, beat, sweep, count };

constexpr std::array<const char*, static_cast<std::size_t>(ScriptId::count)> script_bodies{
    redis::create_script,      redis::join_script, redis::leave_script, redis::append_script,
    redis::find_append_script, redis::read_script, redis::beat_script,  redis::sweep_script};

// How long an append whose reply was lost waits for Redis to say whether it took it.
constexpr auto confirm_limit = std::chrono::seconds(10);

std::string random_node_id() {
  std::array<std::uint8_t, 8> raw{};
  random_bytes(raw);
  return to_hex(raw);
}

} // namespace

// ---- the store ---------------------------------------------------------------------------------

struct RedisStore::Impl : std::enable_shared_from_this<Impl> {
  Impl(boost::asio::any_io_executor ex, RedisStoreOptions opts)
      : executor(ex), options(std::move(opts)), endpoint(redis::parse_url(options.url)),
        node(random_node_id()), beat_timer(ex) {
    for (std::size_t i = 0; i < script_bodies.size(); ++i)
      scripts[i] = std::string(redis::script_prelude) + script_bodies[i];
  }

  boost::asio::any_io_executor executor;
  RedisStoreOptions options;
  redis::Endpoint endpoint;
  std::string node;
  std::shared_ptr<redis::Connection> commands;
  std::shared_ptr<redis::Connection> subscriber;
  SharedEvents* events = nullptr;
  HealthLog health;
  std::array<std::string, script_bodies.size()> scripts;
  std::array<std::string, script_bodies.size()> shas;            // learnt from SCRIPT LOAD
  std::deque<std::pair<std::string, std::string>> unsent_leaves; // (room prefix, connection)
  boost::asio::steady_timer beat_timer;
  bool registered = false; // the first heartbeat got through
  std::chrono::steady_clock::time_point connected_since;
  bool subscriber_was_up = false;
  bool closed = false; // no completion runs after the store is gone or closed

  std::string room_prefix(std::string_view room_id) const {
    return options.key_prefix + std::string(room_id);
  }
  std::string nodes_key() const { return options.key_prefix + "nodes"; }
  std::string node_hash_prefix() const { return options.key_prefix + "node:"; }
  std::string node_hash() const { return node_hash_prefix() + node; }
  std::string connection_name(ClientId client) const { return node + ":" + std::to_string(client); }

  void start() {
    auto weak = weak_from_this();
    commands = redis::Connection::create(executor, endpoint, redis::Connection::Mode::commands);
    subscriber = redis::Connection::create(executor, endpoint, redis::Connection::Mode::subscriber);
    commands->on_state([weak](bool up, const std::string& detail) {
      if (auto self = weak.lock()) self->commands_state(up, detail);
    });
    subscriber->on_state([weak](bool up, const std::string& detail) {
      if (auto self = weak.lock()) self->subscriber_state(up, detail);
    });
    subscriber->on_message([weak](const std::string& channel, const std::string& payload) {
      if (auto self = weak.lock()) self->on_event(channel, payload);
    });
    commands->start();
    subscriber->start();
    schedule_beat();
  }

  void commands_state(bool up, const std::string& detail) {
    if (health) health(up, "commands: " + detail);
    if (!up) return;
    connected_since = std::chrono::steady_clock::now();
    // First on the new connection, so everything after it finds the scripts and this node.
    for (std::size_t i = 0; i < scripts.size(); ++i)
      commands->command({"SCRIPT", "LOAD", scripts[i]},
                        [weak = weak_from_this(), i](std::error_code ec, Reply r) {
                          auto self = weak.lock();
                          if (self && !ec && r.kind == Reply::Kind::string) self->shas[i] = r.str;
                        });
    beat();
    confirm_all();
    while (!unsent_leaves.empty()) {
      auto [prefix, conn] = std::move(unsent_leaves.front());
      unsent_leaves.pop_front();
      send_leave(std::move(prefix), std::move(conn));
    }
  }

  void subscriber_state(bool up, const std::string& detail) {
    if (health) health(up, "events: " + detail);
    if (!up) return;
    // Publications sent while it was away are lost: the nodes read their rooms again.
    if (std::exchange(subscriber_was_up, true) && events && !closed) events->resync();
  }

  // ---- scripts -------------------------------------------------------------------------------

  void eval(ScriptId id, std::vector<std::string> keys, std::vector<std::string> args,
            redis::Connection::Callback done) {
    const auto i = static_cast<std::size_t>(id);
    std::vector<std::string> argv;
    argv.reserve(3 + keys.size() + args.size());
    const bool cached = !shas[i].empty();
    argv.push_back(cached ? "EVALSHA" : "EVAL");
    argv.push_back(cached ? shas[i] : scripts[i]);
    argv.push_back(std::to_string(keys.size()));
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    commands->command(std::move(argv), [weak = weak_from_this(), id, keys, args, cached,
                                        done = std::move(done)](std::error_code ec, Reply r) {
      auto self = weak.lock();
      if (!self || self->closed) return;
      // A Redis that restarted, or whose scripts were flushed: send the body again.
      if (cached && !ec && r.kind == Reply::Kind::error && r.str.starts_with("NOSCRIPT")) {
        self->shas[static_cast<std::size_t>(id)].clear();
        return self->eval(id, keys, args, done);
      }
      done(ec, std::move(r));
    });
  }

  // A plain command; `done` runs only while the store is open.
  void command(std::vector<std::string> argv, redis::Connection::Callback done) {
    commands->command(std::move(argv), [weak = weak_from_this(),
                                        done = std::move(done)](std::error_code ec, Reply r) {
      auto self = weak.lock();
      if (self && !self->closed) done(ec, std::move(r));
    });
  }

  // The failure a reply stands for: none for a usable reply.
  std::error_code failure(std::error_code ec, const Reply& r) {
    if (ec) return make_error(store_errc::unreachable);
    if (r.kind == Reply::Kind::error) {
      if (health) health(false, "Redis answered: " + r.str);
      return make_error(store_errc::refused);
    }
    return {};
  }

  // ---- heartbeats ----------------------------------------------------------------------------

  std::chrono::milliseconds beat_interval() const {
    return std::max(std::chrono::milliseconds(50), options.node_timeout / 5);
  }

  void schedule_beat() {
    beat_timer.expires_after(beat_interval());
    beat_timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->closed) return;
      self->expire_unconfirmed();
      if (self->commands->up() && !self->unconfirmed.empty()) self->confirm_all();
      if (self->commands->up()) {
        self->beat();
        // Right after an outage every node's heartbeat is old: give the others a whole
        // timeout to come back before taking any of them for dead.
        if (std::chrono::steady_clock::now() - self->connected_since >= self->options.node_timeout)
          self->sweep("");
      }
      self->schedule_beat();
    });
  }

  void beat() {
    eval(ScriptId::beat, {nodes_key()}, {node, registered ? "0" : "1"},
         [this](std::error_code ec, Reply r) {
           if (ec || r.kind == Reply::Kind::error) return;
           registered = true;
           if (r.str == "evicted" && events) events->evicted();
         });
  }

  void sweep(const std::string& only, std::function<void()> done = {}) {
    eval(ScriptId::sweep, {nodes_key(), options.key_prefix + "swept"},
         {std::to_string(options.node_timeout.count()), node_hash_prefix(), only},
         [done = std::move(done)](std::error_code, Reply) {
           if (done) done();
         });
  }

  // ---- events --------------------------------------------------------------------------------

  std::string channel(std::string_view room_id) const { return room_prefix(room_id) + ":e"; }

  void on_event(const std::string& channel_name, const std::string& payload) {
    if (!events || closed) return;
    std::string_view ch = channel_name;
    if (!ch.starts_with(options.key_prefix) || !ch.ends_with(":e")) return;
    ch.remove_prefix(options.key_prefix.size());
    ch.remove_suffix(2);
    const std::string room_id(ch);
    auto parts = split_tabs(payload, 5);
    if (parts.size() < 4) return;
    if (parts[0] == "M") {
      auto seq = to_uint(parts[1]);
      auto ts = to_uint(parts[2]);
      // parts[3] holds the rest: the JSON has no raw TAB, but split at most once more.
      std::string_view json_text =
          std::string_view(payload).substr(parts[0].size() + parts[1].size() + parts[2].size() + 3);
      if (!seq || !ts) return;
      if (auto m = decode_payload(room_id, *seq, static_cast<TimestampMs>(*ts), json_text))
        events->message(*m);
    } else if ((parts[0] == "J" || parts[0] == "L") && parts.size() == 5) {
      auto version = to_uint(parts[1]);
      auto key = key_from_hex(parts[2]);
      if (!version || !key) return;
      events->presence(PresenceEvent{room_id, *version, parts[0] == "J",
                                     Member{std::string(parts[3]), std::string(parts[4]), *key}});
    }
  }

  // ---- appends whose reply was lost -----------------------------------------------------------

  struct Unconfirmed {
    std::string prefix, key, client_seq, keep;
    Done<AppendResult> done;
    std::chrono::steady_clock::time_point deadline;
  };
  std::deque<Unconfirmed> unconfirmed;

  // Answers the append from what Redis holds once it is back: `sent` if it was stored,
  // `internal` if not, or if Redis stays away past the deadline (then it cannot be known).
  void confirm(Unconfirmed u) {
    unconfirmed.push_back(std::move(u));
    if (commands->up()) confirm_all();
  }

  void confirm_all() {
    for (auto& u : std::exchange(unconfirmed, {})) {
      // Built before the completion takes `u` over.
      std::vector<std::string> keys{u.prefix};
      std::vector<std::string> args{u.key, u.client_seq, u.keep};
      eval(ScriptId::find_append, std::move(keys), std::move(args),
           [this, u = std::move(u)](std::error_code ec, Reply r) mutable {
             // Redis still loading its data answers with an error: ask again.
             if ((ec || r.kind == Reply::Kind::error) &&
                 std::chrono::steady_clock::now() < u.deadline)
               return unconfirmed.push_back(std::move(u));
             AppendResult result;
             if (ec || r.kind != Reply::Kind::array || r.elements.empty() ||
                 r.elements[0].str != "found" || r.elements.size() != 3)
               return u.done(make_error(store_errc::unreachable), result);
             result.seq = to_uint(r.elements[1]).value_or(0);
             result.ts = static_cast<TimestampMs>(to_uint(r.elements[2]).value_or(0));
             u.done(result.seq ? std::error_code{} : make_error(store_errc::malformed), result);
           });
    }
  }

  void expire_unconfirmed() {
    const auto now = std::chrono::steady_clock::now();
    std::deque<Unconfirmed> kept;
    for (auto& u : std::exchange(unconfirmed, {})) {
      if (now < u.deadline)
        kept.push_back(std::move(u));
      else
        u.done(make_error(store_errc::unreachable), AppendResult{});
    }
    // A completion may have queued more meanwhile.
    for (auto& u : kept)
      unconfirmed.push_back(std::move(u));
  }

  // ---- leaves --------------------------------------------------------------------------------

  void send_leave(std::string prefix, std::string conn) {
    if (!commands->up()) {
      unsent_leaves.emplace_back(std::move(prefix), std::move(conn));
      return;
    }
    eval(ScriptId::leave, {prefix, node_hash()}, {conn},
         [this, prefix, conn](std::error_code ec, Reply) {
           // Lost with the connection: try again once Redis is back, before anything else.
           if (ec) unsent_leaves.emplace_back(prefix, conn);
         });
  }
};

// ---- public interface ---------------------------------------------------------------------------

RedisStore::RedisStore(boost::asio::any_io_executor executor, RedisStoreOptions options)
    : impl_(std::make_shared<Impl>(executor, std::move(options))) {
  impl_->start();
}

RedisStore::~RedisStore() {
  impl_->closed = true;
  impl_->beat_timer.cancel();
  impl_->commands->stop();
  impl_->subscriber->stop();
}

void RedisStore::check_url(std::string_view url) { redis::parse_url(url); }

void RedisStore::set_health_log(HealthLog log) { impl_->health = std::move(log); }
bool RedisStore::up() const noexcept { return impl_->commands->up(); }
const std::string& RedisStore::node_id() const noexcept { return impl_->node; }

void RedisStore::close(std::chrono::milliseconds limit, std::function<void()> done) {
  auto finish = std::make_shared<std::function<void()>>(std::move(done));
  auto timer = std::make_shared<boost::asio::steady_timer>(impl_->executor, limit);
  auto once = [impl = impl_, finish, timer] {
    timer->cancel();
    impl->closed = true;
    impl->beat_timer.cancel();
    impl->commands->stop();
    impl->subscriber->stop();
    if (auto f = std::exchange(*finish, nullptr)) f();
  };
  timer->async_wait([once](boost::system::error_code ec) {
    if (!ec) once();
  });
  if (!impl_->commands->up()) return boost::asio::post(impl_->executor, once);
  impl_->sweep(impl_->node, once);
}

void RedisStore::set_events(SharedEvents* events) { impl_->events = events; }

void RedisStore::create_room(const RoomRecord& room, Store::Completion done) {
  const auto idle_ms = std::to_string(impl_->options.room_idle.count());
  impl_->eval(ScriptId::create, {impl_->room_prefix(room.room_id)},
              {std::to_string(room.created_at), std::to_string(room.expires_at), idle_ms},
              [impl = impl_.get(), done = std::move(done)](std::error_code ec, Reply r) {
                done(impl->failure(ec, r));
              });
}

void RedisStore::join(const JoinAttempt& a, Done<JoinResult> done) {
  Impl& s = *impl_;
  s.eval(ScriptId::join, {s.room_prefix(a.room_id), s.nodes_key(), s.node_hash()},
         {s.connection_name(a.client), to_hex(a.pub_key), a.user_id, a.user_name,
          a.refusal ? std::string(to_string(*a.refusal)) : std::string(),
          a.signature_valid ? "1" : "0", std::to_string(a.max_members), s.node},
         [impl = impl_.get(), done = std::move(done)](std::error_code ec, Reply r) {
           if (auto f = impl->failure(ec, r)) return done(f, JoinResult{});
           if (r.kind == Reply::Kind::array && !r.elements.empty() &&
               r.elements[0].str == "evicted") {
             impl->beat(); // learns it was removed, and tells the service
             return done(make_error(store_errc::unreachable), JoinResult{});
           }
           std::error_code malformed;
           JoinResult result = join_result(r, malformed);
           done(malformed, result);
         });
}

void RedisStore::leave(std::string_view room_id, ClientId client) {
  impl_->send_leave(impl_->room_prefix(room_id), impl_->connection_name(client));
}

void RedisStore::append(ClientId client, const ChatMessage& m, std::uint32_t keep,
                        Done<AppendResult> done) {
  Impl& s = *impl_;
  Impl::Unconfirmed lookup{
      s.room_prefix(m.room_id), to_hex(m.pub_key), std::to_string(m.client_seq),
      std::to_string(keep),     nullptr,           {}};
  // Built before the completion takes `lookup` over.
  std::vector<std::string> keys{lookup.prefix};
  std::vector<std::string> args{s.connection_name(client), lookup.key, lookup.client_seq,
                                lookup.keep, encode_payload(m)};
  s.eval(ScriptId::append, std::move(keys), std::move(args),
         [impl = impl_.get(), lookup = std::move(lookup),
          done = std::move(done)](std::error_code ec, Reply r) mutable {
           // Sent, but the connection went before the reply came: Redis may have run it.
           if (ec == std::errc::connection_reset) {
             lookup.done = std::move(done);
             lookup.deadline = std::chrono::steady_clock::now() + confirm_limit;
             return impl->confirm(std::move(lookup));
           }
           if (auto f = impl->failure(ec, r)) return done(f, AppendResult{});
           std::error_code malformed;
           AppendResult result = append_result(r, malformed);
           done(malformed, result);
         });
}

void RedisStore::watch(std::string_view room_id, Store::Completion done) {
  impl_->subscriber->subscribe(impl_->channel(room_id),
                               [weak = impl_->weak_from_this(), done = std::move(done)] {
                                 auto self = weak.lock();
                                 if (self && !self->closed) done({});
                               });
}

void RedisStore::unwatch(std::string_view room_id) {
  impl_->subscriber->unsubscribe(impl_->channel(room_id));
}

void RedisStore::read_room(std::string_view room_id, Done<std::optional<RoomView>> done) {
  impl_->eval(ScriptId::read, {impl_->room_prefix(room_id)}, {},
              [impl = impl_.get(), id = std::string(room_id),
               done = std::move(done)](std::error_code ec, Reply r) {
                if (auto f = impl->failure(ec, r)) return done(f, std::nullopt);
                std::error_code malformed;
                auto view = room_view(id, r, malformed);
                done(malformed, std::move(view));
              });
}

void RedisStore::read_messages(std::string_view room_id, std::uint64_t after_seq,
                               Done<std::vector<ChatMessage>> done) {
  impl_->command(
      {"XRANGE", impl_->room_prefix(room_id) + ":m", "(" + std::to_string(after_seq) + "-1", "+"},
      [impl = impl_.get(), id = std::string(room_id), done = std::move(done)](std::error_code ec,
                                                                              Reply r) {
        if (auto f = impl->failure(ec, r)) return done(f, {});
        auto messages = decode_entries(id, r);
        if (!messages) return done(make_error(store_errc::malformed), {});
        done({}, std::move(*messages));
      });
}

void RedisStore::room_exists(std::string_view room_id, Done<bool> done) {
  impl_->command({"HGET", impl_->room_prefix(room_id) + ":r", "expires_at"},
                 [impl = impl_.get(), done = std::move(done)](std::error_code ec, Reply r) {
                   if (auto f = impl->failure(ec, r)) return done(f, false);
                   const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count();
                   auto expires = to_uint(r);
                   done({}, expires && static_cast<TimestampMs>(*expires) > now);
                 });
}

} // namespace tinychat
