#pragma once
// A thread-safe queue that a test waits on.

#include "timeouts.hpp"

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace tinychat::test {

/// Items pushed from any thread (typically a connection's I/O thread), waited for by the
/// test thread. Every wait fails (throws std::runtime_error) after event_timeout.
template <class T>
class Mailbox {
public:
  void push(T value) {
    {
      std::lock_guard lock(mutex_);
      items_.push_back(std::move(value));
    }
    cv_.notify_all();
  }
  /// Removes and returns the oldest item; throws when none arrives within event_timeout.
  T pop() {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, event_timeout, [&] { return !items_.empty(); }))
      throw std::runtime_error("timed out waiting for an event");
    T value = std::move(items_.front());
    items_.pop_front();
    return value;
  }
  /// Waits until `n` items are queued, then returns a copy of all; throws on timeout.
  std::vector<T> wait_for(std::size_t n) {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, event_timeout, [&] { return items_.size() >= n; }))
      throw std::runtime_error("timed out: " + std::to_string(items_.size()) + " of " +
                               std::to_string(n) + " events arrived");
    return {items_.begin(), items_.end()};
  }
  /// Waits until `n` queued items satisfy `match`, then returns copies of the first `n` of
  /// them, oldest first. Nothing is removed. Throws on timeout.
  template <class Predicate>
  std::vector<T> wait_for(std::size_t n, Predicate match) {
    std::unique_lock lock(mutex_);
    std::vector<T> found;
    const auto enough = [&] {
      found.clear();
      for (auto it = items_.begin(); it != items_.end() && found.size() < n; ++it)
        if (match(*it)) found.push_back(*it);
      return found.size() == n;
    };
    if (!cv_.wait_for(lock, event_timeout, enough))
      throw std::runtime_error("timed out: " + std::to_string(found.size()) + " of " +
                               std::to_string(n) + " matching events arrived");
    return found;
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return items_.size();
  }

private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<T> items_;
};

} // namespace tinychat::test
