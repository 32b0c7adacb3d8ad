#pragma once
// Readings taken by the main thread around the measured phase, and the results a run adds up.

#include "proc_stats.hpp"
#include "report.hpp"
#include "run_state.hpp"

#include <optional>
#include <utility>
#include <vector>

namespace tinychat::bench {

/// Counters of all I/O threads, the servers', the store's and the bench's CPU, at one moment.
struct Snapshot {
  Clock::time_point time;
  std::uint64_t sends = 0;
  std::uint64_t accepted = 0;
  std::uint64_t deliveries = 0;
  std::uint64_t cross_node = 0;
  std::uint64_t cycles = 0;
  double own_cpu = 0;
  std::optional<double> machine_busy;
  std::vector<std::optional<ProcSample>> servers; // per --server-pid
  std::optional<ProcSample> store;                // --store-pid
};

Snapshot take_snapshot(const std::vector<std::unique_ptr<ThreadStats>>& stats,
                       const Options& options);

/// From phase.start: the warm-up, then the measured window of `duration` seconds, with a
/// snapshot at each end of it; sending stops after it.
std::pair<Snapshot, Snapshot> measure_window(Phase& phase,
                                             const std::vector<std::unique_ptr<ThreadStats>>& stats,
                                             const Options& options);

/// RSS of each --server-pid and of --store-pid (last) now, before set-up; 0 when unknown.
std::vector<std::uint64_t> baseline_rss(const Options& options);

/// Rates and CPU over [a, b] into `r`; `baseline` is from baseline_rss() before set-up.
void fill_rates(Results& r, const Snapshot& a, const Snapshot& b,
                const std::vector<std::uint64_t>& baseline);

/// Once the I/O threads have stopped: histograms, error codes and check counters into `r`.
void merge_stats(Results& r, const std::vector<std::unique_ptr<ThreadStats>>& stats);

/// Waits until every send is answered and every connected member has every acknowledged
/// message, or `seconds` pass; then counts what is still missing into `r`.
void drain(Run& run, double seconds, Results& r);

/// Closes every member's connection (1000) and waits for the closes, at most `seconds`.
void close_all(Run& run, double seconds);

/// Returns once every I/O thread has finished the handler it was running (each runs a
/// handler posted now), so what they did before is counted.
void wait_for_io_threads(Run& run);

/// Sleeps until `t`.
void sleep_until(Clock::time_point t);

/// `seconds` as a clock duration.
Clock::duration seconds_of(double seconds);

} // namespace tinychat::bench
