#include "conformance_server.hpp"

#include "support/redis_process.hpp"

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <utility>

namespace tinychat::test {

namespace {

std::vector<std::string> command_line(std::vector<std::string> flags, const TempDir& data_dir) {
  const auto store = store_flags_from_env();
  if (std::find(store.begin(), store.end(), "--store") == store.end()) {
    // The server's default store. ServerProcess would otherwise pick the memory store, and
    // the default data directory cannot be shared by servers running side by side.
    flags.insert(flags.end(), {"--store", "sqlite", "--data-dir", data_dir.path().string()});
  }
  flags.insert(flags.end(), store.begin(), store.end());
  return flags;
}

} // namespace

std::vector<std::string> store_flags_from_env() {
  std::vector<std::string> words;
  if (const char* value = std::getenv("TINYCHAT_TEST_STORE_FLAGS")) {
    std::istringstream in(value);
    for (std::string word; in >> word;)
      words.push_back(std::move(word));
  }
  // "--store redis" alone: a Redis of the suite's own, shared by every server it starts.
  const bool redis = std::find(words.begin(), words.end(), "redis") != words.end();
  if (redis && std::find(words.begin(), words.end(), "--redis-url") == words.end()) {
    static RedisProcess shared_redis;
    words.insert(words.end(), {"--redis-url", shared_redis.url()});
  }
  return words;
}

ConformanceServer::ConformanceServer(std::vector<std::string> flags)
    : process_(command_line(std::move(flags), data_dir_)) {}

} // namespace tinychat::test
