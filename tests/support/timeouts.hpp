#pragma once
// How long the integration tests wait for things to happen.

#include <chrono>

namespace tinychat::test {

/// How long a test waits for any one event (a reply, a line of output, a process exit)
/// before it fails. Generous: a loaded CI machine may be slow, and a passing run never waits
/// this long.
inline constexpr auto event_timeout = std::chrono::seconds(30);

} // namespace tinychat::test
