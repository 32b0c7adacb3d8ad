// tinychat-bench: a load generator for any server that speaks tinychat protocol v1. It
// measures throughput, fan-out, latency, idle connections and churn, and checks every frame it
// receives against the protocol's ordering rules; see usage_text() in options.cpp.

#include "options.hpp"
#include "proc_stats.hpp"
#include "report.hpp"
#include "scenarios.hpp"

#include <csignal>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

namespace {

using namespace tinychat::bench;

// The command as typed, without the flags that only say where and how to print.
std::string label_of(const std::vector<std::string>& args) {
  std::string out = "tinychat-bench";
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--url" || a == "--server-pid" || a == "--store-pid" || a == "--label") {
      ++i;
      continue;
    }
    if (a == "--json" || a == "--tsv" || a == "--markdown-row") continue;
    out += " " + a;
  }
  return out;
}

} // namespace

int main(int argc, char** argv) {
  // A server that goes away mid-write must produce EPIPE, not end the bench.
  std::signal(SIGPIPE, SIG_IGN);
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (wants_help(args)) {
    std::fputs(usage_text().c_str(), stdout);
    return 0;
  }
  Options options;
  try {
    options = parse_options(args);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "tinychat-bench: %s\nTry 'tinychat-bench --help'.\n", e.what());
    return 2;
  }
  if (options.label.empty()) options.label = label_of(args);

  const std::uint64_t open_files = raise_open_file_limit();
  const std::uint64_t needed = options.scenario == Scenario::idle ? options.connections
                               : options.scenario == Scenario::churn
                                   ? options.connections + options.rooms
                                   : std::uint64_t{options.rooms} * options.members;
  if (needed + 64 > open_files)
    std::fprintf(stderr, "tinychat-bench: warning: %llu connections but only %llu open files\n",
                 static_cast<unsigned long long>(needed),
                 static_cast<unsigned long long>(open_files));

  Results results;
  try {
    std::vector<Endpoint> endpoints;
    for (const auto& url : options.urls)
      endpoints.push_back(resolve_ws_url(url));
    switch (options.scenario) {
    case Scenario::ingress:
    case Scenario::fanout:
    case Scenario::latency:
    case Scenario::flood:
      results = run_traffic(options, endpoints);
      break;
    case Scenario::idle:
      results = run_idle(options, endpoints);
      break;
    case Scenario::churn:
      results = run_churn(options, endpoints);
      break;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tinychat-bench: %s\n", e.what());
    return 1;
  }
  results.label = options.label;
  if (options.json) print_json(results);
  if (options.tsv) print_tsv(results);
  if (options.markdown_row) print_markdown_row(results);
  if (!options.json && !options.tsv && !options.markdown_row) print_table(results);
  if (results.failed())
    std::fprintf(stderr, "tinychat-bench: %s FAILED its checks\n", results.scenario.c_str());
  return results.failed() ? 1 : 0;
}
