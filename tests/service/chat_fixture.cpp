#include "chat_fixture.hpp"

#include <cstdlib>
#include <set>
#include <stdexcept>

#include <stdlib.h> // mkdtemp

namespace tinychat::test {
namespace {

json::object parse_object(std::string_view text) {
  auto v = json::parse(text);
  REQUIRE(v.is_object());
  return v.get_object();
}

bool is_reply(const json::object& frame) {
  static const std::set<std::string, std::less<>> replies{
      "room_created", "joined", "left", "sent", "history", "pong", "error", "authenticated"};
  return replies.contains(type_of(frame));
}

} // namespace

std::string code_of(const json::object& frame) {
  if (type_of(frame) != "error") return "";
  return std::string(frame.at("code").as_string());
}

std::string type_of(const json::object& frame) {
  auto* t = frame.if_contains("type");
  return t && t->is_string() ? std::string(t->get_string()) : std::string();
}

std::string str_of(const json::object& frame, std::string_view key) {
  auto* v = frame.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::int64_t num_of(const json::object& frame, std::string_view key) {
  auto* v = frame.if_contains(key);
  REQUIRE_MESSAGE((v && (v->is_int64() || v->is_uint64())), key << " is not an integer");
  return v->to_number<std::int64_t>();
}

Peer::Peer(InProcessTransport& transport, KeyPair key, std::function<void()> settle,
           std::string quota_key)
    : conn_(transport.connect(std::move(quota_key))), settle_(std::move(settle)),
      key_(std::move(key)) {
  auto first = conn_->take();
  REQUIRE(first);
  hello_ = parse_object(*first);
  REQUIRE(type_of(hello_) == "hello");
  REQUIRE(from_hex(hello_.at("challenge").as_string(), challenge_));
}

json::object Peer::call(json::object request) {
  if (!request.contains("id")) request["id"] = next_id_++;
  return call_raw(json::serialize(request));
}

json::object Peer::call_raw(std::string_view text) {
  conn_->send(text);
  if (settle_) settle_();
  auto& inbox = conn_->inbox();
  for (auto it = inbox.begin(); it != inbox.end(); ++it) {
    auto frame = parse_object(*it);
    if (is_reply(frame)) {
      inbox.erase(it);
      if (type_of(frame) == "joined")
        user_ids_[std::string(frame.at("room_id").as_string())] =
            std::string(frame.at("user_id").as_string());
      return frame;
    }
  }
  FAIL("no reply to " << text);
  return {};
}

std::string Peer::create_room() {
  auto reply = call({{"type", "create_room"}});
  REQUIRE(type_of(reply) == "room_created");
  return std::string(reply.at("room_id").as_string());
}

std::string Peer::join_sig(std::string_view room_id, std::string_view name) const {
  return to_hex(key_.sign(join_payload(challenge_, room_id, name, key_.public_key())));
}

std::string Peer::message_sig(std::string_view room_id, std::string_view user_id,
                              std::uint64_t client_seq, std::string_view text) const {
  return to_hex(key_.sign(message_payload(room_id, user_id, client_seq, text)));
}

json::object Peer::join(std::string_view room_id, std::string_view name) {
  auto reply = call({{"type", "join"},
                     {"room_id", room_id},
                     {"user_name", name},
                     {"pub_key", pub_key_hex()},
                     {"sig", join_sig(room_id, name)}});
  if (type_of(reply) == "joined")
    client_seqs_[std::string(room_id)] = reply.at("last_client_seq").to_number<std::uint64_t>();
  return reply;
}

std::string Peer::user_id(std::string_view room_id) const {
  auto it = user_ids_.find(room_id);
  REQUIRE(it != user_ids_.end());
  return it->second;
}

json::object Peer::send(std::string_view room_id, std::string_view text) {
  auto& seq = client_seqs_[std::string(room_id)];
  return send_with_seq(room_id, ++seq, text);
}

json::object Peer::send_with_seq(std::string_view room_id, std::uint64_t client_seq,
                                 std::string_view text) {
  auto uid = user_ids_.contains(room_id) ? user_id(room_id) : std::string("nobody");
  return call({{"type", "send"},
               {"room_id", room_id},
               {"client_seq", client_seq},
               {"text", text},
               {"sig", message_sig(room_id, uid, client_seq, text)}});
}

json::object Peer::history(std::string_view room_id, std::uint64_t after_seq, std::uint32_t limit) {
  return call(
      {{"type", "history"}, {"room_id", room_id}, {"after_seq", after_seq}, {"limit", limit}});
}

json::object Peer::event(std::string_view type) {
  auto& inbox = conn_->inbox();
  for (auto it = inbox.begin(); it != inbox.end(); ++it) {
    auto frame = parse_object(*it);
    if (type_of(frame) == type) {
      inbox.erase(it);
      return frame;
    }
  }
  FAIL("no " << type << " event queued");
  return {};
}

std::vector<json::object> Peer::events(std::string_view type) {
  std::vector<json::object> out;
  auto& inbox = conn_->inbox();
  for (auto it = inbox.begin(); it != inbox.end();) {
    auto frame = parse_object(*it);
    if (type_of(frame) == type) {
      out.push_back(std::move(frame));
      it = inbox.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

void Peer::close() {
  conn_->close();
  if (settle_) settle_();
}

bool Peer::has_event(std::string_view type) const {
  for (const auto& text : conn_->inbox())
    if (type_of(parse_object(text)) == type) return true;
  return false;
}

StoreKind store_kind_from_env() {
  const char* v = std::getenv("TINYCHAT_TEST_STORE");
  return v && std::string_view(v) == "sqlite" ? StoreKind::sqlite : StoreKind::memory;
}

ChatFixture::ChatFixture(ServiceConfig config, StoreKind k) : kind(k), config_(config) {
  if (kind == StoreKind::sqlite) {
    std::string templ = (std::filesystem::temp_directory_path() / "tinychat-test-XXXXXX").string();
    if (!mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
    dir = templ;
  }
  restart();
}

ChatFixture::~ChatFixture() {
  peers.clear();
  transport.reset();
  sqlite.reset();
  posted.clear(); // completions for a service that is gone
  if (!dir.empty()) std::filesystem::remove_all(dir);
}

Peer& ChatFixture::connect(std::optional<KeyPair> key) {
  peers.push_back(
      std::make_unique<Peer>(*transport, key ? *key : KeyPair::generate(), [this] { settle(); }));
  return *peers.back();
}

Store& ChatFixture::active_store() {
  if (sqlite) return *sqlite;
  return store;
}

void ChatFixture::settle() {
  if (!sqlite) return;
  for (;;) { // a completion may issue further writes
    sqlite->wait_idle();
    std::vector<std::function<void()>> work;
    {
      std::lock_guard lock(posted_mutex);
      work.swap(posted);
    }
    if (work.empty()) return;
    for (auto& w : work)
      transport->run(w);
  }
}

void ChatFixture::fail_writes(bool fail) {
  if (sqlite)
    sqlite->fail_writes(fail);
  else
    store.fail_writes(fail);
}

void ChatFixture::restart() {
  peers.clear();
  if (sqlite) settle();
  transport.reset();
  if (kind == StoreKind::sqlite) {
    sqlite.reset();
    posted.clear();
    sqlite = std::make_unique<SqliteStore>(dir / "chat.db", Durability::process,
                                           [this](std::function<void()> f) {
                                             std::lock_guard lock(posted_mutex);
                                             posted.push_back(std::move(f));
                                           });
  }
  transport = std::make_unique<InProcessTransport>(active_store(), clock, config_);
}

ServiceConfig roomy() {
  ServiceConfig config;
  config.rate_limit = {1'000'000, 1'000'000};
  return config;
}

AliceAndBob::AliceAndBob(ServiceConfig config)
    : chat(config), alice(chat.connect()), bob(chat.connect()), room(alice.create_room()) {
  REQUIRE(type_of(alice.join(room, "alice")) == "joined");
  REQUIRE(type_of(bob.join(room, "bob")) == "joined");
  alice.events("member_joined");
}

} // namespace tinychat::test
