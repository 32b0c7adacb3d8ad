#include "proc_stats.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace tinychat::bench {

namespace {

// "VmRSS:     1234 kB" -> 1234
std::uint64_t status_kib(const std::string& status, const std::string& key) {
  const auto at = status.find(key + ":");
  if (at == std::string::npos) return 0;
  std::istringstream in(status.substr(at + key.size() + 1));
  std::uint64_t kib = 0;
  in >> kib;
  return kib;
}

} // namespace

std::optional<ProcSample> sample_process(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  std::ifstream stat_file(dir + "/stat");
  std::string stat;
  if (!std::getline(stat_file, stat)) return std::nullopt;
  // The command name in parentheses may hold spaces: fields are counted after its ')'.
  const auto paren = stat.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(paren + 1));
  std::string field;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  // After ')': state is field 3; utime and stime are fields 14 and 15.
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  std::ifstream status_file(dir + "/status");
  std::stringstream status;
  status << status_file.rdbuf();

  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  ProcSample out;
  out.user_seconds = static_cast<double>(utime) / ticks;
  out.system_seconds = static_cast<double>(stime) / ticks;
  out.cpu_seconds = out.user_seconds + out.system_seconds;
  out.rss_kib = status_kib(status.str(), "VmRSS");
  out.peak_kib = status_kib(status.str(), "VmHWM");
  return out;
}

std::optional<double> machine_busy_seconds() {
  std::ifstream stat_file("/proc/stat");
  std::string cpu;
  unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                     steal = 0;
  if (!(stat_file >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal) ||
      cpu != "cpu")
    return std::nullopt;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  return static_cast<double>(user + nice + system + irq + softirq + steal) / ticks;
}

double own_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::uint64_t raise_open_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  return static_cast<std::uint64_t>(limit.rlim_cur);
}

} // namespace tinychat::bench
