#include "redis_codec.hpp"

#include <tinychat/encoding.hpp>

#include <boost/json.hpp>

#include <charconv>

namespace tinychat::redis {

namespace json = boost::json;

// ---- errors ----------------------------------------------------------------------------------

namespace {

class StoreCategory final : public std::error_category {
public:
  const char* name() const noexcept override { return "tinychat.redis"; }
  std::string message(int code) const override {
    switch (static_cast<store_errc>(code)) {
    case store_errc::unreachable:
      return "the shared store (Redis) is unreachable";
    case store_errc::refused:
      return "the shared store (Redis) refused the operation";
    case store_errc::malformed:
      return "the shared store (Redis) sent an unexpected reply";
    }
    return "shared store error";
  }
};

} // namespace

std::error_code make_error(store_errc e) {
  static const StoreCategory category;
  return {static_cast<int>(e), category};
}

// ---- replies ---------------------------------------------------------------------------------

std::optional<std::uint64_t> to_uint(std::string_view s) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<std::uint64_t> to_uint(const Reply& r) {
  if (r.kind == Reply::Kind::integer && r.integer >= 0)
    return static_cast<std::uint64_t>(r.integer);
  if (r.kind == Reply::Kind::string || r.kind == Reply::Kind::status) return to_uint(r.str);
  return std::nullopt;
}

bool is_text(const Reply& r) {
  return r.kind == Reply::Kind::string || r.kind == Reply::Kind::status;
}

std::optional<PublicKey> key_from_hex(std::string_view hex) {
  PublicKey key{};
  if (!from_hex(hex, key)) return std::nullopt;
  return key;
}

// Everything of a message but room_id, seq and ts, which Redis keeps beside it.
std::string encode_payload(const ChatMessage& m) {
  return json::serialize(json::object{{"u", m.user_id},
                                      {"n", m.user_name},
                                      {"k", to_hex(m.pub_key)},
                                      {"c", m.client_seq},
                                      {"t", m.text},
                                      {"s", to_hex(m.sig)}});
}

std::optional<ChatMessage> decode_payload(std::string_view room_id, std::uint64_t seq,
                                          TimestampMs ts, std::string_view payload) {
  json::error_code ec;
  json::value v = json::parse(payload, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::object& o = v.get_object();
  const auto text = [&](const char* k) -> const json::string* {
    const json::value* f = o.if_contains(k);
    return f && f->is_string() ? &f->get_string() : nullptr;
  };
  const json::value* c = o.if_contains("c");
  const json::string *u = text("u"), *n = text("n"), *k = text("k"), *t = text("t"), *s = text("s");
  if (!u || !n || !k || !t || !s || !c || !c->is_number()) return std::nullopt;
  ChatMessage m;
  m.room_id = std::string(room_id);
  m.seq = seq;
  m.user_id = std::string(*u);
  m.user_name = std::string(*n);
  m.text = std::string(*t);
  m.ts = ts;
  json::error_code cec;
  m.client_seq = c->to_number<std::uint64_t>(cec);
  if (cec || !from_hex(*k, m.pub_key) || !from_hex(*s, m.sig)) return std::nullopt;
  return m;
}

// One XRANGE entry: ["<seq>-1", ["ts", ts, "p", json]].
std::optional<ChatMessage> decode_entry(std::string_view room_id, const Reply& entry) {
  if (entry.kind != Reply::Kind::array || entry.elements.size() != 2) return std::nullopt;
  const std::string& id = entry.elements[0].str;
  auto seq = to_uint(std::string_view(id).substr(0, id.find('-')));
  std::optional<std::uint64_t> ts;
  const std::string* payload = nullptr;
  const auto& fields = entry.elements[1].elements;
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
    if (fields[i].str == "ts") ts = to_uint(fields[i + 1]);
    if (fields[i].str == "p") payload = &fields[i + 1].str;
  }
  if (!seq || !ts || !payload) return std::nullopt;
  return decode_payload(room_id, *seq, static_cast<TimestampMs>(*ts), *payload);
}

std::optional<std::vector<ChatMessage>> decode_entries(std::string_view room_id,
                                                       const Reply& entries) {
  if (entries.kind != Reply::Kind::array) return std::nullopt;
  std::vector<ChatMessage> out;
  out.reserve(entries.elements.size());
  for (const Reply& e : entries.elements) {
    auto m = decode_entry(room_id, e);
    if (!m) return std::nullopt;
    out.push_back(std::move(*m));
  }
  return out;
}

// A "user_id<TAB>user_name" of the presence hash.
std::optional<Member> decode_member(std::string_view key_hex, std::string_view present) {
  auto key = key_from_hex(key_hex);
  auto tab = present.find('\t');
  if (!key || tab == std::string_view::npos) return std::nullopt;
  return Member{std::string(present.substr(0, tab)), std::string(present.substr(tab + 1)), *key};
}

std::optional<error> refusal_code(std::string_view code) {
  if (code == "ok") return std::nullopt;
  return error_from_string(code);
}

std::vector<std::string_view> split_tabs(std::string_view s, std::size_t max_parts) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < max_parts) {
    auto tab = s.find('\t');
    if (tab == std::string_view::npos) break;
    parts.push_back(s.substr(0, tab));
    s.remove_prefix(tab + 1);
  }
  parts.push_back(s);
  return parts;
}

AppendResult append_result(const Reply& r, std::error_code& failure) {
  AppendResult result;
  const auto& e = r.elements;
  if (r.kind != Reply::Kind::array || e.empty() || !is_text(e[0])) {
    failure = make_error(store_errc::malformed);
    return result;
  }
  if (e[0].str != "ok") {
    result.refused = refusal_code(e[0].str);
    if (!result.refused) failure = make_error(store_errc::malformed);
    if (e.size() > 1) result.last_client_seq = to_uint(e[1]).value_or(0);
    return result;
  }
  auto seq = e.size() == 3 ? to_uint(e[1]) : std::nullopt;
  auto ts = e.size() == 3 ? to_uint(e[2]) : std::nullopt;
  if (!seq || !ts) {
    failure = make_error(store_errc::malformed);
    return result;
  }
  result.seq = *seq;
  result.ts = static_cast<TimestampMs>(*ts);
  return result;
}

JoinResult join_result(const Reply& r, std::error_code& failure) {
  JoinResult result;
  const auto& e = r.elements;
  failure = make_error(store_errc::malformed);
  if (r.kind != Reply::Kind::array || e.empty() || !is_text(e[0])) return result;
  if (e[0].str != "ok") {
    result.refused = refusal_code(e[0].str);
    if (result.refused) failure.clear();
    return result;
  }
  auto pv = e.size() == 5 ? to_uint(e[1]) : std::nullopt;
  auto lcs = e.size() == 5 ? to_uint(e[3]) : std::nullopt;
  auto expires = e.size() == 5 ? to_uint(e[4]) : std::nullopt;
  if (!pv || !lcs || !expires) return result;
  result.presence_version = *pv;
  result.user_name = e[2].str;
  result.last_client_seq = *lcs;
  result.expires_at = static_cast<TimestampMs>(*expires);
  failure.clear();
  return result;
}

std::optional<RoomView> room_view(std::string_view room_id, const Reply& r,
                                  std::error_code& failure) {
  failure = make_error(store_errc::malformed);
  if (r.kind != Reply::Kind::array) return std::nullopt;
  const auto& e = r.elements;
  if (e.empty()) { // no such live room
    failure.clear();
    return std::nullopt;
  }
  if (e.size() != 6 || e[4].kind != Reply::Kind::array) return std::nullopt;
  auto created = to_uint(e[0]);
  auto expires = to_uint(e[1]);
  auto seq = to_uint(e[2]);
  auto pv = to_uint(e[3]);
  auto messages = decode_entries(room_id, e[5]);
  if (!created || !expires || !seq || !pv || !messages) return std::nullopt;
  RoomView view;
  view.room = RoomRecord{std::string(room_id), static_cast<TimestampMs>(*created),
                         static_cast<TimestampMs>(*expires)};
  view.last_seq = *seq;
  view.presence_version = *pv;
  view.messages = std::move(*messages);
  const auto& present = e[4].elements;
  for (std::size_t i = 0; i + 1 < present.size(); i += 2) {
    auto m = decode_member(present[i].str, present[i + 1].str);
    if (!m) return std::nullopt;
    view.members.push_back(std::move(*m));
  }
  failure.clear();
  return view;
}

} // namespace tinychat::redis
