// Token authentication for room creation (PROTOCOL.md 9), through the in-process transport:
// users with and without tokens, good ones and every kind of bad one, and room quotas per user.

#include "chat_fixture.hpp"
#include "support/test_tokens.hpp"

#include <tinychat/client.hpp>
#include <tinychat/token_verifier.hpp>

#include <set>
#include <string>
#include <vector>

using namespace tinychat::test;
using tinychat::TokenVerifier;

namespace {

const std::string secret = "a-test-secret-of-more-than-32-bytes-for-hs256";

// The fixture's manual clock starts here.
constexpr std::int64_t start_s = 1'700'000'000;

std::shared_ptr<const TokenVerifier> hs256_verifier(std::string_view s = secret) {
  return std::make_shared<const TokenVerifier>(
      TokenVerifier::hs256(std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size())));
}

std::shared_ptr<const TokenVerifier> eddsa_verifier(const TokenKey& key) {
  tinychat::PublicKey pk{};
  std::copy(key.pk.begin(), key.pk.end(), pk.begin());
  return std::make_shared<const TokenVerifier>(TokenVerifier::eddsa(pk));
}

tinychat::ServiceConfig with_tokens(std::shared_ptr<const TokenVerifier> verifier) {
  tinychat::ServiceConfig config;
  config.rate_limit = {1'000'000, 1'000'000};
  config.token_verifier = std::move(verifier);
  return config;
}

json::object auth(Peer& peer, std::string_view token) {
  return peer.call({{"type", "auth"}, {"token", token}});
}

json::object create(Peer& peer) { return peer.call({{"type", "create_room"}}); }

// An `unauthorized` reply of the exact error shape, whose message quotes no part of `token`.
void check_unauthorized(const json::object& reply, std::string_view token = {}) {
  INFO("reply: " << json::serialize(reply));
  CHECK(code_of(reply) == "unauthorized");
  std::set<std::string> keys;
  for (const auto& kv : reply)
    keys.insert(std::string(kv.key()));
  CHECK(keys == std::set<std::string>{"type", "id", "code", "message"});
  const std::string message = str_of(reply, "message");
  CHECK_FALSE(message.empty());
  std::size_t start = 0;
  while (!token.empty() && start < token.size()) {
    auto dot = token.find('.', start);
    auto part = token.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (part.size() >= 8) CHECK(message.find(part.substr(0, 8)) == std::string::npos);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
}

// The fixture's peers all authenticated with a valid token answer `authenticated`.
void authenticate(Peer& peer, std::string_view sub, std::int64_t lifetime_s = 3600) {
  auto reply = auth(peer, hs256_token(claims_json(sub, start_s + lifetime_s), secret));
  REQUIRE(type_of(reply) == "authenticated");
}

// Flips the lowest bit of byte `index` of a token's decoded claims, keeping its signature.
std::string flip_claims_bit(std::string_view claims, std::size_t index, std::string_view token) {
  std::string flipped(claims);
  flipped[index] = static_cast<char>(flipped[index] ^ 1);
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  return std::string(token.substr(0, first + 1)) + base64url(flipped) +
         std::string(token.substr(second));
}

// The oldest frame `peer` received that no fixture call took.
json::object parse_reply(Peer& peer) {
  auto text = peer.connection().take();
  REQUIRE(text);
  return json::parse(*text).as_object();
}

} // namespace

TEST_CASE("auth: hello announces auth_required, true only with a token key") {
  ChatFixture off;
  CHECK(off.connect().hello().at("limits").at("auth_required") == false);
  ChatFixture on(with_tokens(hs256_verifier()));
  CHECK(on.connect().hello().at("limits").at("auth_required") == true);
}

TEST_CASE("auth: an HS256 token is accepted; authenticated carries sub and exp in ms") {
  ChatFixture chat(with_tokens(hs256_verifier()));
  auto& alice = chat.connect();
  const auto token = hs256_token(claims_json("alice@example.org", start_s + 600), secret);
  auto reply = alice.call({{"type", "auth"}, {"id", "a1"}, {"token", token}});
  CHECK(reply == json::object{{"type", "authenticated"},
                              {"id", "a1"},
                              {"sub", "alice@example.org"},
                              {"expires_at", (start_s + 600) * 1000}});
  CHECK(type_of(create(alice)) == "room_created");
}

TEST_CASE("auth: an EdDSA token is accepted") {
  const auto key = TokenKey::generate();
  ChatFixture chat(with_tokens(eddsa_verifier(key)));
  auto& bob = chat.connect();
  auto reply = auth(bob, eddsa_token(claims_json("bob", start_s + 60, start_s - 60), key));
  CHECK(type_of(reply) == "authenticated");
  CHECK(str_of(reply, "sub") == "bob");
  CHECK(num_of(reply, "expires_at") == (start_s + 60) * 1000);
  CHECK(type_of(create(bob)) == "room_created");
}

TEST_CASE("unauthorized: create_room without auth; join and send never need it") {
  ChatFixture chat(with_tokens(hs256_verifier()));
  auto& guest = chat.connect();
  check_unauthorized(create(guest));
  auto& alice = chat.connect();
  authenticate(alice, "alice");
  const auto room = alice.create_room();
  CHECK(type_of(guest.join(room, "guest")) == "joined");
  CHECK(type_of(guest.send(room, "hello without a token")) == "sent");
  CHECK(type_of(guest.history(room)) == "history");
  CHECK(chat.transport->service().room_count() == 1);
}

TEST_CASE("unauthorized: an expired token, also one that expires this very millisecond") {
  ChatFixture chat(with_tokens(hs256_verifier()));
  auto& alice = chat.connect();
  for (std::int64_t exp : {start_s - 3600, start_s}) {
    const auto token = hs256_token(claims_json("alice", exp), secret);
    check_unauthorized(auth(alice, token), token);
  }
  check_unauthorized(create(alice));
}

TEST_CASE("unauthorized: a token whose nbf is in the future, until that time comes") {
  ChatFixture chat(with_tokens(hs256_verifier()));
  auto& alice = chat.connect();
  const auto token = hs256_token(claims_json("alice", start_s + 3600, start_s + 10), secret);
  check_unauthorized(auth(alice, token), token);
  check_unauthorized(create(alice));
  chat.clock.advance_seconds(10);
  CHECK(type_of(auth(alice, token)) == "authenticated");
}

TEST_CASE("unauthorized: after the token's exp create_room is refused again; a new auth helps") {
  ChatFixture chat(with_tokens(hs256_verifier()));
  auto& alice = chat.connect();
  authenticate(alice, "alice", 60);
  CHECK(type_of(create(alice)) == "room_created");
  chat.clock.advance_ms(59'999);
  CHECK(type_of(create(alice)) == "room_created");
  chat.clock.advance_ms(1);
  check_unauthorized(create(alice));
  authenticate(alice, "alice", 3600);
  CHECK(type_of(create(alice)) == "room_created");
}

TEST_CASE("unauthorized: a bad signature, a flipped bit in the claims or in the signature") {
  ChatFixture chat(with_tokens(hs256_verifier()));
  auto& mallory = chat.connect();
  const auto claims = claims_json("alice", start_s + 3600);
  const auto good = hs256_token(claims, secret);
  std::vector<std::string> bad = {
      hs256_token(claims, secret + "x"),                     // another secret
      flip_claims_bit(claims, claims.find("alice"), good),   // "alice" -> "`lice"
      flip_claims_bit(claims, claims.find("exp") + 7, good), // another exp
  };
  std::string sig_flipped = good;
  sig_flipped[sig_flipped.size() - 5] = sig_flipped[sig_flipped.size() - 5] == 'A' ? 'B' : 'A';
  bad.push_back(sig_flipped);
  for (const auto& token : bad) {
    INFO("token: " << token);
    check_unauthorized(auth(mallory, token), token);
  }
  check_unauthorized(create(mallory));
  CHECK(type_of(auth(mallory, good)) == "authenticated");
}

TEST_CASE("unauthorized: alg none, and any alg but the configured one") {
  const auto key = TokenKey::generate();
  const auto claims = claims_json("mallory", start_s + 3600);
  const auto unsigned_token = base64url(R"({"alg":"none"})") + "." + base64url(claims) + ".";
  SUBCASE("on an HS256 server") {
    ChatFixture chat(with_tokens(hs256_verifier()));
    auto& mallory = chat.connect();
    for (const auto& token : {
             unsigned_token, hs256_token(R"({"alg":"none"})", claims, secret),
             hs256_token(R"({"alg":"hs256"})", claims, secret),
             hs256_token(R"({"alg":"HS512"})", claims, secret),
             hs256_token(R"({"typ":"JWT"})", claims, secret),
             hs256_token(R"({"alg":["HS256"]})", claims, secret),
             eddsa_token(claims, key), // an EdDSA token on an HS256 server
         }) {
      INFO("token: " << token);
      check_unauthorized(auth(mallory, token), token);
    }
    check_unauthorized(create(mallory));
  }
  SUBCASE("on an EdDSA server") {
    ChatFixture chat(with_tokens(eddsa_verifier(key)));
    auto& mallory = chat.connect();
    for (const auto& token : {
             unsigned_token,
             eddsa_token(R"({"alg":"none"})", claims, key),
             eddsa_token(R"({"alg":"Ed25519"})", claims, key),
             hs256_token(claims, secret), // an HS256 token on an EdDSA server
             // Key confusion: HMAC keyed with the server's public key, which anyone knows.
             hs256_token(claims, key.public_bytes()),
             hs256_token(claims, key.public_hex()),
             hs256_token(R"({"alg":"EdDSA"})", claims, key.public_bytes()),
         }) {
      INFO("token: " << token);
      check_unauthorized(auth(mallory, token), token);
    }
    check_unauthorized(create(mallory));
  }
}

TEST_CASE("unauthorized: tokens that are not compact JWTs") {
  ChatFixture chat(with_tokens(hs256_verifier()));
  auto& mallory = chat.connect();
  const auto claims = claims_json("mallory", start_s + 3600);
  const auto good = hs256_token(claims, secret);
  const auto sig = good.substr(good.rfind('.') + 1);
  const std::vector<std::string> bad = {
      "",
      "not a token",
      good.substr(0, good.rfind('.')),                                 // two segments
      good + ".",                                                      // four segments
      good + "." + sig,                                                // four segments
      hs256_token("not json", secret),                                 // claims not JSON, signed
      hs256_token("[1,2]", secret),                                    // claims not an object
      hs256_token(R"("HS256")", claims, secret),                       // header not an object
      hs256_token(R"({"alg":"HS256","alg":"HS256"})", claims, secret), // a key twice
      hs256_token(claims.substr(0, claims.size() - 1) + R"(,"sub":"alice"})", secret),
      hs256_token(R"({"alg":"HS256","crit":["exp"]})", claims, secret),
  };
  for (const auto& token : bad) {
    INFO("token: " << token);
    const auto reply = auth(mallory, token);
    check_unauthorized(reply, token);
    CHECK(str_of(reply, "message").find("not a compact JWT") != std::string::npos);
  }
  const auto too_long = hs256_token(R"({"sub":"mallory","exp":)" + std::to_string(start_s + 3600) +
                                        R"(,"pad":")" + std::string(4096, 'x') + R"("})",
                                    secret);
  check_unauthorized(auth(mallory, too_long), too_long);
  CHECK(type_of(auth(mallory, good)) == "authenticated");
}

TEST_CASE("unauthorized: base64url only in its one spelling, even when the signature fits") {
  ChatFixture chat(with_tokens(hs256_verifier()));
  auto& mallory = chat.connect();
  const auto header = base64url(R"({"alg":"HS256"})");
  // Claims whose base64url has a '-' or '_' and a last character with unused bits.
  std::string claims;
  std::string segment;
  for (std::string pad; pad.size() < 12; pad += "~") {
    claims = R"({"sub":"m)" + pad + R"(~~~","exp":)" + std::to_string(start_s + 3600) + "}";
    segment = base64url(claims);
    if (segment.find_first_of("-_") != std::string::npos && segment.size() % 4 != 0) break;
  }
  REQUIRE(segment.find_first_of("-_") != std::string::npos);
  REQUIRE(segment.size() % 4 != 0);
  // Spelled canonically, the token is good.
  REQUIRE(type_of(auth(mallory, hs256_signed_segments(header, segment, secret))) ==
          "authenticated");

  std::string standard = segment; // the base64 alphabet instead of base64url
  for (auto& c : standard)
    c = c == '-' ? '+' : c == '_' ? '/' : c;
  std::string padded = segment + std::string(4 - segment.size() % 4, '=');
  std::string loose = segment; // one unused bit of the last character set
  static const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  loose.back() = alphabet[alphabet.find(loose.back()) | 1];
  REQUIRE(loose != segment);
  for (const auto& spelling : {standard, padded, loose, segment + " ", " " + segment}) {
    const auto token = hs256_signed_segments(header, spelling, secret);
    INFO("token: " << token);
    const auto reply = auth(mallory, token);
    check_unauthorized(reply, token);
    CHECK(str_of(reply, "message").find("not a compact JWT") != std::string::npos);
  }
  const auto good = hs256_signed_segments(header, segment, secret);
  check_unauthorized(auth(mallory, good + "="), good); // a padded signature
}

TEST_CASE("unauthorized: sub and exp are required and must have the right types") {
  ChatFixture chat(with_tokens(hs256_verifier()));
  auto& mallory = chat.connect();
  const auto exp = std::to_string(start_s + 3600);
  const std::vector<std::string> bad_claims = {
      R"({"exp":)" + exp + "}",                                          // no sub
      R"({"sub":"mallory"})",                                            // no exp
      R"({"sub":"","exp":)" + exp + "}",                                 // empty sub
      R"({"sub":42,"exp":)" + exp + "}",                                 // sub not a string
      R"({"sub":null,"exp":)" + exp + "}",                               // sub null
      R"({"sub":"a\u0001b","exp":)" + exp + "}",                         // a control character
      R"({"sub":")" + std::string(256, 's') + R"(","exp":)" + exp + "}", // too long
      R"({"sub":"mallory","exp":")" + exp + R"("})",                     // exp a string
      R"({"sub":"mallory","exp":)" + exp + ".5}",                        // exp a fraction
      R"({"sub":"mallory","exp":-1})",                                   // exp negative
      R"({"sub":"mallory","exp":1e300})",                                // exp out of range
      R"({"sub":"mallory","exp":)" + exp + R"(,"nbf":"0"})",             // nbf a string
  };
  for (const auto& claims : bad_claims) {
    INFO("claims: " << claims);
    const auto token = hs256_token(claims, secret);
    check_unauthorized(auth(mallory, token), token);
  }
  check_unauthorized(create(mallory));
  // The limits themselves are fine.
  const auto longest = std::string(255, 's');
  auto reply = auth(mallory, hs256_token(claims_json(longest, start_s + 3600), secret));
  CHECK(str_of(reply, "sub") == longest);
}

TEST_CASE("bad_request: auth without a token string") {
  ChatFixture chat(with_tokens(hs256_verifier()));
  auto& alice = chat.connect();
  CHECK(code_of(alice.call({{"type", "auth"}})) == "bad_request");
  CHECK(code_of(alice.call({{"type", "auth"}, {"token", 42}})) == "bad_request");
  CHECK(code_of(alice.call({{"type", "auth"}, {"token", nullptr}})) == "bad_request");
}

TEST_CASE("unauthorized: a bad auth changes nothing; a good one replaces the last") {
  tinychat::ServiceConfig config = with_tokens(hs256_verifier());
  config.room_quota = {1, 0};
  ChatFixture chat(config);
  auto& peer = chat.connect();
  authenticate(peer, "alice");
  const auto expired = hs256_token(claims_json("bob", start_s - 1), secret);
  check_unauthorized(auth(peer, expired), expired);
  CHECK(type_of(create(peer)) == "room_created"); // still alice, who now has her one room
  CHECK(code_of(create(peer)) == "room_quota_exceeded");
  authenticate(peer, "bob");
  CHECK(type_of(create(peer)) == "room_created"); // bob's quota, not alice's
}

TEST_CASE("room_quota_exceeded: with auth the quota counts per sub, across connections") {
  tinychat::ServiceConfig config = with_tokens(hs256_verifier());
  config.room_quota = {2, 0};
  ChatFixture chat(config);
  const auto settle = [&] { chat.settle(); };
  // Alice on two addresses, Bob on one of them.
  Peer alice_home(*chat.transport, tinychat::KeyPair::generate(), settle, "ip 10.0.0.1");
  Peer alice_phone(*chat.transport, tinychat::KeyPair::generate(), settle, "ip 10.0.0.2");
  Peer bob(*chat.transport, tinychat::KeyPair::generate(), settle, "ip 10.0.0.1");
  authenticate(alice_home, "alice");
  authenticate(alice_phone, "alice");
  authenticate(bob, "bob");
  CHECK(type_of(create(alice_home)) == "room_created");
  CHECK(type_of(create(alice_phone)) == "room_created");
  CHECK(code_of(create(alice_home)) == "room_quota_exceeded");
  CHECK(code_of(create(alice_phone)) == "room_quota_exceeded");
  // Bob shares Alice's address, not her quota.
  CHECK(type_of(create(bob)) == "room_created");
  CHECK(type_of(create(bob)) == "room_created");
  CHECK(code_of(create(bob)) == "room_quota_exceeded");
}

TEST_CASE("unauthorized: auth on a server without a token key; rooms need none there") {
  ChatFixture chat;
  auto& alice = chat.connect();
  const auto token = hs256_token(claims_json("alice", start_s + 3600), secret);
  auto reply = alice.call({{"type", "auth"}, {"id", 7}, {"token", token}});
  check_unauthorized(reply, token);
  CHECK(reply.at("id") == 7);
  CHECK(str_of(reply, "message").find("does not use tokens") != std::string::npos);
  CHECK(type_of(create(alice)) == "room_created");
}

TEST_CASE("client: authenticate sends auth and reports authenticated or unauthorized") {
  tinychat::MemoryStore store;
  tinychat::ManualClock clock(start_s * 1000);
  tinychat::InProcessTransport transport(store, clock, with_tokens(hs256_verifier()));
  struct App final : tinychat::ClientTransport {
    explicit App(tinychat::InProcessTransport& t)
        : connection(t.connect()), client(*this, tinychat::KeyPair::generate()) {
      connection->on_frame([this](std::string_view text) { client.handle_frame(text); });
    }
    void send_text(std::string text) override { connection->send(text); }
    std::unique_ptr<tinychat::InProcessConnection> connection;
    tinychat::Client client;
  } app(transport);
  REQUIRE(app.client.hello());
  CHECK(app.client.hello()->auth_required);

  std::optional<tinychat::ServerFrame> reply;
  const auto keep = [&](const tinychat::ServerFrame& f) { reply = f; };
  app.client.authenticate(hs256_token(claims_json("carol", start_s + 5), secret + "!"), keep);
  REQUIRE(std::holds_alternative<tinychat::ErrorFrame>(*reply));
  CHECK(std::get<tinychat::ErrorFrame>(*reply).code == tinychat::error::unauthorized);
  app.client.authenticate(hs256_token(claims_json("carol", start_s + 5), secret), keep);
  REQUIRE(std::holds_alternative<tinychat::Authenticated>(*reply));
  CHECK(std::get<tinychat::Authenticated>(*reply).sub == "carol");
  CHECK(std::get<tinychat::Authenticated>(*reply).expires_at == (start_s + 5) * 1000);
  app.client.create_room(keep);
  CHECK(std::holds_alternative<tinychat::RoomCreated>(*reply));
}

TEST_CASE("auth: the service checks a token itself when no Ingress of its own did") {
  ChatFixture chat(with_tokens(hs256_verifier()));
  auto& alice = chat.connect();
  auto& service = chat.transport->service();
  const auto id = alice.connection().id();
  const auto good = hs256_token(claims_json("alice", start_s + 60), secret);
  const auto forged = hs256_token(claims_json("mallory", start_s + 60), "not the secret");
  // A check made with another verifier, as a mistaken transport might pass it on.
  const auto lenient = hs256_verifier(std::string(40, 'z'));
  const auto request = [](std::string_view token) {
    return tinychat::Protocol::decode_request(
        json::serialize(json::object{{"type", "auth"}, {"id", 1}, {"token", token}}));
  };
  chat.transport->run([&] {
    service.receive(id,
                    tinychat::PreparedRequest{
                        request(forged), std::nullopt,
                        tinychat::TokenCheck{lenient.get(),
                                             tinychat::TokenClaims{"mallory", (start_s + 60) * 1000,
                                                                   std::nullopt}}});
  });
  check_unauthorized(parse_reply(alice), forged);
  chat.transport->run([&] {
    service.receive(id,
                    json::serialize(json::object{{"type", "auth"}, {"id", 2}, {"token", forged}}));
  });
  check_unauthorized(parse_reply(alice), forged);
  check_unauthorized(create(alice));
  chat.transport->run([&] {
    service.receive(id,
                    json::serialize(json::object{{"type", "auth"}, {"id", 3}, {"token", good}}));
  });
  CHECK(str_of(parse_reply(alice), "sub") == "alice");
  CHECK(type_of(create(alice)) == "room_created");
}
