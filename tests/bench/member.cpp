// What a member does with each frame (the checks), and the senders' and pingers' timers.
// Everything here runs on the member's I/O thread.

#include "run_state.hpp"

#include <boost/asio/post.hpp>

#include <random>

namespace tinychat::bench {

namespace {

constexpr auto tick_interval = std::chrono::milliseconds(1);

// Raises `target` to at least `value`; several senders of a room may ack at once.
void raise_to(std::atomic<std::uint64_t>& target, std::uint64_t value) {
  std::uint64_t seen = target.load(std::memory_order_relaxed);
  while (seen < value && !target.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}

void on_message(Member& m, const FrameFields& f, Clock::time_point now) {
  ThreadStats& stats = *m.stats;
  // Each member joined one room: a message must carry its seq, client_seq and that room.
  if (!f.has_seq || !f.has_client_seq || f.room_id != m.room->id) {
    stats.bad_frames.add();
    return;
  }
  stats.deliveries.add();
  // seq must be exactly the previous one + 1, starting after the joined reply's last_seq.
  const std::uint64_t last = m.last_seq.load(std::memory_order_relaxed);
  if (f.seq <= last) {
    (f.seq == last ? stats.duplicates : stats.reordered).add();
    return;
  }
  if (f.seq != last + 1) {
    stats.gaps.add();
    stats.missing.add(f.seq - last - 1);
  }
  m.last_seq.store(f.seq, std::memory_order_relaxed);

  const auto found = m.room->sender_index.find(f.user_id);
  if (found == m.room->sender_index.end()) {
    stats.foreign.add(); // someone else's message in the room: seq-checked only
    return;
  }
  // One sender's messages arrive in its client_seq order.
  std::uint64_t& last_client_seq = m.last_client_seq[found->second];
  if (f.client_seq <= last_client_seq) stats.reordered.add();
  last_client_seq = f.client_seq;
  const Sender& s = *m.room->senders[found->second];
  if (s.member->node != m.node) stats.cross_node.add();
  if (f.client_seq == 0 || f.client_seq > s.budget) return;
  const std::int64_t sent_at = s.sent_at[f.client_seq - 1].load(std::memory_order_relaxed);
  const std::int64_t received_at = to_ns(now);
  if (m.run->phase.measured(sent_at) && received_at >= sent_at)
    stats.latency.record(static_cast<std::uint64_t>(received_at - sent_at));
}

// A `sent` reply or an error reply to a send: replies come in request order, so it answers
// the oldest unanswered send.
void on_send_reply(Member& m, const FrameFields& f, Clock::time_point now) {
  ThreadStats& stats = *m.stats;
  Sender* s = m.sender;
  if (!s || s->in_flight.load(std::memory_order_relaxed) == 0) {
    stats.error(f.type == "sent" ? "unrequested sent" : f.code);
    return;
  }
  s->in_flight.store(s->in_flight.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  const std::uint64_t client_seq = s->oldest++;
  if (f.type == "sent") {
    stats.accepted.add();
    if (f.client_seq != client_seq || f.seq <= s->last_ack_seq) stats.reordered.add();
    s->last_ack_seq = std::max(s->last_ack_seq, f.seq);
    raise_to(m.room->max_acked_seq, f.seq);
    const std::int64_t sent_at = s->sent_at[client_seq - 1].load(std::memory_order_relaxed);
    if (m.run->phase.measured(sent_at))
      stats.ack_latency.record(static_cast<std::uint64_t>(to_ns(now) - sent_at));
  } else {
    stats.error(f.code);
  }
  pump(*m.run, *s, now);
}

// Presence events are counted by each room's first member only (churn's host): one writer.
void on_presence(Member& m, bool joined) {
  if (&m != m.room->members.front()) return;
  (joined ? m.room->joined_events : m.room->left_events).add();
}

void tick(Run& run, Pacer& pacer) {
  if (!run.phase.sending) return;
  const auto now = Clock::now();
  for (Sender* s : pacer.senders)
    pump(run, *s, now);
  pacer.next_tick += tick_interval;
  if (pacer.next_tick < now) pacer.next_tick = now + tick_interval;
  pacer.timer.expires_at(pacer.next_tick);
  pacer.timer.async_wait([&run, &pacer](boost::system::error_code ec) {
    if (!ec) tick(run, pacer);
  });
}

void schedule_ping(Member& m, Clock::duration delay, Clock::duration interval) {
  m.ping_timer->expires_after(delay);
  m.ping_timer->async_wait([&m, interval](boost::system::error_code ec) {
    if (ec || m.ended || !m.run->phase.sending) return;
    m.connection->send(R"({"type":"ping"})");
    m.stats->pings.add();
    schedule_ping(m, interval, interval);
  });
}

} // namespace

void Member::on_frame(Connection&, const FrameFields& f, std::string_view) {
  const auto now = Clock::now();
  if (f.type == "message")
    on_message(*this, f, now);
  else if (f.type == "sent" || (f.type == "error" && !f.has_id))
    on_send_reply(*this, f, now);
  else if (f.type == "pong")
    stats->pongs.add();
  else if (f.type == "member_joined" || f.type == "member_left")
    on_presence(*this, f.type == "member_joined");
  else if (f.type == "error")
    stats->error(f.code);
  else if (f.type.empty())
    stats->bad_frames.add();
  else
    stats->error("unexpected " + std::string(f.type)); // room_closed, or a reply never asked for
}

void Member::on_close(Connection&, std::uint16_t code, bool expected) {
  if (!expected) {
    stats->unexpected_closes.add();
    stats->error("close " + std::to_string(code));
  }
  ended = true;
}

void pump(Run& run, Sender& s, Clock::time_point now) {
  if (!run.phase.sending) return;
  std::uint64_t due = s.budget;
  if (s.rate > 0) {
    const double elapsed = std::chrono::duration<double>(now - run.phase.start).count();
    due = std::min(s.budget, static_cast<std::uint64_t>(elapsed * s.rate + s.phase));
  }
  const unsigned window = run.options.window;
  while (s.next <= due && s.in_flight.load(std::memory_order_relaxed) < window)
    send_next(run, s, now);
  if (s.next > s.budget) s.exhausted = true;
}

void start_sending(Run& run) {
  for (std::size_t t = 0; t < run.threads.size(); ++t)
    run.pacers.emplace_back(run.threads.at(t));
  for (Sender& s : run.senders)
    for (std::size_t t = 0; t < run.threads.size(); ++t)
      if (s.member->ioc == &run.threads.at(t)) run.pacers[t].senders.push_back(&s);
  for (Pacer& pacer : run.pacers) {
    net::post(pacer.timer.get_executor(), [&run, &pacer] {
      if (run.options.rate > 0) {
        pacer.next_tick = Clock::now();
        tick(run, pacer);
      } else {
        // Unpaced: fill each window now; every reply sends the next.
        for (Sender* s : pacer.senders)
          pump(run, *s, Clock::now());
      }
    });
  }
}

void start_pinging(Run& run, Clock::duration interval) {
  std::mt19937_64 random(std::random_device{}());
  std::uniform_int_distribution<Clock::rep> first(0, interval.count());
  for (Member& m : run.members) {
    m.ping_timer = std::make_unique<net::steady_timer>(*m.ioc);
    const Clock::duration delay(first(random));
    net::post(*m.ioc, [&m, delay, interval] { schedule_ping(m, delay, interval); });
  }
}

} // namespace tinychat::bench
