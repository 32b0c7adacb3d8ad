#pragma once
// tinychat-bench's command line.

#include <sys/types.h>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace tinychat::bench {

/// Most servers (--url flags) one run spreads its connections over.
inline constexpr std::size_t max_nodes = 16;

enum class Scenario { ingress, fanout, latency, idle, churn, flood };

/// A command line that cannot be used; the message says why.
class UsageError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Every setting of one run, the scenario's defaults filled in.
struct Options {
  Scenario scenario = Scenario::ingress;
  std::vector<std::string> urls; // the servers (nodes); each room's members spread over them
  unsigned rooms = 0;
  unsigned members = 0;          // per room
  unsigned senders = 0;          // per room
  unsigned connections = 0;      // idle: in all; churn: cycling at once
  unsigned abusers = 0;          // flood: abusive connections
  double rate = 0;               // msgs/s offered in all; 0: as fast as the window allows
  double duration = 10;          // seconds measured
  double warmup = 2;             // seconds of traffic before measuring
  double drain = 10;             // seconds allowed for the last deliveries after sending stops
  unsigned window = 0;           // unacknowledged sends per sender
  unsigned text_bytes = 0;       // bytes of text per message
  unsigned threads = 0;          // I/O threads; 0: half the CPUs, at least 1
  unsigned setup_parallel = 256; // connections being set up at once
  double ping_interval = 25;     // idle: seconds between pings of one connection
  double presign_rate = 25000;   // unpaced runs: msgs/s to sign in advance for
  double setup_timeout = 300;    // seconds for connecting and joining everyone
  // Servers whose CPU and memory are reported, and a store process reported on its own.
  std::vector<pid_t> server_pids;
  pid_t store_pid = 0;
  bool json = false; // outputs, in this order; the table when none is asked for
  bool tsv = false;
  bool markdown_row = false;
  std::string label; // command shown in --markdown-row / --tsv
};

const char* scenario_name(Scenario scenario);

/// Parses argv (without the program name). Throws UsageError.
Options parse_options(const std::vector<std::string>& args);

/// True when args ask for --help.
bool wants_help(const std::vector<std::string>& args);

std::string usage_text();

} // namespace tinychat::bench
