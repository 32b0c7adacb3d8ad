// churn: workers that connect, join, leave and close, over and over, while a host in each
// room watches the presence events the cycles cause.

#include "measure.hpp"
#include "scenarios.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <cstdio>
#include <exception>
#include <thread>

namespace tinychat::bench {

namespace {

struct Worker {
  Worker(net::io_context& context, const Endpoint& server, ThreadStats& thread_stats,
         Room& worker_room, std::string n)
      : ioc(context), endpoint(server), stats(thread_stats), room(worker_room), name(std::move(n)),
        key(KeyPair::generate()) {}
  net::io_context& ioc;
  const Endpoint& endpoint;
  ThreadStats& stats;
  Room& room;
  std::string name;
  KeyPair key;
};

// Workers still cycling; shared with the coroutines, which may outlive a run that gave up.
struct ChurnState {
  std::atomic<std::size_t> running{0};
};

net::awaitable<void> cycle(Worker& w) {
  Connection c(w.ioc, w.endpoint);
  co_await c.open();
  const Challenge challenge = challenge_of(co_await c.read_frame());
  co_await c.write(join_request(1, w.room.id, w.name, w.key, challenge));
  co_await c.await_reply(1, "joined");
  co_await c.write(R"({"type":"leave","id":2,"room_id":")" + w.room.id + R"("})");
  co_await c.await_reply(2, "left");
  co_await c.close_and_wait();
}

net::awaitable<void> work(Run& run, std::shared_ptr<Worker> w, std::shared_ptr<ChurnState> state) {
  while (run.phase.sending) {
    const auto start = Clock::now();
    try {
      co_await cycle(*w);
      w->stats.cycles.add();
      ++w->room.cycles;
      if (run.phase.measured(to_ns(start)))
        w->stats.latency.record(static_cast<std::uint64_t>((Clock::now() - start).count()));
      continue;
    } catch (const ReplyError& e) {
      w->stats.error(e.code());
    } catch (const boost::system::system_error& e) {
      w->stats.error("connection: " + e.code().message());
    } catch (const std::exception& e) {
      w->stats.error(e.what());
    }
    // After a failure, a pause rather than a busy loop against a server in trouble.
    net::steady_timer pause(w->ioc, std::chrono::milliseconds(100));
    co_await pause.async_wait(net::use_awaitable);
  }
  --state->running;
}

} // namespace

Results run_churn(const Options& o, const std::vector<Endpoint>& endpoints) {
  Results r;
  r.scenario = "churn";
  r.latency_of = "cycle";
  r.connections = o.connections;
  r.shape = std::to_string(o.connections) + " connections at once cycling connect, join, " +
            "leave, close in " + std::to_string(o.rooms) + " rooms (each with a host member)";
  Run run(o, endpoints);
  r.nodes = static_cast<unsigned>(endpoints.size());
  const std::vector<std::uint64_t> baseline = baseline_rss(o);
  set_up_rooms(run, o.rooms, 1, 0);

  auto state = std::make_shared<ChurnState>();
  state->running = o.connections;
  run.phase.start = Clock::now();
  run.phase.sending = true;
  for (unsigned i = 0; i < o.connections; ++i) {
    net::io_context& ioc = run.threads.at(i);
    // Worker i on server i mod N; the hosts (set up above) are all on the first.
    auto w = std::make_shared<Worker>(ioc, run.endpoints[i % run.endpoints.size()],
                                      *run.stats[i % run.threads.size()],
                                      run.rooms[i % run.rooms.size()], "c" + std::to_string(i));
    net::co_spawn(ioc, work(run, w, state), [state, w](std::exception_ptr e) {
      if (e) {
        w->stats.error("worker stopped by an exception");
        --state->running;
      }
    });
  }
  const auto [a, b] = measure_window(run.phase, run.stats, o);

  // Let the cycles under way finish, then the hosts see every presence event they caused.
  const auto deadline = Clock::now() + seconds_of(o.drain);
  while (state->running > 0 && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (state->running > 0) r.errors["cycle unfinished at the end"] += state->running;
  const auto mismatches = [&run] {
    std::uint64_t n = 0;
    for (const Room& room : run.rooms) {
      const std::uint64_t cycles = room.cycles.load();
      const auto off = [cycles](std::uint64_t events) {
        return events > cycles ? events - cycles : cycles - events;
      };
      n += off(room.joined_events.get()) + off(room.left_events.get());
    }
    return n;
  };
  while (mismatches() > 0 && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));

  close_all(run, 10);
  run.threads.stop();
  fill_rates(r, a, b, baseline);
  merge_stats(r, run.stats);
  // A failed cycle may have joined without leaving cleanly: then the events cannot balance.
  if (r.error_count() == 0) r.presence_mismatches = mismatches();
  return r;
}

} // namespace tinychat::bench
