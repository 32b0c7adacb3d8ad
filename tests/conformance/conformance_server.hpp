#pragma once
// The one way the conformance suite starts tinychat-server: the case's own flags, then the
// store flags of the environment, so that every case runs unchanged on any store.

#include "support/server_process.hpp"
#include "support/temp_dir.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace tinychat::test {

/// The whitespace-separated words of TINYCHAT_TEST_STORE_FLAGS; empty when it is unset.
std::vector<std::string> store_flags_from_env();

/// A tinychat-server for one test case. Its command line is `flags`, then the store flags of
/// TINYCHAT_TEST_STORE_FLAGS. When those name no `--store`, the server keeps its default
/// store (sqlite), in a data directory of its own that lives as long as the server.
/// Assume nothing about where the state lives: use fresh rooms, never a restart.
class ConformanceServer {
public:
  explicit ConformanceServer(std::vector<std::string> flags = {});

  std::uint16_t port() const noexcept { return process_.port(); }

private:
  TempDir data_dir_; // first: it outlives the server
  ServerProcess process_;
};

} // namespace tinychat::test
