#include "options.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>
#include <string_view>
#include <thread>

namespace tinychat::bench {

namespace {

double number(std::string_view flag, const std::string& value, double min, double max) {
  double out = 0;
  const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc{} || ptr != value.data() + value.size() || !std::isfinite(out))
    throw UsageError(std::string(flag) + ": not a number: '" + value + "'");
  if (out < min || out > max)
    throw UsageError(std::string(flag) + ": must be between " + std::to_string(min) + " and " +
                     std::to_string(max));
  return out;
}

unsigned whole(std::string_view flag, const std::string& value, unsigned min, unsigned max) {
  const double n = number(flag, value, min, max);
  if (n != std::floor(n)) throw UsageError(std::string(flag) + ": not a whole number");
  return static_cast<unsigned>(n);
}

Scenario parse_scenario(const std::string& name) {
  for (Scenario s : {Scenario::ingress, Scenario::fanout, Scenario::latency, Scenario::idle,
                     Scenario::churn, Scenario::flood})
    if (name == scenario_name(s)) return s;
  throw UsageError("unknown scenario '" + name + "'");
}

// The scenario's own defaults for what the command line left out (`given` holds the flags
// it set).
void fill_defaults(Options& o, const std::set<std::string>& given) {
  struct Defaults {
    unsigned rooms, members, senders, connections, window, text_bytes;
    double rate;
  };
  Defaults d{};
  switch (o.scenario) {
  case Scenario::ingress:
    d = {50, 5, 1, 0, 16, 1000, 0};
    break;
  case Scenario::fanout:
    d = {1, 500, 5, 0, 64, 100, 1000};
    break;
  case Scenario::latency:
    d = {1, 500, 1, 0, 64, 100, 100};
    break;
  case Scenario::idle:
    d = {0, 500, 0, 1000, 1, 100, 0};
    break;
  case Scenario::churn:
    d = {10, 0, 0, 20, 1, 100, 0};
    break;
  case Scenario::flood:
    d = {1, 2, 1, 0, 64, 100, 20};
    break;
  }
  const auto unset = [&](const char* flag) { return !given.contains(flag); };
  if (unset("--rooms")) o.rooms = d.rooms;
  if (unset("--members")) o.members = d.members;
  if (unset("--senders")) o.senders = d.senders;
  if (unset("--connections")) o.connections = d.connections;
  if (unset("--window")) o.window = d.window;
  if (unset("--text-bytes")) o.text_bytes = d.text_bytes;
  if (unset("--rate")) o.rate = d.rate;
  if (o.scenario == Scenario::flood && unset("--abusers")) o.abusers = 50;
  if (o.scenario == Scenario::flood && unset("--duration")) o.duration = 60;
  // Connections spread over rooms of at most --members each.
  if (o.scenario == Scenario::idle && unset("--rooms"))
    o.rooms = (o.connections + o.members - 1) / o.members;
  const bool traffic = o.scenario == Scenario::ingress || o.scenario == Scenario::fanout ||
                       o.scenario == Scenario::latency || o.scenario == Scenario::flood;
  if (traffic && o.senders > o.members) throw UsageError("--senders cannot exceed --members");
  if (traffic && o.senders == 0) throw UsageError("--senders must be at least 1");
}

} // namespace

const char* scenario_name(Scenario scenario) {
  switch (scenario) {
  case Scenario::ingress:
    return "ingress";
  case Scenario::fanout:
    return "fanout";
  case Scenario::latency:
    return "latency";
  case Scenario::idle:
    return "idle";
  case Scenario::churn:
    return "churn";
  case Scenario::flood:
    return "flood";
  }
  return "?";
}

bool wants_help(const std::vector<std::string>& args) {
  for (const auto& a : args)
    if (a == "--help" || a == "-h") return true;
  return false;
}

Options parse_options(const std::vector<std::string>& args) {
  Options o;
  std::set<std::string> given;
  bool have_scenario = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (!arg.starts_with("--")) {
      if (have_scenario) throw UsageError("unexpected argument '" + arg + "'");
      o.scenario = parse_scenario(arg);
      have_scenario = true;
      continue;
    }
    given.insert(arg);
    if (arg == "--json" || arg == "--tsv" || arg == "--markdown-row") {
      (arg == "--json" ? o.json : arg == "--tsv" ? o.tsv : o.markdown_row) = true;
      continue;
    }
    if (i + 1 == args.size()) throw UsageError(arg + " needs a value");
    const std::string& v = args[++i];
    constexpr unsigned big = 1000000;
    if (arg == "--url")
      o.urls.push_back(v);
    else if (arg == "--rooms")
      o.rooms = whole(arg, v, 1, big);
    else if (arg == "--members")
      o.members = whole(arg, v, 1, big);
    else if (arg == "--senders")
      o.senders = whole(arg, v, 0, big);
    else if (arg == "--connections")
      o.connections = whole(arg, v, 1, big);
    else if (arg == "--abusers")
      o.abusers = whole(arg, v, 0, big);
    else if (arg == "--rate")
      o.rate = number(arg, v, 0, 1e7);
    else if (arg == "--duration")
      o.duration = number(arg, v, 0.1, 1e6);
    else if (arg == "--warmup")
      o.warmup = number(arg, v, 0, 1e6);
    else if (arg == "--drain")
      o.drain = number(arg, v, 0.1, 1e6);
    else if (arg == "--window")
      o.window = whole(arg, v, 1, big);
    else if (arg == "--text-bytes")
      o.text_bytes = whole(arg, v, 1, big);
    else if (arg == "--threads")
      o.threads = whole(arg, v, 1, 256);
    else if (arg == "--setup-parallel")
      o.setup_parallel = whole(arg, v, 1, big);
    else if (arg == "--ping-interval")
      o.ping_interval = number(arg, v, 0.1, 1e6);
    else if (arg == "--presign-rate")
      o.presign_rate = number(arg, v, 1, 1e7);
    else if (arg == "--setup-timeout")
      o.setup_timeout = number(arg, v, 1, 1e6);
    else if (arg == "--server-pid")
      o.server_pids.push_back(static_cast<pid_t>(whole(arg, v, 1, 1u << 30)));
    else if (arg == "--store-pid")
      o.store_pid = static_cast<pid_t>(whole(arg, v, 1, 1u << 30));
    else if (arg == "--label")
      o.label = v;
    else
      throw UsageError("unknown flag '" + arg + "'");
  }
  if (!have_scenario) throw UsageError("no scenario given");
  // The other half is for a server on the same machine.
  if (o.threads == 0) o.threads = std::max(1u, std::thread::hardware_concurrency() / 2);
  if (o.urls.empty()) throw UsageError("--url is required");
  if (o.urls.size() > max_nodes)
    throw UsageError("at most " + std::to_string(max_nodes) + " --url flags");
  fill_defaults(o, given);
  return o;
}

std::string usage_text() {
  return R"(usage: tinychat-bench SCENARIO --url ws://HOST:PORT/v1/ws [--url ...] [flags]

Loads a tinychat server through the wire protocol alone and checks what comes back: every
member must see every accepted message, in seq order, without gaps or duplicates. Exits 1
when an invariant broke, a message was lost, or an error or unexpected close happened; 2 for
a bad command line.

scenarios:
  ingress   many small rooms, signed ~1 KB texts as fast as the window allows (or --rate)
            defaults: --rooms 50 --members 5 --senders 1 --window 16 --text-bytes 1000
  fanout    one big room, K senders at an offered rate R in all
            defaults: --rooms 1 --members 500 --senders 5 --rate 1000 --text-bytes 100
  latency   like fanout at a lower rate; send->receive latency of every delivery
            defaults: --rooms 1 --members 500 --senders 1 --rate 100 --text-bytes 100
  idle      --connections N joined connections (rooms of --members, default 500) held for
            --duration seconds with a `ping` every --ping-interval; drops and server memory
  churn     --connections N workers (default 20) cycling connect, join, leave, close in
            --rooms rooms (default 10); cycles/s and cycle latency
  flood     a latency run in one room while --abusers connections (default 50) flood another
            room: junk frames, badly signed sends, history and create_room floods, pings,
            oversized and binary messages, each reconnecting whenever it is closed
            defaults: --rooms 1 --members 2 --senders 1 --rate 20 --duration 60

flags:
  --url URL             the server's WebSocket URL (required). Repeat it for servers that
                        share rooms (e.g. --store redis): the members of each room, its
                        senders among them, are spread round-robin over the URLs (member k
                        on URL k mod N; the room's creator on the first), so one room spans
                        every node; idle connections and churn workers likewise, abusers too
  --rooms N             rooms
  --members N           members (connections) per room
  --senders K           sending members per room (fanout: K senders of the one room)
  --connections N       idle: connections in all; churn: connections cycling at once
  --abusers N           flood: abusive connections (default 50)
  --rate R              offered msgs/s in all, spread evenly over the senders; 0: unpaced,
                        each sender keeps --window sends in flight
  --duration S          measured seconds (default 10)
  --warmup S            seconds of traffic before measuring starts (default 2)
  --drain S             seconds allowed, after sending stops, for acks and deliveries (default 10)
  --window W            unacknowledged sends per sender (ingress 16, fanout/latency 64)
  --text-bytes B        bytes of text per message (ingress 1000, others 100)
  --threads T           I/O threads of the bench (default: half the CPUs, at least 1)
  --setup-parallel N    connections being set up at once (default 256)
  --ping-interval S     idle: seconds between `ping` requests of one connection (default 25)
  --presign-rate R      unpaced runs: sign messages in advance for R msgs/s (default 25000)
  --setup-timeout S     seconds allowed for connecting and joining (default 300)
  --server-pid PID      report this server process's CPU and memory (from /proc); repeat
                        it for several servers (in --url order): their sum, and each one
  --store-pid PID       report this process's CPU and memory on their own, not in the
                        servers' sum: a store the servers share, e.g. redis-server
  --json                print the results as JSON
  --tsv                 print a header line and a line of values, tab-separated
  --markdown-row        print one markdown table row (see run-benchmarks)
  --label TEXT          the command shown in --markdown-row and --tsv output
  --help                print this text

Every message is signed before the measured phase: texts are only assembled while sending.
Latency runs from the moment a send is queued on its connection to the moment a member's
connection has read the message (one clock, one process), for every delivery, into a
log-bucketed histogram. Server frames are scanned for their top-level fields, not decoded
into a document; the fields read (type, seq, client_seq, user_id, code) need no escapes.
With several --url, a delivery counts as cross-node when the member reading it is on
another URL than the message's sender; the table shows how many there were, and every check
(seq order, gaps, duplicates, loss after the drain) holds for the members on every node.
The bench raises its open-file limit to the hard limit.
)";
}

} // namespace tinychat::bench
