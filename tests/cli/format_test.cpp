// How tinychat-cli prints one message (examples/cli/room_view.hpp).

#include "room_view.hpp"

#include <doctest/doctest.h>

namespace tinychat::cli {

namespace {

ChatMessage message(std::uint64_t seq, std::string name, std::string text) {
  ChatMessage m;
  m.seq = seq;
  m.user_name = std::move(name);
  m.text = std::move(text);
  return m;
}

} // namespace

TEST_CASE("cli format: a verified message is one '[seq] name: text' line") {
  CHECK(format_message(message(7, "ann", "hello there"), true) == "[7] ann: hello there\n");
}

TEST_CASE("cli format: a message that does not verify is marked UNVERIFIED") {
  CHECK(format_message(message(8, "mallory", "trust me"), false) ==
        "[8] mallory (UNVERIFIED): trust me\n");
}

TEST_CASE("cli format: the lines of a multi-line text continue indented by four spaces") {
  CHECK(format_message(message(9, "ann", "one\ntwo\n[10] fake: line"), true) ==
        "[9] ann: one\n    two\n    [10] fake: line\n");
}

TEST_CASE("cli format: control characters are escaped, tabs and other text kept") {
  CHECK(format_message(message(1, "ann", "a\tb \x1b[2Jc\x7f \xc2\x85 \xc3\xa9"), true) ==
        "[1] ann: a\tb \\x1b[2Jc\\x7f \\u0085 \xc3\xa9\n");
  CHECK(format_message(message(2, "a\nb", "x"), true) == "[2] a\\x0ab: x\n");
}

} // namespace tinychat::cli
