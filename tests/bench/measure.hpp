#pragma once
// Readings taken by the main thread around the measured phase, and the results a run adds up.

#include "report.hpp"
#include "run_state.hpp"

#include <optional>
#include <utility>

namespace tinychat::bench {

struct ProcSample;

/// Counters of all I/O threads, the server's and the bench's CPU, at one moment.
struct Snapshot {
  Clock::time_point time;
  std::uint64_t sends = 0;
  std::uint64_t accepted = 0;
  std::uint64_t deliveries = 0;
  std::uint64_t cycles = 0;
  double own_cpu = 0;
  std::optional<double> server_cpu;
  std::optional<double> server_user;
  std::optional<double> server_system;
  std::uint64_t server_rss_kib = 0;
  std::uint64_t server_peak_kib = 0;
};

Snapshot take_snapshot(const std::vector<std::unique_ptr<ThreadStats>>& stats, pid_t server_pid);

/// From phase.start: the warm-up, then the measured window of `duration` seconds, with a
/// snapshot at each end of it; sending stops after it.
std::pair<Snapshot, Snapshot> measure_window(Phase& phase,
                                             const std::vector<std::unique_ptr<ThreadStats>>& stats,
                                             double warmup, double duration, pid_t server_pid);

/// Rates and CPU over [a, b] into `r`; `baseline_rss_kib` is the server's RSS before set-up.
void fill_rates(Results& r, const Snapshot& a, const Snapshot& b, std::uint64_t baseline_rss_kib);

/// Once the I/O threads have stopped: histograms, error codes and check counters into `r`.
void merge_stats(Results& r, const std::vector<std::unique_ptr<ThreadStats>>& stats);

/// The server's RSS now, 0 when unknown.
std::uint64_t server_rss_kib(pid_t server_pid);

/// Waits until every send is answered and every connected member has every acknowledged
/// message, or `seconds` pass; then counts what is still missing into `r`.
void drain(Run& run, double seconds, Results& r);

/// Closes every member's connection (1000) and waits for the closes, at most `seconds`.
void close_all(Run& run, double seconds);

/// Sleeps until `t`.
void sleep_until(Clock::time_point t);

/// `seconds` as a clock duration.
Clock::duration seconds_of(double seconds);

} // namespace tinychat::bench
