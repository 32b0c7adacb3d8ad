#pragma once
// Command line of tinychat-cli.

#include <string>
#include <string_view>
#include <variant>

namespace tinychat::cli {

inline constexpr std::string_view default_url = "ws://127.0.0.1:8080/v1/ws";

enum class Command { create, join };

struct Options {
  Command command = Command::create;
  std::string url{default_url};
  std::string room_id;    ///< join only
  std::string name;       ///< join only
  std::string key_path;   ///< empty: the default path (key_file.hpp)
  std::string token_path; ///< create only: a file with a token to send in `auth` first
  std::string token;      ///< the token read from token_path (main reads it)
};

/// Exit statuses of tinychat-cli.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;
inline constexpr int exit_usage = 2;

/// The options, or the exit status when the program should stop right away (after --help or
/// --version: 0, printed on stdout; after bad usage: 2, explained on stderr).
std::variant<Options, int> parse_options(int argc, char** argv);

} // namespace tinychat::cli
