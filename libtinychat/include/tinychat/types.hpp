#pragma once
/// Small vocabulary types shared by every part of tinychat.

#include <array>
#include <cstdint>
#include <memory>
#include <string>

namespace tinychat {

/// Identifies one connection inside a RoomService. Chosen by the transport, unique while the
/// connection lives.
using ClientId = std::uint64_t;

/// An encoded server frame. Immutable and shared, so one event serialised once can be queued
/// for every recipient.
using Frame = std::shared_ptr<const std::string>;

/// Unix time in milliseconds.
using TimestampMs = std::int64_t;

using PublicKey = std::array<std::uint8_t, 32>;
using Signature = std::array<std::uint8_t, 64>;
using Challenge = std::array<std::uint8_t, 32>;

/// Largest integer the protocol carries (2^53 - 1), so every value survives a JavaScript client.
inline constexpr std::uint64_t max_safe_integer = (std::uint64_t{1} << 53) - 1;

} // namespace tinychat
