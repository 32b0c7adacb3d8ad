// Connecting and joining members, and signing messages in advance.

#include "run_state.hpp"

#include <tinychat/encoding.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <charconv>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace tinychat::bench {

namespace {

// How far set-up got; shared with the coroutines, which may outlive a set-up that timed out.
struct SetupProgress {
  std::atomic<std::size_t> done{0};
  std::atomic<std::size_t> failed{0};
  std::mutex mutex;
  std::string first_error;

  void fail(const std::string& what) {
    std::lock_guard lock(mutex);
    if (first_error.empty()) first_error = what;
    ++failed;
  }
};

struct SetupQueue {
  std::vector<Member*> members;
  std::size_t next = 0; // only touched on the queue's I/O thread
};

net::awaitable<void> join_member(Member& m, bool create) {
  m.connection = std::make_unique<Connection>(*m.ioc, m.run->endpoints.at(m.node));
  Connection& c = *m.connection;
  co_await c.open();
  const Challenge challenge = challenge_of(co_await c.read_frame());
  if (create) {
    co_await c.write(R"({"type":"create_room","id":1})");
    const FrameFields created = co_await c.await_reply(1, "room_created");
    m.room->id = std::string(created.room_id);
  }
  co_await c.write(join_request(2, m.room->id, m.name, *m.key, challenge));
  const FrameFields joined = co_await c.await_reply(2, "joined");
  m.user_id = std::string(joined.user_id);
  m.last_seq.store(joined.last_seq);
  m.last_client_seq.assign(m.room->senders.size(), 0);
  c.shrink_buffer();
  c.start_reading(m);
}

net::awaitable<void> setup_worker(std::shared_ptr<SetupQueue> queue, bool create,
                                  std::shared_ptr<SetupProgress> progress) {
  while (queue->next < queue->members.size()) {
    Member& m = *queue->members[queue->next++];
    try {
      co_await join_member(m, create);
      ++progress->done;
    } catch (const boost::system::system_error& e) {
      progress->fail(m.name + ": " + e.code().message());
    } catch (const std::exception& e) {
      progress->fail(m.name + ": " + e.what());
    }
  }
}

// Sets up `list` with at most options.setup_parallel at once; throws when one fails or the
// set-up timeout passes.
void set_up(Run& run, const std::vector<Member*>& list, bool create) {
  const std::size_t thread_count = run.threads.size();
  std::vector<std::shared_ptr<SetupQueue>> queues;
  for (std::size_t t = 0; t < thread_count; ++t)
    queues.push_back(std::make_shared<SetupQueue>());
  for (Member* m : list)
    for (std::size_t t = 0; t < thread_count; ++t)
      if (m->ioc == &run.threads.at(t)) queues[t]->members.push_back(m);
  auto progress = std::make_shared<SetupProgress>();
  const std::size_t per_thread =
      std::max<std::size_t>(1, run.options.setup_parallel / thread_count);
  for (std::size_t t = 0; t < thread_count; ++t) {
    const std::size_t workers = std::min(per_thread, queues[t]->members.size());
    for (std::size_t w = 0; w < workers; ++w)
      net::co_spawn(run.threads.at(t), setup_worker(queues[t], create, progress),
                    [progress](std::exception_ptr e) {
                      if (e) progress->fail("set-up stopped by an exception");
                    });
  }
  const auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(run.options.setup_timeout));
  while (progress->done + progress->failed < list.size()) {
    if (Clock::now() > deadline)
      throw std::runtime_error("set-up timed out: " + std::to_string(progress->done) + " of " +
                               std::to_string(list.size()) + " connections joined");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (progress->failed > 0)
    throw std::runtime_error(std::to_string(progress->failed.load()) + " of " +
                             std::to_string(list.size()) +
                             " connections could not join; the first: " + progress->first_error);
}

void append_number(std::string& out, std::uint64_t n) {
  char digits[24];
  const auto result = std::to_chars(digits, digits + sizeof digits, n);
  out.append(digits, result.ptr);
}

} // namespace

Challenge challenge_of(const FrameFields& hello) {
  Challenge challenge{};
  if (hello.type != "hello" || !from_hex(hello.challenge, challenge))
    throw std::runtime_error("the first frame is not a hello with a challenge");
  return challenge;
}

std::string join_request(std::uint64_t id, const std::string& room_id, const std::string& name,
                         const KeyPair& key, const Challenge& challenge) {
  const auto& pub = key.public_key();
  const auto sig = key.sign(join_payload(challenge, room_id, name, pub));
  return R"({"type":"join","id":)" + std::to_string(id) + R"(,"room_id":")" + room_id +
         R"(","user_name":")" + name + R"(","pub_key":")" + to_hex(pub) + R"(","sig":")" +
         to_hex(sig) + R"("})";
}

Run::Run(const Options& opts, std::vector<Endpoint> eps)
    : options(opts), endpoints(std::move(eps)), threads(opts.threads) {
  for (std::size_t t = 0; t < threads.size(); ++t)
    stats.push_back(std::make_unique<ThreadStats>());
}

Run::~Run() { threads.stop(); }

void set_up_rooms(Run& run, unsigned rooms, unsigned members_per_room, unsigned senders_per_room,
                  unsigned connections_in_all) {
  const std::size_t total =
      connections_in_all > 0 ? connections_in_all : std::size_t{rooms} * members_per_room;
  for (unsigned r = 0; r < rooms; ++r)
    run.rooms.emplace_back();
  std::vector<Member*> creators;
  std::vector<Member*> others;
  for (std::size_t i = 0; i < total; ++i) {
    Member& m = run.members.emplace_back();
    const std::size_t t = i % run.threads.size();
    m.run = &run;
    m.room = connections_in_all > 0 ? &run.rooms[i % rooms] : &run.rooms[i / members_per_room];
    m.ioc = &run.threads.at(t);
    m.stats = run.stats[t].get();
    m.key.emplace(KeyPair::generate());
    m.name = "m" + std::to_string(m.room->members.size());
    m.node = static_cast<unsigned>(m.room->members.size() % run.endpoints.size());
    if (m.room->senders.size() < senders_per_room) {
      Sender& s = run.senders.emplace_back();
      s.member = &m;
      s.index_in_room = static_cast<unsigned>(m.room->senders.size());
      m.sender = &s;
      m.room->senders.push_back(&s);
    }
    (m.room->members.empty() ? creators : others).push_back(&m);
    m.room->members.push_back(&m);
  }
  set_up(run, creators, true);
  set_up(run, others, false);
}

void append_text(std::string& out, std::uint64_t client_seq, const std::string& filler,
                 unsigned text_bytes) {
  const std::size_t start = out.size();
  append_number(out, client_seq);
  const std::size_t used = out.size() - start;
  if (used + 1 >= text_bytes) return;
  out.push_back(' ');
  out.append(filler, 0, std::min<std::size_t>(filler.size(), text_bytes - used - 1));
}

void presign(Run& run) {
  const unsigned text_bytes = run.options.text_bytes;
  for (Sender& s : run.senders) {
    const Member& m = *s.member;
    s.signatures.resize(s.budget);
    s.sent_at = std::make_unique<std::atomic<std::int64_t>[]>(s.budget);
    s.request_head = R"({"type":"send","room_id":")" + m.room->id + R"(","client_seq":)";
    s.filler.clear();
    for (std::size_t i = 0; s.filler.size() < text_bytes; ++i)
      s.filler.push_back(static_cast<char>('a' + (i * 7 + s.index_in_room) % 26));
    m.room->sender_index[m.user_id] = s.index_in_room;
  }
  // Work in chunks of one sender's messages, taken by every CPU in turn.
  constexpr std::uint64_t chunk = 512;
  struct Item {
    Sender* sender;
    std::uint64_t first;
  };
  std::vector<Item> items;
  for (Sender& s : run.senders)
    for (std::uint64_t first = 1; first <= s.budget; first += chunk)
      items.push_back({&s, first});
  std::atomic<std::size_t> next{0};
  const auto work = [&] {
    std::string text;
    for (std::size_t i = next++; i < items.size(); i = next++) {
      Sender& s = *items[i].sender;
      const Member& m = *s.member;
      const std::uint64_t last = std::min(s.budget, items[i].first + chunk - 1);
      for (std::uint64_t cs = items[i].first; cs <= last; ++cs) {
        text.clear();
        append_text(text, cs, s.filler, text_bytes);
        s.signatures[cs - 1] = m.key->sign(message_payload(m.room->id, m.user_id, cs, text));
      }
    }
  };
  std::vector<std::thread> workers;
  for (unsigned t = 1; t < std::max(1u, std::thread::hardware_concurrency()); ++t)
    workers.emplace_back(work);
  work();
  for (auto& w : workers)
    w.join();
}

void send_next(Run& run, Sender& s, Clock::time_point now) {
  static constexpr char digits[] = "0123456789abcdef";
  Member& m = *s.member;
  std::string out = m.connection->take_buffer();
  const std::uint64_t n = s.next++;
  out.append(s.request_head);
  append_number(out, n);
  out.append(R"(,"text":")");
  append_text(out, n, s.filler, run.options.text_bytes);
  out.append(R"(","sig":")");
  for (const std::uint8_t b : s.signatures[n - 1]) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  out.append(R"("})");
  s.sent_at[n - 1].store(to_ns(now), std::memory_order_relaxed);
  s.in_flight.store(s.in_flight.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  m.stats->sends.add();
  m.connection->send(std::move(out));
}

} // namespace tinychat::bench
