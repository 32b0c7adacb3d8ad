#include "report.hpp"

#include <algorithm>
#include <cstdio>
#include <string>
#include <thread>

namespace tinychat::bench {

namespace {

double ms(std::uint64_t ns) { return static_cast<double>(ns) / 1e6; }

std::string errors_text(const Results& r) {
  if (r.errors.empty()) return "0";
  std::string out;
  for (const auto& [code, count] : r.errors)
    out += (out.empty() ? "" : ", ") + code + " " + std::to_string(count);
  return out;
}

// The errors and every failed check, for a table cell.
std::string problems_text(const Results& r) {
  std::string out = r.errors.empty() ? "" : errors_text(r);
  const std::pair<const char*, std::uint64_t> checks[] = {
      {"gaps", r.gaps},
      {"duplicates", r.duplicates},
      {"reordered", r.reordered},
      {"lost", r.lost},
      {"unacked", r.unacked},
      {"bad frames", r.bad_frames},
      {"presence mismatches", r.presence_mismatches}};
  for (const auto& [name, count] : checks)
    if (count > 0)
      out += (out.empty() ? "" : ", ") + std::string(name) + " " + std::to_string(count);
  return out.empty() ? "0" : "FAILED: " + out;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\')
      out += {'\\', c};
    else if (static_cast<unsigned char>(c) < 0x20)
      out += ' ';
    else
      out += c;
  }
  return out + "\"";
}

// Server memory per connection above what it used before the bench connected; -1 unknown.
double rss_per_connection_kib(const Results& r) {
  if (!r.server || r.connections == 0) return -1;
  const auto grown = r.server->rss_kib - std::min(r.server->rss_kib, r.server->baseline_rss_kib);
  return static_cast<double>(grown) / static_cast<double>(r.connections);
}

// The figures every format shares, as (name, value) in a fixed order.
std::vector<std::pair<std::string, double>> figures(const Results& r) {
  std::vector<std::pair<std::string, double>> f = {
      {"seconds", r.seconds},
      {"offered_per_s", r.offered_rate},
      {"sent_per_s", r.sent_rate},
      {"accepted_per_s", r.accepted_rate},
      {"deliveries_per_s", r.delivery_rate},
      {"p50_ms", ms(r.latency.percentile(0.50))},
      {"p90_ms", ms(r.latency.percentile(0.90))},
      {"p99_ms", ms(r.latency.percentile(0.99))},
      {"max_ms", ms(r.latency.max())},
      {"latency_samples", static_cast<double>(r.latency.count())},
      {"ack_p50_ms", ms(r.ack_latency.percentile(0.50))},
      {"ack_p99_ms", ms(r.ack_latency.percentile(0.99))},
      {"errors", static_cast<double>(r.error_count())},
      {"gaps", static_cast<double>(r.gaps)},
      {"duplicates", static_cast<double>(r.duplicates)},
      {"reordered", static_cast<double>(r.reordered)},
      {"lost", static_cast<double>(r.lost)},
      {"unacked", static_cast<double>(r.unacked)},
      {"unexpected_closes", static_cast<double>(r.unexpected_closes)},
      {"connections", static_cast<double>(r.connections)},
      {"cycles", static_cast<double>(r.cycles)},
      {"pings", static_cast<double>(r.pings)},
      {"pongs", static_cast<double>(r.pongs)},
      {"bench_cpu_percent", r.bench_cpu_percent},
      {"machine_cpu_percent", r.machine_cpu_percent},
      {"server_cpu_percent", r.server ? r.server->cpu_percent : -1},
      {"server_rss_mib", r.server ? static_cast<double>(r.server->rss_kib) / 1024 : -1},
      {"server_rss_kib_per_connection", rss_per_connection_kib(r)},
      {"nodes", static_cast<double>(r.nodes)},
      {"cross_node_deliveries_per_s", r.cross_node_rate},
      {"store_cpu_percent", r.store ? r.store->cpu_percent : -1},
      {"store_rss_mib", r.store ? static_cast<double>(r.store->rss_kib) / 1024 : -1},
      {"failed", r.failed() ? 1 : 0},
  };
  // Each server's own figures when there are several (server1_..., in --server-pid order).
  if (r.servers.size() > 1)
    for (std::size_t i = 0; i < r.servers.size(); ++i) {
      const std::string n = "server" + std::to_string(i + 1);
      f.emplace_back(n + "_cpu_percent", r.servers[i].cpu_percent);
      f.emplace_back(n + "_rss_mib", static_cast<double>(r.servers[i].rss_kib) / 1024);
    }
  return f;
}

std::string rate_text(double rate) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", rate);
  return buf;
}

} // namespace

std::uint64_t Results::error_count() const {
  std::uint64_t n = 0;
  for (const auto& [code, count] : errors)
    n += count;
  return n;
}

bool Results::failed() const {
  return error_count() > 0 || gaps > 0 || duplicates > 0 || reordered > 0 || lost > 0 ||
         unacked > 0 || unexpected_closes > 0 || bad_frames > 0 || presence_mismatches > 0;
}

void print_table(const Results& r) {
  std::printf("tinychat-bench %s: %s\n", r.scenario.c_str(), r.shape.c_str());
  std::printf("  measured            %.1f s\n", r.seconds);
  if (r.scenario == "idle") {
    std::printf("  connections         %llu\n", static_cast<unsigned long long>(r.connections));
    std::printf("  pings / pongs       %llu / %llu\n", static_cast<unsigned long long>(r.pings),
                static_cast<unsigned long long>(r.pongs));
  } else if (r.scenario == "churn") {
    std::printf("  cycles              %llu (%.0f/s)\n", static_cast<unsigned long long>(r.cycles),
                r.accepted_rate);
  } else {
    std::printf("  offered             %s\n", r.offered_rate > 0
                                                  ? (rate_text(r.offered_rate) + " msgs/s").c_str()
                                                  : "unpaced (each sender keeps its window full)");
    std::printf("  sent                %.0f msgs/s\n", r.sent_rate);
    std::printf("  accepted            %.0f msgs/s (%llu)\n", r.accepted_rate,
                static_cast<unsigned long long>(r.accepted));
    std::printf("  deliveries          %.0f /s (%llu)\n", r.delivery_rate,
                static_cast<unsigned long long>(r.deliveries));
    if (r.nodes > 1)
      std::printf("  across servers      %.0f /s (%llu): to a member on another of the %u "
                  "servers than the sender\n",
                  r.cross_node_rate, static_cast<unsigned long long>(r.cross_node), r.nodes);
  }
  if (r.latency.count() > 0)
    std::printf("  %-8s latency    p50 %.2f  p90 %.2f  p99 %.2f  max %.2f ms (%llu samples)\n",
                r.latency_of.c_str(), ms(r.latency.percentile(0.5)), ms(r.latency.percentile(0.9)),
                ms(r.latency.percentile(0.99)), ms(r.latency.max()),
                static_cast<unsigned long long>(r.latency.count()));
  if (r.ack_latency.count() > 0)
    std::printf("  ack latency         p50 %.2f  p99 %.2f  max %.2f ms\n",
                ms(r.ack_latency.percentile(0.5)), ms(r.ack_latency.percentile(0.99)),
                ms(r.ack_latency.max()));
  std::printf("  errors              %s\n", errors_text(r).c_str());
  std::printf("  checks              gaps %llu (missing %llu), duplicates %llu, reordered %llu, "
              "lost %llu, unacked %llu, unexpected closes %llu, bad frames %llu\n",
              static_cast<unsigned long long>(r.gaps), static_cast<unsigned long long>(r.missing),
              static_cast<unsigned long long>(r.duplicates),
              static_cast<unsigned long long>(r.reordered), static_cast<unsigned long long>(r.lost),
              static_cast<unsigned long long>(r.unacked),
              static_cast<unsigned long long>(r.unexpected_closes),
              static_cast<unsigned long long>(r.bad_frames));
  if (r.server) {
    std::printf("  server              CPU %.0f%% (user %.1f s, sys %.1f s), RSS %.1f MiB "
                "(peak %.1f, before %.1f)\n",
                r.server->cpu_percent, r.server->user_seconds, r.server->system_seconds,
                static_cast<double>(r.server->rss_kib) / 1024,
                static_cast<double>(r.server->peak_kib) / 1024,
                static_cast<double>(r.server->baseline_rss_kib) / 1024);
    if (r.connections > 0 && r.scenario == "idle")
      std::printf("  server RSS/conn     %.1f KiB\n", rss_per_connection_kib(r));
  }
  if (r.servers.size() > 1)
    for (std::size_t i = 0; i < r.servers.size(); ++i)
      std::printf("  server %-2zu           CPU %.0f%% (user %.1f s, sys %.1f s), RSS %.1f MiB\n",
                  i + 1, r.servers[i].cpu_percent, r.servers[i].user_seconds,
                  r.servers[i].system_seconds, static_cast<double>(r.servers[i].rss_kib) / 1024);
  if (r.store)
    std::printf("  store               CPU %.0f%% (user %.1f s, sys %.1f s), RSS %.1f MiB\n",
                r.store->cpu_percent, r.store->user_seconds, r.store->system_seconds,
                static_cast<double>(r.store->rss_kib) / 1024);
  std::printf("  bench CPU           %.0f%%\n", r.bench_cpu_percent);
  if (r.machine_cpu_percent >= 0)
    std::printf("  machine CPU         %.0f%% of %u%% (every process)\n", r.machine_cpu_percent,
                100 * std::max(1u, std::thread::hardware_concurrency()));
  for (const auto& note : r.notes)
    std::printf("  note: %s\n", note.c_str());
  std::printf("  result              %s\n", r.failed() ? "FAILED" : "ok");
}

void print_json(const Results& r) {
  std::printf("{\"scenario\":%s,\"shape\":%s,\"label\":%s,\"latency_of\":%s",
              json_string(r.scenario).c_str(), json_string(r.shape).c_str(),
              json_string(r.label).c_str(), json_string(r.latency_of).c_str());
  for (const auto& [name, value] : figures(r))
    std::printf(",\"%s\":%.6g", name.c_str(), value);
  std::printf(",\"missing\":%llu,\"bad_frames\":%llu,\"presence_mismatches\":%llu",
              static_cast<unsigned long long>(r.missing),
              static_cast<unsigned long long>(r.bad_frames),
              static_cast<unsigned long long>(r.presence_mismatches));
  std::printf(",\"presign_exhausted\":%s,\"error_codes\":{",
              r.presign_exhausted ? "true" : "false");
  bool first = true;
  for (const auto& [code, count] : r.errors) {
    std::printf("%s%s:%llu", first ? "" : ",", json_string(code).c_str(),
                static_cast<unsigned long long>(count));
    first = false;
  }
  std::printf("},\"notes\":[");
  for (std::size_t i = 0; i < r.notes.size(); ++i)
    std::printf("%s%s", i ? "," : "", json_string(r.notes[i]).c_str());
  std::printf("]}\n");
}

void print_tsv(const Results& r) {
  const auto f = figures(r);
  std::printf("scenario\tlabel");
  for (const auto& [name, value] : f)
    std::printf("\t%s", name.c_str());
  std::printf("\n%s\t%s", r.scenario.c_str(), r.label.c_str());
  for (const auto& [name, value] : f)
    std::printf("\t%.6g", value);
  std::printf("\n");
}

void print_markdown_row(const Results& r) {
  const auto count = [](std::uint64_t n) { return std::to_string(n); };
  std::string offered, achieved, deliveries = "-", latency = "-";
  if (r.scenario == "idle") {
    offered = count(r.connections) + " connections";
    achieved = count(r.connections - std::min(r.connections, r.unexpected_closes)) + " held";
  } else if (r.scenario == "churn") {
    offered = count(r.connections) + " at once";
    achieved = rate_text(r.accepted_rate) + " cycles/s";
  } else {
    offered = r.offered_rate > 0 ? rate_text(r.offered_rate) : "max";
    achieved = rate_text(r.accepted_rate);
    deliveries = rate_text(r.delivery_rate);
  }
  if (r.latency.count() > 0) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "%.2f / %.2f / %.2f / %.2f", ms(r.latency.percentile(0.5)),
                  ms(r.latency.percentile(0.9)), ms(r.latency.percentile(0.99)),
                  ms(r.latency.max()));
    latency = buf;
  }
  std::string cpu = "-", rss = "-";
  if (r.server) {
    cpu = rate_text(r.server->cpu_percent) + " %";
    if (r.servers.size() > 1) {
      std::string each;
      for (const auto& s : r.servers)
        each += (each.empty() ? "" : " + ") + rate_text(s.cpu_percent);
      cpu += " (" + each + ")";
    }
    rss = rate_text(static_cast<double>(r.server->rss_kib) / 1024) + " MiB";
    if (r.scenario == "idle") rss += " (" + rate_text(rss_per_connection_kib(r)) + " KiB/conn)";
  }
  const std::string errors = problems_text(r);
  std::printf("| %s | `%s` | %s | %s | %s | %s | %s | %s | %s |\n", r.scenario.c_str(),
              r.label.c_str(), offered.c_str(), achieved.c_str(), deliveries.c_str(),
              latency.c_str(), errors.c_str(), cpu.c_str(), rss.c_str());
}

} // namespace tinychat::bench
