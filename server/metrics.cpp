#include "metrics.hpp"

#include <tinychat/error.hpp>

#include <cstdio>

#ifndef TINYCHAT_VERSION
#define TINYCHAT_VERSION "unknown"
#endif

namespace tinychat::server {

namespace {

// Appends families in the exposition format: HELP and TYPE once, then the samples.
class Exposition {
public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    text_ += "# HELP ";
    text_ += name;
    text_ += ' ';
    text_ += help;
    text_ += "\n# TYPE ";
    text_ += name;
    text_ += ' ';
    text_ += type;
    text_ += '\n';
  }

  void sample(std::string_view name, std::string_view labels, double value) {
    text_ += name;
    if (!labels.empty()) {
      text_ += '{';
      text_ += labels;
      text_ += '}';
    }
    char number[32];
    std::snprintf(number, sizeof number, " %.6f\n", value);
    text_ += number;
  }

  void sample(std::string_view name, std::string_view labels, std::uint64_t value) {
    text_ += name;
    if (!labels.empty()) {
      text_ += '{';
      text_ += labels;
      text_ += '}';
    }
    text_ += ' ';
    text_ += std::to_string(value);
    text_ += '\n';
  }

  void single(std::string_view name, std::string_view type, std::string_view help,
              std::uint64_t value) {
    family(name, type, help);
    sample(name, {}, value);
  }

  std::string take() { return std::move(text_); }

private:
  std::string text_;
};

std::string label(std::string_view key, std::string_view value) {
  // Label values here are fixed words (codes, operations, version digits): no escaping needed.
  return std::string(key) + "=\"" + std::string(value) + "\"";
}

void store_histograms(Exposition& out, const ServiceMetrics& m) {
  constexpr std::string_view name = "tinychat_store_operation_duration_seconds";
  out.family(name, "histogram", "Time from a Store call to its completion, by operation.");
  for (std::size_t op = 0; op < m.store_latency.size(); ++op) {
    const LatencyHistogram& h = m.store_latency[op];
    const std::string op_label = label("op", store_operation_names[op]);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < LatencyHistogram::bounds_us.size(); ++i) {
      cumulative += h.buckets[i];
      char le[32];
      std::snprintf(le, sizeof le, "%g", static_cast<double>(LatencyHistogram::bounds_us[i]) / 1e6);
      out.sample(std::string(name) + "_bucket", op_label + "," + label("le", le), cumulative);
    }
    out.sample(std::string(name) + "_bucket", op_label + "," + label("le", "+Inf"), h.count);
    out.sample(std::string(name) + "_sum", op_label, static_cast<double>(h.sum.count()) / 1e9);
    out.sample(std::string(name) + "_count", op_label, h.count);
  }
}

} // namespace

std::string render_metrics(const MetricsSnapshot& s) {
  const ServiceMetrics& m = s.service;
  Exposition out;
  out.family("tinychat_build_info", "gauge", "Always 1; the version is a label.");
  out.sample("tinychat_build_info", label("version", TINYCHAT_VERSION), std::uint64_t{1});
  out.family("tinychat_process_start_time_seconds", "gauge", "Unix time the server started.");
  out.sample("tinychat_process_start_time_seconds", {}, s.start_time_seconds);
  out.family("tinychat_uptime_seconds", "gauge", "Seconds since the server started.");
  out.sample("tinychat_uptime_seconds", {}, s.uptime_seconds);
  out.family("tinychat_store_up", "gauge",
             "1 while the store can be reached (0: a shared store is away; requests fail).");
  out.sample("tinychat_store_up", {}, std::uint64_t{s.store_up ? 1u : 0u});

  out.single("tinychat_websocket_connections", "gauge",
             "Open WebSocket connections, closing ones included.", s.websocket_connections);
  out.single("tinychat_websocket_connections_opened_total", "counter",
             "WebSocket upgrades accepted.", s.websocket_opened);
  out.family("tinychat_upgrades_refused_total", "counter",
             "WebSocket upgrades refused: capacity (503, connection caps) or origin (403).");
  out.sample("tinychat_upgrades_refused_total", label("reason", "capacity"), s.refused_capacity);
  out.sample("tinychat_upgrades_refused_total", label("reason", "origin"), s.refused_origin);
  out.single("tinychat_slow_consumer_closes_total", "counter",
             "Connections closed with 4008 because their write queue outgrew the limit.",
             s.slow_consumer_closes);
  out.single("tinychat_flood_closes_total", "counter",
             "Connections closed with 1008 for flooding past the rate limit.", m.flood_closes);

  out.single("tinychat_connections", "gauge", "Connections the room service serves.",
             m.connections);
  out.single("tinychat_rooms", "gauge", "Live rooms.", m.rooms);
  out.single("tinychat_members", "gauge", "Users present, summed over rooms.", m.present_members);
  out.single("tinychat_rooms_created_total", "counter", "Rooms created.", m.rooms_created);
  out.single("tinychat_messages_accepted_total", "counter",
             "Messages stored and numbered (answered sent).", m.messages_accepted);
  out.single("tinychat_message_deliveries_total", "counter",
             "Message events handed out to members' connections.", m.message_deliveries);
  out.single("tinychat_frames_delivered_total", "counter",
             "Frames of any kind handed out to connections.", m.frames_delivered);

  out.family("tinychat_rejects_total", "counter", "Requests answered with an error, by code.");
  for (std::size_t i = 1; i < ServiceMetrics::error_slots; ++i) {
    const std::string_view code = to_string(static_cast<error>(i));
    if (!code.empty()) out.sample("tinychat_rejects_total", label("code", code), m.rejects[i]);
  }
  out.family("tinychat_signature_verifications_total", "counter",
             "Ed25519 verifications of join and send signatures, by result.");
  out.sample("tinychat_signature_verifications_total", label("result", "valid"),
             m.signatures_valid);
  out.sample("tinychat_signature_verifications_total", label("result", "invalid"),
             m.signatures_invalid);

  out.single("tinychat_store_errors_total", "counter",
             "Store operations that failed (answered internal).", m.store_errors);
  store_histograms(out, m);
  return out.take();
}

} // namespace tinychat::server
