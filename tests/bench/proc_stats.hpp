#pragma once
// CPU time and memory of a process from /proc (Linux), and the bench's own limits.

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace tinychat::bench {

/// One reading of a process's counters.
struct ProcSample {
  double cpu_seconds = 0; // user + system, since the process started
  double user_seconds = 0;
  double system_seconds = 0;
  std::uint64_t rss_kib = 0;  // VmRSS
  std::uint64_t peak_kib = 0; // VmHWM
};

/// Reads /proc/PID/stat and /proc/PID/status; nullopt when the process is gone or /proc is
/// not there.
std::optional<ProcSample> sample_process(pid_t pid);

/// CPU seconds every process of the machine has used since boot (user, nice, system, irq,
/// softirq and steal of /proc/stat), all CPUs summed; nullopt without /proc.
std::optional<double> machine_busy_seconds();

/// The bench's own CPU seconds (user + system, all threads).
double own_cpu_seconds();

/// Raises the soft limit of open files to the hard limit; returns the limit now in force.
std::uint64_t raise_open_file_limit();

} // namespace tinychat::bench
