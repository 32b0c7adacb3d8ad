#pragma once
// Reads stdin line by line while staying interruptible: a blocked read returns as soon as
// another file descriptor (RunState::wake_fd) becomes readable.

#include <cstddef>
#include <optional>
#include <string>

namespace tinychat::cli {

class LineReader {
public:
  struct Line {
    std::string text;      ///< Without its '\n' (nor a '\r' before it).
    bool too_long = false; ///< Longer than max_bytes; `text` is then empty.
  };

  /// Reads `fd`; gives up once `wake_fd` is readable. Lines longer than `max_bytes` are
  /// skipped to their end and reported as too_long, so no input can grow memory unbounded.
  LineReader(int fd, int wake_fd, std::size_t max_bytes)
      : fd_(fd), wake_fd_(wake_fd), max_bytes_(max_bytes) {}

  /// The next line; nullopt at the end of input (a last line without '\n' still counts) or
  /// once woken. Throws std::system_error when reading fails.
  std::optional<Line> next();

private:
  // Reads more into buffer_; false at end of input or when woken.
  bool read_more();

  int fd_;
  int wake_fd_;
  std::size_t max_bytes_;
  std::string buffer_;
  bool skipping_ = false; ///< Inside a too-long line, dropping input up to its '\n'.
  bool end_ = false;
};

} // namespace tinychat::cli
