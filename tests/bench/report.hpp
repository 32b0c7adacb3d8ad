#pragma once
// The results of one run and the ways tinychat-bench prints them.

#include "histogram.hpp"
#include "options.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tinychat::bench {

/// A process's use of the machine over the measured phase (from /proc, --server-pid or
/// --store-pid).
struct ServerUsage {
  double cpu_percent = 0; // (user + system seconds) / wall seconds, 100 = one core
  double user_seconds = 0;
  double system_seconds = 0;
  std::uint64_t rss_kib = 0;          // at the end of the measured phase
  std::uint64_t peak_kib = 0;         // VmHWM
  std::uint64_t baseline_rss_kib = 0; // before the bench connected
};

/// What one run measured and checked. Rates are per second of the measured phase; counts of
/// errors and violations cover the whole run (set-up, warm-up, measured phase and drain).
struct Results {
  std::string scenario;
  std::string shape; // e.g. "1 room x 500 members, 5 senders"
  std::string label; // the command, for --markdown-row and --tsv
  double seconds = 0;
  double offered_rate = 0; // as configured; 0: unpaced
  double sent_rate = 0;    // sends written
  double accepted_rate = 0;
  double delivery_rate = 0;
  std::uint64_t accepted = 0;   // `sent` replies in the measured phase
  std::uint64_t deliveries = 0; // `message` frames in the measured phase
  std::uint64_t cross_node = 0; // of them, to members on another server than the sender
  double cross_node_rate = 0;
  unsigned nodes = 1;                  // servers (--url) the connections were spread over
  std::string latency_of = "delivery"; // what `latency` measures
  Histogram latency;
  Histogram ack_latency;

  std::map<std::string, std::uint64_t> errors; // error code (or "close 4008") -> count
  std::uint64_t gaps = 0;                      // a seq above previous + 1
  std::uint64_t missing = 0;                   // seqs skipped by those gaps
  std::uint64_t duplicates = 0;                // a seq seen again
  std::uint64_t reordered = 0; // a seq below the newest seen, or a sender's messages or
                               // acks out of client_seq order
  std::uint64_t lost = 0;      // acknowledged messages some member never received
  std::uint64_t unacked = 0;   // sends never answered by the end of the drain
  std::uint64_t unexpected_closes = 0;
  std::uint64_t bad_frames = 0;
  std::uint64_t presence_mismatches = 0; // churn: member_joined/left events vs cycles
  bool presign_exhausted = false;

  std::uint64_t connections = 0;
  std::uint64_t pings = 0;
  std::uint64_t pongs = 0;
  std::uint64_t cycles = 0;

  std::optional<ServerUsage> server; // every --server-pid summed
  std::vector<ServerUsage> servers;  // each --server-pid, in order
  std::optional<ServerUsage> store;  // --store-pid
  double bench_cpu_percent = 0;
  double machine_cpu_percent = -1; // every process of the machine; -1: unknown
  std::vector<std::string> notes;

  std::uint64_t error_count() const;
  /// True when an invariant broke or anything unexpected happened.
  bool failed() const;
};

void print_table(const Results& results);
void print_json(const Results& results);
void print_tsv(const Results& results);
void print_markdown_row(const Results& results);

} // namespace tinychat::bench
