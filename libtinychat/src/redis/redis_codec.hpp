#pragma once
// RedisStore's codec: its errors, the replies of its scripts and the form a message takes in
// Redis (JSON of everything but room_id, seq and ts, which Redis keeps beside it).

#include "connection.hpp"

#include <tinychat/shared_store.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace tinychat::redis {

enum class store_errc { unreachable = 1, refused, malformed };
std::error_code make_error(store_errc e);

/// A decimal integer (string, status or integer reply); nullopt for anything else.
std::optional<std::uint64_t> to_uint(std::string_view s);
std::optional<std::uint64_t> to_uint(const Reply& r);
bool is_text(const Reply& r);
std::optional<PublicKey> key_from_hex(std::string_view hex);

std::string encode_payload(const ChatMessage& m);
std::optional<ChatMessage> decode_payload(std::string_view room_id, std::uint64_t seq,
                                          TimestampMs ts, std::string_view payload);
/// XRANGE entries, oldest first; nullopt when one is malformed.
std::optional<std::vector<ChatMessage>> decode_entries(std::string_view room_id,
                                                       const Reply& entries);
/// A present user: its key and "user_id<TAB>user_name".
std::optional<Member> decode_member(std::string_view key_hex, std::string_view present);
/// The error code a script answered; nullopt for "ok" or an unknown spelling.
std::optional<error> refusal_code(std::string_view code);
/// `s` cut at its first max_parts - 1 TABs.
std::vector<std::string_view> split_tabs(std::string_view s, std::size_t max_parts);
/// The answers of the append, join and read scripts; each sets `failure` when its reply is
/// malformed. room_view: nullopt also for "no such live room" (failure then empty).
AppendResult append_result(const Reply& r, std::error_code& failure);
JoinResult join_result(const Reply& r, std::error_code& failure);
std::optional<RoomView> room_view(std::string_view room_id, const Reply& r,
                                  std::error_code& failure);

} // namespace tinychat::redis
