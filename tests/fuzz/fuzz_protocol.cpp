// Arbitrary bytes through the Protocol codec, both directions. A client frame either decodes
// into a request whose encoding decodes back to the same request, or into an `error` frame
// that is a valid server frame with a known code; a server frame the client decoder accepts
// survives encoding the same way.

#include "fuzz_check.hpp"

#include <tinychat/encoding.hpp>
#include <tinychat/protocol.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using namespace tinychat;
using fuzz::check;

namespace {

void check_client_frame(std::string_view text) {
  DecodedRequest decoded = Protocol::decode_request(text);
  if (!decoded.ok()) {
    const ErrorFrame& e = decoded.error();
    // Content rules (name, text, signature) rank later and are not the decoder's to answer.
    check(e.code == error::bad_request || e.code == error::unknown_type,
          "the decoder answered with a code that is not a decoding error", to_string(e.code));
    std::string wire = Protocol::encode(ServerFrame{e});
    auto frame = fuzz::check_server_frame(wire);
    auto* code = frame.if_contains("code");
    check(code && code->is_string() && error_from_string(code->get_string()) == e.code,
          "an error frame does not carry its code", wire);
    auto back = Protocol::decode_server_frame(wire);
    check(back && std::holds_alternative<ErrorFrame>(*back), "the client cannot read an error",
          wire);
    check(std::get<ErrorFrame>(*back).code == e.code, "an error's code changed on the way", wire);
    return;
  }
  // Encoding is canonical: once through the codec, a request no longer changes.
  std::string once = Protocol::encode(decoded.request());
  DecodedRequest again = Protocol::decode_request(once);
  check(again.ok(), "an encoded request does not decode", once);
  std::string twice = Protocol::encode(again.request());
  check(once == twice, "a request changed when decoded again", once + "\n" + twice);
}

void check_server_side(std::string_view text) {
  auto frame = Protocol::decode_server_frame(text);
  if (!frame) return;
  std::string once = Protocol::encode(*frame);
  fuzz::check_server_frame(once);
  auto again = Protocol::decode_server_frame(once);
  check(again.has_value(), "an encoded server frame does not decode", once);
  check(Protocol::encode(*again) == once, "a server frame changed when decoded again", once);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  check_client_frame(text);
  check_server_side(text);
  // The content rules take decoded JSON strings, which are valid UTF-8.
  if (is_valid_utf8(text)) {
    Limits limits;
    auto name = Protocol::normalize_name(text, limits);
    if (auto* trimmed = std::get_if<std::string>(&name))
      check(Protocol::normalize_name(*trimmed, limits) == name, "trimming is not idempotent",
            *trimmed);
    (void)Protocol::validate_text(text, limits);
  }
  return 0;
}
