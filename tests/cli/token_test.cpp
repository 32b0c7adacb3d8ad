// tinychat-cli create --token-file against a tinychat-server that wants tokens.

#include "support/child_process.hpp"
#include "support/server_process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_tokens.hpp"
#include "support/timeouts.hpp"

#include <tinychat/protocol.hpp>

#include <doctest/doctest.h>

#include <ctime>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace tinychat::test {
namespace {

const std::string cli = TINYCHAT_CLI_PATH;
const std::string secret = "a secret of at least thirty-two bytes";

// Runs the CLI to completion: exit status and stdout with stderr.
std::pair<int, std::string> run(const std::vector<std::string>& argv) {
  ChildOptions options;
  options.merge_stderr = true;
  ChildProcess process(argv, options);
  auto out = process.read_to_end(event_timeout);
  const auto status = out ? process.wait(event_timeout) : std::nullopt;
  if (!status) throw std::runtime_error("tinychat-cli did not finish in time");
  return {*status, *out};
}

std::string token_file(const TempDir& dir, const std::string& name, std::int64_t lifetime_s) {
  const auto exp = static_cast<std::int64_t>(std::time(nullptr)) + lifetime_s;
  const auto path = (dir.path() / name).string();
  std::ofstream(path) << hs256_token(claims_json("ann", exp), secret) << "\n";
  return path;
}

} // namespace

TEST_CASE("cli create --token-file: authenticates first; without a good token exit 1") {
  TempDir dir;
  const auto secret_file = (dir.path() / "secret").string();
  std::ofstream(secret_file) << secret;
  ServerProcess server({"--auth-hs256-secret-file", secret_file});
  const std::vector<std::string> create{cli, "--url", server.ws_url(), "create"};

  auto [status, out] = run(create);
  CHECK(status == 1);
  CHECK(out.find("unauthorized") != std::string::npos);

  auto with_token = create;
  with_token.insert(with_token.end(), {"--token-file", token_file(dir, "good", 600)});
  std::tie(status, out) = run(with_token);
  CHECK(status == 0);
  CHECK(is_valid_room_id(out.substr(0, out.find('\n'))));

  const auto expired = token_file(dir, "expired", -1);
  auto with_expired = create;
  with_expired.insert(with_expired.end(), {"--token-file", expired});
  std::tie(status, out) = run(with_expired);
  CHECK(status == 1);
  CHECK(out.find("token was refused") != std::string::npos);
  CHECK(out.find("expired") != std::string::npos);
  std::string token;
  std::ifstream(expired) >> token;
  CHECK(out.find(token.substr(token.rfind('.') + 1)) == std::string::npos);

  std::tie(status, out) = run(
      {cli, "--url", server.ws_url(), "--token-file", (dir.path() / "missing").string(), "create"});
  CHECK(status == 1);
  CHECK(out.find("cannot read token file") != std::string::npos);
  std::tie(status, out) = run({cli, "join", std::string(26, 'a'), "--name", "ann", "--token-file",
                               token_file(dir, "join", 600)});
  CHECK(status == 2);
}

} // namespace tinychat::test
