// The room scenarios from the main thread: ingress, fanout and latency (signed traffic) and
// idle (joined connections that only ping).

#include "scenarios.hpp"

#include "abusers.hpp"
#include "measure.hpp"

#include <cmath>
#include <cstdio>
#include <optional>

namespace tinychat::bench {

namespace {

std::string plural(std::uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// Pre-signed messages per sender: the paced schedule (or --presign-rate) over warm-up and
// measured phase, plus margin for the window and the schedule's rounding.
std::uint64_t budget_of(const Options& o, double sender_rate, std::size_t senders) {
  const double seconds = o.warmup + o.duration;
  const double rate = sender_rate > 0 ? sender_rate : o.presign_rate / static_cast<double>(senders);
  return static_cast<std::uint64_t>(std::ceil(rate * seconds * 1.05)) + o.window + 16;
}

void log(const char* format, double a, double b = 0) {
  std::fprintf(stderr, format, a, b);
  std::fflush(stderr);
}

} // namespace

Results run_traffic(const Options& o, const std::vector<Endpoint>& endpoints) {
  Results r;
  r.scenario = scenario_name(o.scenario);
  r.offered_rate = o.rate;
  r.shape = plural(o.rooms, "room", "rooms") + " x " + plural(o.members, "member", "members") +
            ", " + plural(o.senders, "sender", "senders") + (o.rooms > 1 ? " each" : "") + ", " +
            std::to_string(o.text_bytes) + "-byte texts, window " + std::to_string(o.window);
  Run run(o, endpoints);
  r.nodes = static_cast<unsigned>(endpoints.size());
  const std::vector<std::uint64_t> baseline = baseline_rss(o);
  const auto setup_start = Clock::now();
  set_up_rooms(run, o.rooms, o.members, o.senders);
  r.connections = run.members.size();
  log("tinychat-bench: %.0f connections joined in %.1f s\n", static_cast<double>(r.connections),
      std::chrono::duration<double>(Clock::now() - setup_start).count());

  const std::size_t sender_count = run.senders.size();
  const double sender_rate = o.rate / static_cast<double>(sender_count);
  std::size_t i = 0;
  for (Sender& s : run.senders) {
    s.rate = sender_rate;
    s.phase = static_cast<double>(i++) / static_cast<double>(sender_count);
    s.budget = budget_of(o, sender_rate, sender_count);
  }
  const auto sign_start = Clock::now();
  presign(run);
  log("tinychat-bench: %.0f messages signed in %.1f s\n",
      static_cast<double>(run.senders.front().budget * sender_count),
      std::chrono::duration<double>(Clock::now() - sign_start).count());

  std::optional<Abusers> abusers;
  if (o.abusers > 0) {
    abusers.emplace(run, o.abusers, create_room(run));
    abusers->start();
  }
  run.phase.start = Clock::now();
  run.phase.sending = true;
  start_sending(run);
  const auto [a, b] = measure_window(run.phase, run.stats, o);

  drain(run, o.drain, r);
  if (abusers) {
    abusers->stop(10);
    const double frames = static_cast<double>(abusers->frames());
    r.shape += ", " + plural(o.abusers, "abuser", "abusers") + " flooding another room";
    r.notes.push_back(
        "abusers sent " + std::to_string(static_cast<std::uint64_t>(frames)) + " frames (" +
        std::to_string(static_cast<std::uint64_t>(frames / (o.warmup + o.duration + o.drain))) +
        "/s over the run)");
    for (auto& row : abusers->summary())
      r.notes.push_back(std::move(row));
  }
  close_all(run, 10);
  run.threads.stop();
  fill_rates(r, a, b, baseline);
  merge_stats(r, run.stats);
  for (const Sender& s : run.senders)
    r.presign_exhausted = r.presign_exhausted || s.exhausted;
  if (r.presign_exhausted && o.rate > 0)
    r.notes.push_back("the schedule ran past the pre-signed messages (warm-up timing)");
  else if (r.presign_exhausted)
    r.notes.push_back("senders ran out of pre-signed messages: the server may be faster than "
                      "--presign-rate; raise it");
  if (o.rate > 0 && r.sent_rate < 0.95 * o.rate)
    r.notes.push_back("sent below the offered rate: the window (--window) was full, so the "
                      "server did not keep up");
  return r;
}

Results run_idle(const Options& o, const std::vector<Endpoint>& endpoints) {
  Results r;
  r.scenario = "idle";
  r.latency_of = "none";
  r.shape = plural(o.connections, "connection", "connections") + " in " +
            plural(o.rooms, "room", "rooms") + ", a ping every " +
            std::to_string(static_cast<int>(o.ping_interval)) + " s each";
  Run run(o, endpoints);
  r.nodes = static_cast<unsigned>(endpoints.size());
  const std::vector<std::uint64_t> baseline = baseline_rss(o);
  const auto setup_start = Clock::now();
  set_up_rooms(run, o.rooms, o.members, 0, o.connections);
  r.connections = run.members.size();
  log("tinychat-bench: %.0f connections joined in %.1f s\n", static_cast<double>(r.connections),
      std::chrono::duration<double>(Clock::now() - setup_start).count());

  run.phase.sending = true;
  const Snapshot a = take_snapshot(run.stats, o);
  start_pinging(run, seconds_of(o.ping_interval));
  sleep_until(a.time + seconds_of(o.duration));
  const Snapshot b = take_snapshot(run.stats, o);
  run.phase.sending = false; // no new pings; wait for the answers to those sent
  // A ping timer that saw `sending` still set may be sending now: let it count its ping.
  wait_for_io_threads(run);
  const auto deadline = Clock::now() + seconds_of(o.drain);
  const auto pongs_missing = [&run] {
    std::uint64_t pings = 0, pongs = 0;
    for (const auto& t : run.stats) {
      pings += t->pings.get();
      pongs += t->pongs.get();
    }
    return pongs < pings;
  };
  while (pongs_missing() && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));

  close_all(run, 10);
  run.threads.stop();
  fill_rates(r, a, b, baseline);
  merge_stats(r, run.stats);
  if (r.pongs < r.pings) r.errors["missing pong"] += r.pings - r.pongs;
  return r;
}

} // namespace tinychat::bench
