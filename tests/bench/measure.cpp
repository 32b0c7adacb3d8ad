#include "measure.hpp"

#include "proc_stats.hpp"

#include <boost/asio/post.hpp>

#include <thread>

namespace tinychat::bench {

Clock::duration seconds_of(double seconds) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

void sleep_until(Clock::time_point t) { std::this_thread::sleep_until(t); }

std::pair<Snapshot, Snapshot> measure_window(Phase& phase,
                                             const std::vector<std::unique_ptr<ThreadStats>>& stats,
                                             double warmup, double duration, pid_t server_pid) {
  sleep_until(phase.start + seconds_of(warmup));
  Snapshot a = take_snapshot(stats, server_pid);
  phase.measure_from = to_ns(a.time);
  sleep_until(a.time + seconds_of(duration));
  phase.measure_until = to_ns(Clock::now());
  Snapshot b = take_snapshot(stats, server_pid);
  phase.sending = false;
  return {a, b};
}

Snapshot take_snapshot(const std::vector<std::unique_ptr<ThreadStats>>& stats, pid_t server_pid) {
  Snapshot s;
  s.time = Clock::now();
  for (const auto& t : stats) {
    s.sends += t->sends.get();
    s.accepted += t->accepted.get();
    s.deliveries += t->deliveries.get();
    s.cycles += t->cycles.get();
  }
  s.own_cpu = own_cpu_seconds();
  if (server_pid > 0) {
    if (const auto p = sample_process(server_pid)) {
      s.server_cpu = p->cpu_seconds;
      s.server_user = p->user_seconds;
      s.server_system = p->system_seconds;
      s.server_rss_kib = p->rss_kib;
      s.server_peak_kib = p->peak_kib;
    }
  }
  return s;
}

std::uint64_t server_rss_kib(pid_t server_pid) {
  if (server_pid <= 0) return 0;
  const auto p = sample_process(server_pid);
  return p ? p->rss_kib : 0;
}

void fill_rates(Results& r, const Snapshot& a, const Snapshot& b, std::uint64_t baseline_rss_kib) {
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
  r.cycles = b.cycles - a.cycles;
  if (r.scenario == "churn") r.accepted_rate = per_second(r.cycles);
  r.bench_cpu_percent = seconds > 0 ? 100 * (b.own_cpu - a.own_cpu) / seconds : 0;
  if (a.server_cpu && b.server_cpu) {
    ServerUsage u;
    u.cpu_percent = seconds > 0 ? 100 * (*b.server_cpu - *a.server_cpu) / seconds : 0;
    u.user_seconds = *b.server_user - *a.server_user;
    u.system_seconds = *b.server_system - *a.server_system;
    u.rss_kib = b.server_rss_kib;
    u.peak_kib = b.server_peak_kib;
    u.baseline_rss_kib = baseline_rss_kib;
    r.server = u;
  }
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
  for (const Room& room : run.rooms) {
    const std::uint64_t acked = room.max_acked_seq.load();
    for (const Member* m : room.members)
      if (!m->ended && m->last_seq.load() < acked) r.lost += acked - m->last_seq.load();
  }
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
