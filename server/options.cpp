#include "options.hpp"

#include "auth_key.hpp"
#include "config_file.hpp"

#include <tinychat/redis_store.hpp>

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string_view>
#include <thread>

namespace tinychat::server {

namespace {

unsigned default_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

std::uint64_t parse_integer(std::string_view flag, std::string_view value, std::uint64_t min,
                            std::uint64_t max) {
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (value.empty() || ec != std::errc{} || end != value.data() + value.size())
    throw UsageError("--" + std::string(flag) + ": not a whole number: '" + std::string(value) +
                     "'");
  if (n < min || n > max)
    throw UsageError("--" + std::string(flag) + ": must be between " + std::to_string(min) +
                     " and " + std::to_string(max));
  return n;
}

double parse_rate(std::string_view flag, std::string_view value) {
  double d = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), d);
  if (value.empty() || ec != std::errc{} || end != value.data() + value.size() ||
      !std::isfinite(d) || d < 0)
    throw UsageError("--" + std::string(flag) + ": not a number >= 0: '" + std::string(value) +
                     "'");
  return d;
}

std::string format_rate(double d) {
  std::ostringstream out;
  out << d;
  return out.str();
}

struct Flag {
  std::string_view name;
  std::string_view help;
  std::function<std::string(const Options&)> current;
  std::function<void(Options&, std::string_view)> set;
  bool repeatable = false; ///< each use adds a value
};

// Limits share one shape: a u32 of Limits, at least 1.
Flag limit_flag(std::string_view name, std::string_view help, std::uint32_t Limits::*field) {
  return {name, help, [field](const Options& o) { return std::to_string(o.service.limits.*field); },
          [name, field](Options& o, std::string_view v) {
            o.service.limits.*field = static_cast<std::uint32_t>(
                parse_integer(name, v, 1, std::numeric_limits<std::uint32_t>::max()));
          }};
}

constexpr const char* one_token_key =
    "--auth-hs256-secret-file and --auth-ed25519-public-key: give one token key, once";

const std::vector<Flag>& flags() {
  static const std::vector<Flag> table = {
      {"bind", "address to listen on", [](const Options& o) { return o.bind; },
       [](Options& o, std::string_view v) {
         boost::system::error_code ec;
         boost::asio::ip::make_address(std::string(v), ec);
         if (ec) throw UsageError("--bind: not an IP address: '" + std::string(v) + "'");
         o.bind = std::string(v);
       }},
      {"port", "TCP port; 0 picks a free one and prints it",
       [](const Options& o) { return std::to_string(o.port); },
       [](Options& o, std::string_view v) {
         o.port = static_cast<std::uint16_t>(parse_integer("port", v, 0, 65535));
       }},
      {"threads", "I/O threads; defaults to the number of CPUs",
       [](const Options& o) { return std::to_string(o.threads); },
       [](Options& o, std::string_view v) {
         o.threads = static_cast<unsigned>(parse_integer("threads", v, 1, 1024));
       }},
      {"web-root", "serve the page from this directory, not the built-in copy",
       [](const Options& o) { return o.web_root.empty() ? "built-in" : o.web_root; },
       [](Options& o, std::string_view v) {
         std::error_code ec;
         if (!std::filesystem::is_regular_file(std::filesystem::path(v) / "index.html", ec))
           throw UsageError("--web-root: no index.html in '" + std::string(v) + "'");
         o.web_root = std::string(v);
       }},
      {"store", "where rooms live: memory, sqlite in --data-dir, or redis (several servers)",
       [](const Options& o) { return o.store; },
       [](Options& o, std::string_view v) {
         if (v != "memory" && v != "sqlite" && v != "redis")
           throw UsageError("--store: 'memory', 'sqlite' or 'redis', not '" + std::string(v) + "'");
         o.store = std::string(v);
       }},
      {"redis-url", "the Redis of --store redis: redis://HOST[:PORT][/DB]",
       [](const Options& o) { return o.redis_url; },
       [](Options& o, std::string_view v) {
         try {
           RedisStore::check_url(v);
         } catch (const std::invalid_argument& e) {
           throw UsageError(std::string("--redis-url: ") + e.what());
         }
         o.redis_url = std::string(v);
       }},
      {"redis-node-timeout-ms",
       "with --store redis: a server silent this long is taken for dead and its members leave",
       [](const Options& o) { return std::to_string(o.redis_node_timeout.count()); },
       [](Options& o, std::string_view v) {
         o.redis_node_timeout =
             std::chrono::milliseconds(parse_integer("redis-node-timeout-ms", v, 500, 3'600'000));
       }},
      {"redis-key-prefix", "with --store redis: before every key, to share one Redis",
       [](const Options& o) { return o.redis_key_prefix; },
       [](Options& o, std::string_view v) {
         if (v.empty() || v.size() > 64) throw UsageError("--redis-key-prefix: 1 to 64 bytes");
         o.redis_key_prefix = std::string(v);
       }},
      {"data-dir", "directory of the sqlite store, created when missing",
       [](const Options& o) { return o.data_dir; },
       [](Options& o, std::string_view v) {
         if (v.empty()) throw UsageError("--data-dir: needs a directory");
         o.data_dir = std::string(v);
       }},
      {"durability", "process: survives a killed process; power: also a power loss (slower)",
       [](const Options& o) {
         return std::string(o.durability == Durability::power ? "power" : "process");
       },
       [](Options& o, std::string_view v) {
         if (v == "process")
           o.durability = Durability::process;
         else if (v == "power")
           o.durability = Durability::power;
         else
           throw UsageError("--durability: 'process' or 'power', not '" + std::string(v) + "'");
       }},
      {"max-queued-bytes", "bytes queued for a slow reader before it is closed with 4008",
       [](const Options& o) { return std::to_string(o.max_queued_bytes); },
       [](Options& o, std::string_view v) {
         o.max_queued_bytes = parse_integer("max-queued-bytes", v, 1024, std::uint64_t{1} << 40);
       }},
      {"max-queued-frames", "messages queued for a slow reader before it is closed with 4008",
       [](const Options& o) { return std::to_string(o.max_queued_frames); },
       [](Options& o, std::string_view v) {
         o.max_queued_frames = parse_integer("max-queued-frames", v, 16, std::uint64_t{1} << 32);
       }},
      {"coalesce-us", "microseconds a busy connection waits to send messages in one write",
       [](const Options& o) { return std::to_string(o.coalesce.count()); },
       [](Options& o, std::string_view v) {
         o.coalesce = std::chrono::microseconds(parse_integer("coalesce-us", v, 0, 1'000'000));
       }},
      {"max-connections", "WebSocket connections at once; more get 503 (0: no limit)",
       [](const Options& o) { return std::to_string(o.max_connections); },
       [](Options& o, std::string_view v) {
         o.max_connections = parse_integer("max-connections", v, 0, 10'000'000);
       }},
      {"max-connections-per-ip", "WebSocket connections at once from one address (0: no limit)",
       [](const Options& o) { return std::to_string(o.max_connections_per_ip); },
       [](Options& o, std::string_view v) {
         o.max_connections_per_ip = parse_integer("max-connections-per-ip", v, 0, 10'000'000);
       }},
      {"http-timeout-ms", "milliseconds a client has to send a whole HTTP request",
       [](const Options& o) { return std::to_string(o.http_timeout.count()); },
       [](Options& o, std::string_view v) {
         o.http_timeout =
             std::chrono::milliseconds(parse_integer("http-timeout-ms", v, 100, 3'600'000));
       }},
      {"idle-timeout-ms", "a silent WebSocket is pinged at half of this, closed at all of it",
       [](const Options& o) { return std::to_string(o.idle_timeout.count()); },
       [](Options& o, std::string_view v) {
         o.idle_timeout =
             std::chrono::milliseconds(parse_integer("idle-timeout-ms", v, 200, 86'400'000));
       }},
      {"allowed-origin", "another origin whose pages may connect (exact, repeatable)",
       [](const Options& o) {
         std::string list;
         for (const auto& origin : o.allowed_origins)
           list += (list.empty() ? "" : " ") + origin;
         return list.empty() ? std::string("only the server's own") : list;
       },
       [](Options& o, std::string_view v) {
         if (v.empty() || v.back() == '/')
           throw UsageError("--allowed-origin: an origin like https://chat.example.org, not '" +
                            std::string(v) + "'");
         o.allowed_origins.emplace_back(v);
       },
       true},
      {"max-live-rooms-per-user",
       "live rooms one user (token sub, else address) may have created (0: no limit)",
       [](const Options& o) { return std::to_string(o.service.room_quota.live_rooms); },
       [](Options& o, std::string_view v) {
         o.service.room_quota.live_rooms = static_cast<std::uint32_t>(parse_integer(
             "max-live-rooms-per-user", v, 0, std::numeric_limits<std::uint32_t>::max()));
       }},
      {"max-rooms-per-minute",
       "rooms one user (sub, else address) may create a minute (0: no limit)",
       [](const Options& o) { return std::to_string(o.service.room_quota.created_per_minute); },
       [](Options& o, std::string_view v) {
         o.service.room_quota.created_per_minute = static_cast<std::uint32_t>(parse_integer(
             "max-rooms-per-minute", v, 0, std::numeric_limits<std::uint32_t>::max()));
       }},
      {"auth-hs256-secret-file", "create_room needs a token signed HS256 with this secret",
       [](const Options&) { return std::string("off"); },
       [](Options& o, std::string_view v) {
         if (o.service.token_verifier) throw UsageError(one_token_key);
         o.service.token_verifier = load_hs256_secret_file(v);
       }},
      {"auth-ed25519-public-key", "create_room needs a token signed EdDSA by this key",
       [](const Options&) { return std::string("off"); },
       [](Options& o, std::string_view v) {
         if (o.service.token_verifier) throw UsageError(one_token_key);
         o.service.token_verifier = parse_ed25519_public_key(v);
       }},
      limit_flag("max-text-chars", "code points per message", &Limits::max_text_chars),
      limit_flag("max-name-chars", "code points per user name", &Limits::max_name_chars),
      limit_flag("max-room-members", "users per room", &Limits::max_room_members),
      limit_flag("max-history", "messages kept per room", &Limits::max_history),
      limit_flag("max-frame-bytes", "bytes per client message (larger: close 1009)",
                 &Limits::max_frame_bytes),
      limit_flag("max-rooms-per-connection", "rooms one connection may join",
                 &Limits::max_rooms_per_connection),
      limit_flag("room-idle-seconds", "an empty room is deleted after this",
                 &Limits::room_idle_seconds),
      limit_flag("room-ttl-seconds", "a room is closed at this age", &Limits::room_ttl_seconds),
      {"rate-limit-per-second", "requests per second per connection; 0 disables",
       [](const Options& o) { return format_rate(o.service.rate_limit.per_second); },
       [](Options& o, std::string_view v) {
         o.service.rate_limit.per_second = parse_rate("rate-limit-per-second", v);
       }},
      {"rate-limit-close-after",
       "refusals beyond accepted requests that close a flooding connection with 1008 (0: never)",
       [](const Options& o) { return std::to_string(o.service.rate_limit.close_after_refusals); },
       [](Options& o, std::string_view v) {
         o.service.rate_limit.close_after_refusals = static_cast<std::uint32_t>(parse_integer(
             "rate-limit-close-after", v, 0, std::numeric_limits<std::uint32_t>::max()));
       }},
      {"rate-limit-burst", "requests a connection may burst",
       [](const Options& o) { return format_rate(o.service.rate_limit.burst); },
       [](Options& o, std::string_view v) {
         o.service.rate_limit.burst = parse_rate("rate-limit-burst", v);
       }},
      {"log-level", "error, warn, info or debug: the least severe events logged",
       [](const Options& o) { return std::string(to_string(o.log_level)); },
       [](Options& o, std::string_view v) {
         const auto level = log_level_from_string(v);
         if (!level)
           throw UsageError("--log-level: error, warn, info or debug, not '" + std::string(v) +
                            "'");
         o.log_level = *level;
       }},
      {"metrics", "on or off: serve GET /metrics (Prometheus text format)",
       [](const Options& o) { return std::string(o.metrics ? "on" : "off"); },
       [](Options& o, std::string_view v) {
         if (v != "on" && v != "off")
           throw UsageError("--metrics: 'on' or 'off', not '" + std::string(v) + "'");
         o.metrics = v == "on";
       }},
      {"config", "read settings from this file, one 'name = value' a line; flags override it",
       [](const Options& o) { return o.config_file.empty() ? "none" : o.config_file; },
       [](Options& o, std::string_view v) {
         if (v.empty()) throw UsageError("--config: needs a file");
         o.config_file = std::string(v);
       }},
  };
  return table;
}

Options default_options() {
  Options o;
  o.threads = default_threads();
  return o;
}

const Flag& find_flag(std::string_view name, const std::string& where) {
  for (const auto& f : flags())
    if (f.name == name) return f;
  if (where.empty()) throw UsageError("unknown flag '--" + std::string(name) + "'");
  throw UsageError(where + ": unknown setting '" + std::string(name) + "'");
}

// The settings of the command line, in order; help or version stop at once.
std::optional<ParsedCommandLine::Action> read_arguments(const std::vector<std::string>& args,
                                                        std::vector<Setting>& settings) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") return ParsedCommandLine::Action::help;
    if (arg == "--version") return ParsedCommandLine::Action::version;
    if (arg.substr(0, 2) != "--")
      throw UsageError("unexpected argument '" + std::string(arg) + "'");
    arg.remove_prefix(2);
    std::string_view name = arg;
    std::optional<std::string_view> value;
    if (const auto eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    find_flag(name, {});
    if (!value) {
      if (i + 1 == args.size()) throw UsageError("--" + std::string(name) + " needs a value");
      value = args[++i];
    }
    settings.push_back({std::string(name), std::string(*value), {}});
  }
  return std::nullopt;
}

void apply(Options& options, const Setting& s) {
  const Flag& flag = find_flag(s.name, s.where);
  if (s.where.empty()) return flag.set(options, s.value);
  try {
    flag.set(options, s.value);
  } catch (const UsageError& e) {
    throw UsageError(s.where + ": " + e.what());
  }
}

} // namespace

ParsedCommandLine parse_command_line(const std::vector<std::string>& args) {
  ParsedCommandLine out;
  out.options = default_options();
  std::vector<Setting> command_line;
  if (auto action = read_arguments(args, command_line)) {
    out.action = *action;
    return out;
  }
  std::set<std::string, std::less<>> given; // names set on the command line
  std::string config;
  for (const auto& s : command_line) {
    if (s.name == "config" && given.contains("config")) throw UsageError("--config: give one file");
    if (s.name == "config") config = s.value;
    given.insert(s.name);
  }
  if (!config.empty()) {
    // Each setting once, so a file that says a thing twice is a mistake, not a guess.
    std::map<std::string, std::string, std::less<>> seen; // name to where
    for (const auto& s : read_config_file(config)) {
      const Flag& flag = find_flag(s.name, s.where);
      if (s.name == "config") throw UsageError(s.where + ": a config file cannot name another");
      if (!flag.repeatable)
        if (const auto [it, inserted] = seen.emplace(s.name, s.where); !inserted)
          throw UsageError(s.where + ": '" + s.name + "' was already set at " + it->second);
      if (!given.contains(s.name)) apply(out.options, s);
    }
  }
  for (const auto& s : command_line)
    apply(out.options, s);
  const RateLimit& rate = out.options.service.rate_limit;
  if (rate.per_second > 0 && rate.burst < 1)
    throw UsageError("--rate-limit-burst: must be at least 1 while rate limiting is on");
  return out;
}

std::string usage_text() {
  const Options defaults = default_options();
  std::string text = "usage: tinychat-server [flags]\n\n"
                     "Serves tinychat protocol v1 over WebSocket at /v1/ws.\n\nflags:\n";
  for (const auto& f : flags()) {
    std::string left = "  --" + std::string(f.name) + " N";
    if (f.name == "bind") left = "  --bind ADDR";
    if (f.name == "web-root" || f.name == "data-dir") left = "  --" + std::string(f.name) + " DIR";
    if (f.name == "store") left = "  --store KIND";
    if (f.name == "durability") left = "  --durability LEVEL";
    if (f.name == "allowed-origin") left = "  --allowed-origin ORIGIN";
    if (f.name == "log-level") left = "  --log-level LEVEL";
    if (f.name == "metrics") left = "  --metrics on|off";
    if (f.name == "config") left = "  --config FILE";
    if (f.name == "redis-url") left = "  --redis-url URL";
    if (f.name == "redis-node-timeout-ms") left = "  --redis-node-timeout-ms MS";
    if (f.name == "redis-key-prefix") left = "  --redis-key-prefix PREFIX";
    if (f.name == "auth-hs256-secret-file") left = "  --auth-hs256-secret-file FILE";
    if (f.name == "auth-ed25519-public-key") left = "  --auth-ed25519-public-key HEX";
    left.resize(std::max<std::size_t>(left.size() + 1, 34), ' ');
    text += left + std::string(f.help) + " (default " + f.current(defaults) + ")\n";
  }
  text += "  --help                          print this text\n"
          "  --version                       print the version\n";
  return text;
}

} // namespace tinychat::server
