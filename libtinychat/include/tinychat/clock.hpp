#pragma once
/// Injectable wall clock, so idle and TTL rules can be tested without waiting.

#include <tinychat/types.hpp>

namespace tinychat {

/// Source of the current Unix time in milliseconds. Must be safe to call from the thread that
/// drives the RoomService.
class Clock {
public:
  virtual ~Clock() = default;
  virtual TimestampMs now() const = 0;
};

/// The system's real-time clock.
class SystemClock final : public Clock {
public:
  TimestampMs now() const override;
};

/// A clock that moves only when told to. Not thread-safe; for tests and simulations.
class ManualClock final : public Clock {
public:
  explicit ManualClock(TimestampMs start = 1'700'000'000'000) : now_(start) {}
  TimestampMs now() const override { return now_; }
  void advance_ms(TimestampMs ms) { now_ += ms; }
  void advance_seconds(TimestampMs s) { now_ += s * 1000; }

private:
  TimestampMs now_;
};

} // namespace tinychat
