#include "frame_scan.hpp"

#include <charconv>
#include <cstring>

namespace tinychat::bench {

namespace {

class Scanner {
public:
  explicit Scanner(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  void skip_space() noexcept {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t'))
      ++p_;
  }

  bool eat(char c) noexcept {
    skip_space();
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }

  bool at_end() noexcept {
    skip_space();
    return p_ == end_;
  }

  char peek() noexcept {
    skip_space();
    return p_ == end_ ? '\0' : *p_;
  }

  // After the opening quote: the raw contents up to the closing quote. memchr finds the
  // candidate quote; an odd run of backslashes before it means it is escaped.
  bool string_body(std::string_view& out) noexcept {
    const char* start = p_;
    for (;;) {
      const auto* q =
          static_cast<const char*>(std::memchr(p_, '"', static_cast<std::size_t>(end_ - p_)));
      if (!q) return false;
      const char* b = q;
      while (b != start && b[-1] == '\\')
        --b;
      p_ = q + 1;
      if ((q - b) % 2 == 0) {
        out = std::string_view(start, static_cast<std::size_t>(q - start));
        return true;
      }
    }
  }

  // A number, true, false or null: everything up to the next delimiter.
  std::string_view scalar() noexcept {
    const char* start = p_;
    while (p_ != end_ && *p_ != ',' && *p_ != '}' && *p_ != ']' && *p_ != ' ' && *p_ != '\n' &&
           *p_ != '\r' && *p_ != '\t')
      ++p_;
    return std::string_view(start, static_cast<std::size_t>(p_ - start));
  }

  // An object or array, after its opening bracket: skipped to the matching close.
  bool skip_nested() noexcept {
    int depth = 1;
    while (p_ != end_) {
      const char c = *p_++;
      if (c == '"') {
        std::string_view ignored;
        if (!string_body(ignored)) return false;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if ((c == '}' || c == ']') && --depth == 0) {
        return true;
      }
    }
    return false;
  }

private:
  const char* p_;
  const char* end_;
};

bool to_u64(std::string_view s, std::uint64_t& out) noexcept {
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && ptr == s.data() + s.size();
}

void store_string(std::string_view key, std::string_view value, FrameFields& out) noexcept {
  if (key == "type")
    out.type = value;
  else if (key == "room_id")
    out.room_id = value;
  else if (key == "user_id")
    out.user_id = value;
  else if (key == "code")
    out.code = value;
  else if (key == "challenge")
    out.challenge = value;
}

void store_number(std::string_view key, std::string_view value, FrameFields& out) noexcept {
  if (key == "seq")
    out.has_seq = to_u64(value, out.seq);
  else if (key == "client_seq")
    out.has_client_seq = to_u64(value, out.client_seq);
  else if (key == "last_seq")
    to_u64(value, out.last_seq);
  else if (key == "id")
    out.has_id = to_u64(value, out.id);
}

} // namespace

bool scan_frame(std::string_view json, FrameFields& out) noexcept {
  out = FrameFields{};
  Scanner s(json);
  if (!s.eat('{')) return false;
  if (s.eat('}')) return s.at_end();
  for (;;) {
    std::string_view key;
    if (!s.eat('"') || !s.string_body(key) || !s.eat(':')) return false;
    const char c = s.peek();
    if (c == '"') {
      s.eat('"');
      std::string_view value;
      if (!s.string_body(value)) return false;
      store_string(key, value, out);
    } else if (c == '{' || c == '[') {
      s.eat(c);
      if (!s.skip_nested()) return false;
    } else {
      const std::string_view value = s.scalar();
      if (value.empty()) return false;
      store_number(key, value, out);
    }
    if (s.eat(',')) continue;
    if (s.eat('}')) return s.at_end();
    return false;
  }
}

} // namespace tinychat::bench
