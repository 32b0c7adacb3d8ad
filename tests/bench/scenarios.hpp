#pragma once
// The scenarios tinychat-bench runs. Each throws std::runtime_error when it cannot set up.

#include "bench_client.hpp"
#include "options.hpp"
#include "report.hpp"

#include <vector>

namespace tinychat::bench {

/// ingress, fanout and latency: signed messages into rooms, every delivery checked.
Results run_traffic(const Options& options, const std::vector<Endpoint>& endpoints);

/// idle: joined connections held with pings only.
Results run_idle(const Options& options, const std::vector<Endpoint>& endpoints);

/// churn: connect, join, leave, close, over and over.
Results run_churn(const Options& options, const std::vector<Endpoint>& endpoints);

} // namespace tinychat::bench
