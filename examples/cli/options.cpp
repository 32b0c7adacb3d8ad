#include "options.hpp"

#include <tinychat/protocol.hpp>

#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tinychat::cli {

namespace {

constexpr std::string_view usage =
    "usage: tinychat-cli [--url URL] [--token-file FILE] create\n"
    "       tinychat-cli [--url URL] [--key FILE] join ROOM_ID --name NAME\n"
    "\n"
    "A terminal client for tinychat.\n"
    "\n"
    "  create            create a room and print its id\n"
    "  join ROOM_ID      join a room: print its history and then live messages on stdout,\n"
    "                    one '[seq] name: text' line each; send every non-empty line read\n"
    "                    from stdin as a signed message; exit at the end of stdin once every\n"
    "                    line was answered\n"
    "\n"
    "  --url URL         the server's WebSocket endpoint (default ws://127.0.0.1:8080/v1/ws)\n"
    "  --name NAME       the display name to join under (join only, required)\n"
    "  --key FILE        the Ed25519 key: 64 hex characters of a 32-byte seed, created on\n"
    "                    first use with mode 0600 (default $XDG_CONFIG_HOME/tinychat/key,\n"
    "                    or ~/.config/tinychat/key)\n"
    "  --token-file FILE a token for servers that let only users with one create rooms\n"
    "                    (create only); sent in an auth request, never shown\n"
    "  -h, --help        show this help\n"
    "  --version         show the version\n"
    "\n"
    "Options may come before or after the command.\n"
    "\n"
    "Output: a message whose text has several lines continues on lines indented by four\n"
    "spaces; a message whose signature does not verify reads '[seq] name (UNVERIFIED): text'.\n"
    "Presence ('* name joined', '* name left'), status and errors go to stderr.\n"
    "\n"
    "Exit status: 0 ok (also after SIGINT or SIGTERM), 1 failure (cannot connect, room not\n"
    "found, a line not sent, ...), 2 bad usage.\n";

int usage_error(std::string_view what) {
  // The two synopsis lines, not the whole help.
  const auto synopsis = usage.substr(0, usage.find("\n\n") + 1);
  std::cerr << "tinychat-cli: " << what << "\n"
            << synopsis << "Run 'tinychat-cli --help' for more.\n";
  return exit_usage;
}

} // namespace

std::variant<Options, int> parse_options(int argc, char** argv) {
  Options options;
  std::vector<std::string_view> positional;
  bool name_given = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << usage;
      return exit_ok;
    }
    if (arg == "--version") {
      std::cout << "tinychat-cli " << TINYCHAT_VERSION << "\n";
      return exit_ok;
    }
    if (!arg.starts_with("-") || arg == "-") {
      positional.push_back(arg);
      continue;
    }
    // --flag VALUE or --flag=VALUE
    std::string_view flag = arg;
    std::optional<std::string_view> value;
    if (const auto eq = arg.find('='); eq != std::string_view::npos) {
      flag = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    std::string* target = flag == "--url"          ? &options.url
                          : flag == "--name"       ? &options.name
                          : flag == "--key"        ? &options.key_path
                          : flag == "--token-file" ? &options.token_path
                                                   : nullptr;
    if (!target) return usage_error("unknown option " + std::string(arg));
    if (!value) {
      if (i + 1 == argc) return usage_error("missing value for " + std::string(flag));
      value = argv[++i];
    }
    if (value->empty()) return usage_error(std::string(flag) + " needs a value");
    *target = *value;
    if (flag == "--name") name_given = true;
  }

  if (positional.empty()) return usage_error("missing command (create or join)");
  const std::string_view command = positional.front();
  if (command == "create") {
    if (positional.size() != 1) return usage_error("create takes no arguments");
    if (name_given) return usage_error("--name is for join");
    options.command = Command::create;
  } else if (command == "join") {
    if (positional.size() != 2) return usage_error("join takes one ROOM_ID");
    options.command = Command::join;
    options.room_id = positional[1];
    if (!is_valid_room_id(options.room_id))
      return usage_error("not a room id: '" + options.room_id + "' (26 characters of a-z and 2-7)");
    if (!name_given) return usage_error("join needs --name NAME");
    if (!options.token_path.empty()) return usage_error("--token-file is for create");
  } else {
    return usage_error("unknown command " + std::string(command));
  }
  if (!options.url.starts_with("ws://"))
    return usage_error("--url must be a ws:// URL, e.g. " + std::string(default_url));
  return options;
}

} // namespace tinychat::cli
