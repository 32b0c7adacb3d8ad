#include "line_reader.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace tinychat::cli {

std::optional<LineReader::Line> LineReader::next() {
  for (;;) {
    const auto newline = buffer_.find('\n');
    if (skipping_) {
      if (newline != std::string::npos) {
        buffer_.erase(0, newline + 1);
        skipping_ = false;
        return Line{{}, true};
      }
      buffer_.clear();
    } else if (newline != std::string::npos || (end_ && !buffer_.empty())) {
      Line line{buffer_.substr(0, newline), false};
      buffer_.erase(0, newline == std::string::npos ? buffer_.size() : newline + 1);
      if (line.text.ends_with('\r')) line.text.pop_back();
      if (line.text.size() > max_bytes_) return Line{{}, true};
      return line;
    } else if (buffer_.size() > max_bytes_) {
      buffer_.clear();
      skipping_ = true;
      continue;
    }
    if (end_) {
      if (skipping_) {
        skipping_ = false;
        return Line{{}, true};
      }
      return std::nullopt;
    }
    if (!read_more() && !end_) return std::nullopt; // woken
  }
}

bool LineReader::read_more() {
  for (;;) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "poll");
    }
    if (fds[1].revents != 0) return false;
    if ((fds[0].revents & POLLNVAL) != 0) { // stdin is closed: nothing to read
      end_ = true;
      return false;
    }
    if (fds[0].revents == 0) continue;
    char chunk[4096];
    const ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) throw std::system_error(errno, std::generic_category(), "reading stdin");
    if (n == 0) {
      end_ = true;
      return false;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }
}

} // namespace tinychat::cli
