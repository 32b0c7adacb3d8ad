#include "measure.hpp"

#include <boost/asio/post.hpp>

#include <future>
#include <thread>

namespace tinychat::bench {

Clock::duration seconds_of(double seconds) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

void sleep_until(Clock::time_point t) { std::this_thread::sleep_until(t); }

std::pair<Snapshot, Snapshot> measure_window(Phase& phase,
                                             const std::vector<std::unique_ptr<ThreadStats>>& stats,
                                             const Options& options) {
  sleep_until(phase.start + seconds_of(options.warmup));
  Snapshot a = take_snapshot(stats, options);
  phase.measure_from = to_ns(a.time);
  sleep_until(a.time + seconds_of(options.duration));
  phase.measure_until = to_ns(Clock::now());
  Snapshot b = take_snapshot(stats, options);
  phase.sending = false;
  return {a, b};
}

Snapshot take_snapshot(const std::vector<std::unique_ptr<ThreadStats>>& stats,
                       const Options& options) {
  Snapshot s;
  s.time = Clock::now();
  for (const auto& t : stats) {
    s.sends += t->sends.get();
    s.accepted += t->accepted.get();
    s.deliveries += t->deliveries.get();
    s.cross_node += t->cross_node.get();
    s.cycles += t->cycles.get();
  }
  s.own_cpu = own_cpu_seconds();
  s.machine_busy = machine_busy_seconds();
  for (const pid_t pid : options.server_pids)
    s.servers.push_back(sample_process(pid));
  if (options.store_pid > 0) s.store = sample_process(options.store_pid);
  return s;
}

std::vector<std::uint64_t> baseline_rss(const Options& options) {
  const auto rss = [](pid_t pid) -> std::uint64_t {
    const auto p = pid > 0 ? sample_process(pid) : std::nullopt;
    return p ? p->rss_kib : 0;
  };
  std::vector<std::uint64_t> out;
  for (const pid_t pid : options.server_pids)
    out.push_back(rss(pid));
  out.push_back(rss(options.store_pid));
  return out;
}

namespace {

// A process's use over [a, b]; nullopt when either reading is missing.
std::optional<ServerUsage> usage_of(const std::optional<ProcSample>& a,
                                    const std::optional<ProcSample>& b, double seconds,
                                    std::uint64_t baseline_rss_kib) {
  if (!a || !b) return std::nullopt;
  ServerUsage u;
  u.cpu_percent = seconds > 0 ? 100 * (b->cpu_seconds - a->cpu_seconds) / seconds : 0;
  u.user_seconds = b->user_seconds - a->user_seconds;
  u.system_seconds = b->system_seconds - a->system_seconds;
  u.rss_kib = b->rss_kib;
  u.peak_kib = b->peak_kib;
  u.baseline_rss_kib = baseline_rss_kib;
  return u;
}

} // namespace

void fill_rates(Results& r, const Snapshot& a, const Snapshot& b,
                const std::vector<std::uint64_t>& baseline) {
  const double seconds = std::chrono::duration<double>(b.time - a.time).count();
  r.seconds = seconds;
  const auto per_second = [seconds](std::uint64_t n) {
    return seconds > 0 ? static_cast<double>(n) / seconds : 0.0;
  };
  r.sent_rate = per_second(b.sends - a.sends);
  r.accepted = b.accepted - a.accepted;
  r.deliveries = b.deliveries - a.deliveries;
  r.accepted_rate = per_second(r.accepted);
  r.delivery_rate = per_second(r.deliveries);
  r.cross_node = b.cross_node - a.cross_node;
  r.cross_node_rate = per_second(r.cross_node);
  r.cycles = b.cycles - a.cycles;
  if (r.scenario == "churn") r.accepted_rate = per_second(r.cycles);
  r.bench_cpu_percent = seconds > 0 ? 100 * (b.own_cpu - a.own_cpu) / seconds : 0;
  if (a.machine_busy && b.machine_busy && seconds > 0)
    r.machine_cpu_percent = 100 * (*b.machine_busy - *a.machine_busy) / seconds;
  // The servers' sum, when every one of them could be read at both ends.
  const std::size_t count = std::min(a.servers.size(), b.servers.size());
  ServerUsage sum;
  bool all = count > 0;
  for (std::size_t i = 0; i < count; ++i) {
    const auto u = usage_of(a.servers[i], b.servers[i], seconds, baseline.at(i));
    if (!u) {
      all = false;
      continue;
    }
    r.servers.push_back(*u);
    sum.cpu_percent += u->cpu_percent;
    sum.user_seconds += u->user_seconds;
    sum.system_seconds += u->system_seconds;
    sum.rss_kib += u->rss_kib;
    sum.peak_kib += u->peak_kib;
    sum.baseline_rss_kib += u->baseline_rss_kib;
  }
  if (all) r.server = sum;
  r.store = usage_of(a.store, b.store, seconds, baseline.back());
}

void merge_stats(Results& r, const std::vector<std::unique_ptr<ThreadStats>>& stats) {
  std::uint64_t foreign = 0;
  for (const auto& t : stats) {
    r.latency.merge(t->latency);
    r.ack_latency.merge(t->ack_latency);
    for (const auto& [code, count] : t->error_codes)
      r.errors[code] += count;
    r.gaps += t->gaps.get();
    r.missing += t->missing.get();
    r.duplicates += t->duplicates.get();
    r.reordered += t->reordered.get();
    r.bad_frames += t->bad_frames.get();
    r.unexpected_closes += t->unexpected_closes.get();
    r.pings += t->pings.get();
    r.pongs += t->pongs.get();
    foreign += t->foreign.get();
  }
  if (foreign > 0)
    r.notes.push_back(std::to_string(foreign) + " messages from users the bench did not start");
}

void drain(Run& run, double seconds, Results& r) {
  const auto deadline = Clock::now() + seconds_of(seconds);
  const auto settled = [&run] {
    for (const Sender& s : run.senders)
      if (s.in_flight.load() > 0 && !s.member->ended) return false;
    for (const Room& room : run.rooms) {
      const std::uint64_t acked = room.max_acked_seq.load();
      for (const Member* m : room.members)
        if (!m->ended && m->last_seq.load() < acked) return false;
    }
    return true;
  };
  while (!settled() && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  for (const Sender& s : run.senders)
    r.unacked += s.in_flight.load();
  std::vector<std::uint64_t> lost_by_node(run.endpoints.size());
  for (const Room& room : run.rooms) {
    const std::uint64_t acked = room.max_acked_seq.load();
    for (const Member* m : room.members)
      if (!m->ended && m->last_seq.load() < acked)
        lost_by_node[m->node] += acked - m->last_seq.load();
  }
  for (std::size_t n = 0; n < lost_by_node.size(); ++n) {
    r.lost += lost_by_node[n];
    if (lost_by_node[n] > 0 && lost_by_node.size() > 1)
      r.notes.push_back(std::to_string(lost_by_node[n]) + " acknowledged messages missing at " +
                        "members on server " + std::to_string(n + 1) + " (" + run.options.urls[n] +
                        ")");
  }
}

void wait_for_io_threads(Run& run) {
  std::vector<std::future<void>> done;
  for (std::size_t t = 0; t < run.threads.size(); ++t) {
    auto reached = std::make_shared<std::promise<void>>();
    done.push_back(reached->get_future());
    net::post(run.threads.at(t), [reached] { reached->set_value(); });
  }
  for (auto& d : done)
    d.wait();
}

void close_all(Run& run, double seconds) {
  run.phase.sending = false;
  for (Member& m : run.members)
    net::post(*m.ioc, [&m] {
      if (m.ping_timer) m.ping_timer->cancel();
      if (m.connection) m.connection->close();
    });
  const auto deadline = Clock::now() + seconds_of(seconds);
  for (const Member& m : run.members)
    while (!m.ended && Clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

} // namespace tinychat::bench
