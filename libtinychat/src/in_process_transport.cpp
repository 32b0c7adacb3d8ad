#include <tinychat/encoding.hpp>
#include <tinychat/in_process_transport.hpp>

#include <utility>

namespace tinychat {

InProcessTransport::InProcessTransport(Store& store, const Clock& clock, ServiceConfig config)
    : service_(*this, store, clock, config) {}

InProcessTransport::InProcessTransport(SharedStore& store, const Clock& clock, ServiceConfig config)
    : service_(*this, store, clock, config) {}

InProcessTransport::~InProcessTransport() {
  for (auto& [id, conn] : connections_) {
    conn->transport_ = nullptr;
    conn->close_info_ = CloseInfo{1001, "transport gone"};
  }
}

std::unique_ptr<InProcessConnection> InProcessTransport::connect(std::string quota_key) {
  std::unique_ptr<InProcessConnection> conn(
      new InProcessConnection(*this, next_id_++, service_.config()));
  connections_.emplace(conn->id_, conn.get());
  service_.connect(conn->id_, std::move(quota_key));
  pump();
  return conn;
}

void InProcessTransport::tick() {
  service_.tick();
  pump();
}

void InProcessTransport::run(const std::function<void()>& work) {
  work();
  pump();
}

void InProcessTransport::deliver(ClientId client, Frame frame) {
  if (auto it = connections_.find(client); it != connections_.end())
    it->second->inbox_.emplace_back(*frame);
}

void InProcessTransport::close(ClientId client, std::uint16_t code, std::string_view reason) {
  auto it = connections_.find(client);
  if (it == connections_.end()) return;
  InProcessConnection& conn = *it->second;
  connections_.erase(it);
  conn.close_info_ = CloseInfo{code, std::string(reason)};
  closed_.push_back(&conn);
  service_.disconnect(client);
}

void InProcessTransport::send_from(InProcessConnection& conn, std::string_view text) {
  // The checks a WebSocket server makes before a message reaches the service.
  if (text.size() > service_.config().limits.max_frame_bytes)
    close(conn.id_, 1009, "message too big");
  else if (!is_valid_utf8(text))
    close(conn.id_, 1007, "invalid utf-8");
  else
    service_.receive(conn.id_, conn.ingress_.prepare(text));
  pump();
}

void InProcessTransport::closed_by_client(InProcessConnection& conn) {
  connections_.erase(conn.id_);
  service_.disconnect(conn.id_);
  pump();
}

// Hands waiting frames to handlers after the service call that produced them has returned,
// so a handler may send again without re-entering the service.
void InProcessTransport::pump() {
  if (pumping_) return;
  pumping_ = true;
  bool progress = true;
  while (progress) {
    progress = false;
    for (auto it = connections_.begin(); it != connections_.end();) {
      InProcessConnection* conn = it->second;
      ClientId id = it->first;
      if (conn->frame_handler_ && !conn->inbox_.empty()) {
        std::string frame = std::move(conn->inbox_.front());
        conn->inbox_.pop_front();
        conn->frame_handler_(frame);
        progress = true;
        it = connections_.upper_bound(id); // the handler may have opened or closed connections
      } else {
        ++it;
      }
    }
  }
  pumping_ = false;
  for (auto closed = std::exchange(closed_, {}); InProcessConnection * conn : closed)
    if (conn->close_handler_) conn->close_handler_(*conn->close_info_);
}

InProcessConnection::~InProcessConnection() {
  if (is_open()) close();
}

void InProcessConnection::send(std::string_view text) {
  if (transport_ && is_open()) transport_->send_from(*this, text);
}

void InProcessConnection::close() {
  if (!is_open()) return;
  close_info_ = CloseInfo{1000, ""};
  if (transport_) transport_->closed_by_client(*this);
}

std::optional<std::string> InProcessConnection::take() {
  if (inbox_.empty()) return std::nullopt;
  std::string frame = std::move(inbox_.front());
  inbox_.pop_front();
  return frame;
}

void InProcessConnection::on_frame(std::function<void(std::string_view)> handler) {
  frame_handler_ = std::move(handler);
  if (transport_) transport_->pump();
}

void InProcessConnection::on_close(std::function<void(const CloseInfo&)> handler) {
  close_handler_ = std::move(handler);
}

} // namespace tinychat
