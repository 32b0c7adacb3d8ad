// What the fuzzers of tests/fuzz found, each replayed through the in-process transport as a
// client would meet it. The inputs themselves are in tests/fuzz/corpus/.

#include "chat_fixture.hpp"

#include <tinychat/encoding.hpp>

#include <string>

using namespace tinychat::test;

TEST_CASE("unknown_type: a long type cut at a multi-byte character still gets valid UTF-8") {
  ChatFixture chat;
  auto& alice = chat.connect();
  // The message quotes the type's first 64 bytes; byte 64 falls inside a character, for
  // each of the lengths 2, 3 and 4 (é, €, 😀), at every offset within it.
  for (std::string_view wide : {"\u00e9", "\u20ac", "\U0001F600"}) {
    for (std::size_t pad = 64 - wide.size() + 1; pad < 64; ++pad) {
      std::string type(pad, 'x');
      for (int i = 0; i < 4; ++i)
        type += wide;
      CAPTURE(type);
      alice.connection().send(json::serialize(json::object{{"type", type}, {"id", 1}}));
      auto frame = alice.connection().take();
      REQUIRE(frame);
      REQUIRE(tinychat::is_valid_utf8(*frame));
      auto reply = json::parse(*frame).as_object();
      CHECK(code_of(reply) == "unknown_type");
      CHECK(reply.at("id") == 1);
    }
  }
  // The connection goes on as before.
  CHECK(type_of(alice.call({{"type", "ping"}})) == "pong");
}
