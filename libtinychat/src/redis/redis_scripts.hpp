#pragma once
// The Lua scripts of RedisStore. Each runs atomically in Redis, so every decision about a
// room (its next seq, who is present, whether a name is taken) is taken once for all nodes.
//
// Keys of a room, P = prefix .. room_id:
//   P:r  hash    created_at, expires_at, idle_ms, seq (last assigned), pv (presence version)
//   P:m  stream  messages, id "<seq>-1", fields ts and p (the message as JSON)
//   P:l  hash    pub_key (hex) -> last accepted client_seq
//   P:p  hash    pub_key -> "user_id<TAB>user_name" of each present user
//   P:n  hash    user_name -> pub_key of each present user
//   P:c  hash    "<node>:<client>" -> pub_key of each joined connection
//   P:k  hash    pub_key -> number of joined connections
// Channel P:e carries the room's events:
//   "M<TAB>seq<TAB>ts<TAB>json", "J<TAB>pv<TAB>pub_key<TAB>user_id<TAB>name", "L<TAB>..." alike.
// Nodes: prefix .. "nodes" (zset node -> last heartbeat, ms), prefix .. "node:" .. node
// (hash P -> joined connections of that node in room P) and prefix .. "swept" (time of the
// last sweep, ms).
// All keys of a room expire together: at expires_at, or idle_ms after its last member left.
// Names cannot hold a TAB (control characters are invalid_name).

namespace tinychat::redis {

inline constexpr const char* script_prelude = R"lua(
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function int(x) return string.format('%.0f', x) end
local room_keys = {':r', ':m', ':l', ':p', ':n', ':c', ':k'}
local function settle(P, now)
  local h = redis.call('HMGET', P .. ':r', 'expires_at', 'idle_ms')
  if not h[1] then return end
  local deadline = tonumber(h[1])
  if redis.call('HLEN', P .. ':p') == 0 then deadline = math.min(deadline, now + tonumber(h[2])) end
  for _, k in ipairs(room_keys) do redis.call('PEXPIREAT', P .. k, int(deadline)) end
end
-- The room's expires_at while it lives, else nil.
local function live(P, now)
  local expires_at = tonumber(redis.call('HGET', P .. ':r', 'expires_at'))
  if expires_at and expires_at > now then return expires_at end
  return nil
end
local function leave(P, NH, conn, now)
  local key = redis.call('HGET', P .. ':c', conn)
  if not key then
    if redis.call('EXISTS', P .. ':r') == 0 then redis.call('HDEL', NH, P) end
    return
  end
  redis.call('HDEL', P .. ':c', conn)
  if redis.call('HINCRBY', NH, P, -1) <= 0 then redis.call('HDEL', NH, P) end
  if redis.call('HINCRBY', P .. ':k', key, -1) > 0 then return end
  redis.call('HDEL', P .. ':k', key)
  local present = redis.call('HGET', P .. ':p', key)
  if present then
    local tab = string.find(present, '\t', 1, true)
    redis.call('HDEL', P .. ':p', key)
    redis.call('HDEL', P .. ':n', string.sub(present, tab + 1))
    local pv = int(redis.call('HINCRBY', P .. ':r', 'pv', 1))
    redis.call('PUBLISH', P .. ':e', 'L\t' .. pv .. '\t' .. key .. '\t' .. present)
  end
  settle(P, now)
end
)lua";

// KEYS: P. ARGV: created_at, expires_at, idle_ms.
inline constexpr const char* create_script = R"lua(
local P = KEYS[1]
if redis.call('EXISTS', P .. ':r') == 1 then return redis.error_reply('ERR room id in use') end
redis.call('HSET', P .. ':r', 'created_at', ARGV[1], 'expires_at', ARGV[2], 'idle_ms', ARGV[3],
           'seq', 0, 'pv', 0)
settle(P, now_ms())
return 1
)lua";

// KEYS: P, nodes, node hash. ARGV: conn, pub_key, user_id, user_name, refusal, signature ok
// ('1'), max members, node. Checks in PROTOCOL.md 11's order.
// Returns {code} or {'ok', pv, present name, last_client_seq, expires_at}.
inline constexpr const char* join_script = R"lua(
local P, key = KEYS[1], ARGV[2]
local now = now_ms()
if not redis.call('ZSCORE', KEYS[2], ARGV[8]) then return {'evicted'} end
if not live(P, now) then return {'room_not_found'} end
if ARGV[5] ~= '' then return {ARGV[5]} end
local present = redis.call('HGET', P .. ':p', key)
if not present then
  if redis.call('HLEN', P .. ':p') >= tonumber(ARGV[7]) then return {'room_full'} end
  if redis.call('HEXISTS', P .. ':n', ARGV[4]) == 1 then return {'name_taken'} end
end
if ARGV[6] ~= '1' then return {'invalid_signature'} end
local name, pv
if redis.call('HSETNX', P .. ':c', ARGV[1], key) == 1 then
  redis.call('HINCRBY', P .. ':k', key, 1)
  redis.call('HINCRBY', KEYS[3], P, 1)
end
if present then
  name = string.sub(present, string.find(present, '\t', 1, true) + 1)
  pv = redis.call('HGET', P .. ':r', 'pv')
else
  name = ARGV[4]
  redis.call('HSET', P .. ':p', key, ARGV[3] .. '\t' .. name)
  redis.call('HSET', P .. ':n', name, key)
  pv = int(redis.call('HINCRBY', P .. ':r', 'pv', 1))
  redis.call('PUBLISH', P .. ':e', 'J\t' .. pv .. '\t' .. key .. '\t' .. ARGV[3] .. '\t' .. name)
end
settle(P, now)
local lcs = redis.call('HGET', P .. ':l', key) or '0'
return {'ok', tostring(pv), name, lcs, redis.call('HGET', P .. ':r', 'expires_at')}
)lua";

// KEYS: P, node hash. ARGV: conn.
inline constexpr const char* leave_script = R"lua(
leave(KEYS[1], KEYS[2], ARGV[1], now_ms())
return 1
)lua";

// KEYS: P. ARGV: conn, pub_key, client_seq, keep, message JSON.
// Returns {code[, last_client_seq]} or {'ok', seq, ts}.
inline constexpr const char* append_script = R"lua(
local P = KEYS[1]
local now = now_ms()
local expires_at = live(P, now)
if not expires_at then return {'room_not_found'} end
if redis.call('HEXISTS', P .. ':c', ARGV[1]) == 0 then return {'not_member'} end
local last = redis.call('HGET', P .. ':l', ARGV[2]) or '0'
if tonumber(ARGV[3]) <= tonumber(last) then return {'stale_client_seq', last} end
local seq = int(redis.call('HINCRBY', P .. ':r', 'seq', 1))
redis.call('HSET', P .. ':l', ARGV[2], ARGV[3])
redis.call('XADD', P .. ':m', 'MAXLEN', ARGV[4], seq .. '-1', 'ts', int(now), 'p', ARGV[5])
-- A member is present, so the room lives until expires_at; only these two keys may be new.
redis.call('PEXPIREAT', P .. ':m', int(expires_at))
redis.call('PEXPIREAT', P .. ':l', int(expires_at))
redis.call('PUBLISH', P .. ':e', 'M\t' .. seq .. '\t' .. int(now) .. '\t' .. ARGV[5])
return {'ok', seq, int(now)}
)lua";

// KEYS: P. ARGV: pub_key, client_seq, keep. Looks for a message whose append lost its reply:
// {'found', seq, ts}, {'absent'} when it was certainly not stored, {'unknown'} when a later
// one of the key was, and this one is not among the retained messages.
inline constexpr const char* find_append_script = R"lua(
local P = KEYS[1]
local wanted = tonumber(ARGV[2])
if tonumber(redis.call('HGET', P .. ':l', ARGV[1]) or '0') < wanted then return {'absent'} end
for _, entry in ipairs(redis.call('XREVRANGE', P .. ':m', '+', '-', 'COUNT', ARGV[3])) do
  local fields, ts, message = entry[2], nil, nil
  for i = 1, #fields, 2 do
    if fields[i] == 'ts' then ts = fields[i + 1] elseif fields[i] == 'p' then message = fields[i + 1] end
  end
  local m = cjson.decode(message)
  if m.k == ARGV[1] and m.c == wanted then
    return {'found', string.sub(entry[1], 1, string.find(entry[1], '-', 1, true) - 1), ts}
  end
end
return {'unknown'}
)lua";

// KEYS: P. Returns {} for no live room, else {created_at, expires_at, seq, pv, present (flat
// hash), messages (XRANGE)}.
inline constexpr const char* read_script = R"lua(
local P = KEYS[1]
if not live(P, now_ms()) then return {} end
local h = redis.call('HMGET', P .. ':r', 'created_at', 'expires_at', 'seq', 'pv')
return {h[1], h[2], h[3], h[4], redis.call('HGETALL', P .. ':p'),
        redis.call('XRANGE', P .. ':m', '-', '+')}
)lua";

// KEYS: nodes. ARGV: node, '1' on the first beat. 'evicted' when the node had been removed.
inline constexpr const char* beat_script = R"lua(
local known = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], int(now_ms()), ARGV[1])
if not known and ARGV[2] ~= '1' then return 'evicted' end
return 'ok'
)lua";

// KEYS: nodes, swept. ARGV: timeout ms, node hash prefix, and a node to remove now ('' for
// those whose heartbeat is older than the timeout). Returns how many nodes were removed.
// Every live node sweeps five times per timeout. A longer pause since the last sweep means
// Redis was away (or no node ran): nobody could beat meanwhile, so that time counts against
// no node, and the nodes that reconnect later than the sweeper are not taken for dead.
inline constexpr const char* sweep_script = R"lua(
local now = now_ms()
local timeout = tonumber(ARGV[1])
local dead = {ARGV[3]}
if ARGV[3] == '' then
  local last = tonumber(redis.call('GET', KEYS[2]) or now)
  if now - last > timeout / 2 then
    local beats = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
    for i = 1, #beats, 2 do
      local moved = math.min(tonumber(beats[i + 1]) + (now - last), now)
      redis.call('ZADD', KEYS[1], int(moved), beats[i])
    end
  end
  redis.call('SET', KEYS[2], int(now))
  dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', int(now - timeout), 'LIMIT', 0, 16)
end
for _, node in ipairs(dead) do
  local NH, mark = ARGV[2] .. node, node .. ':'
  for _, P in ipairs(redis.call('HKEYS', NH)) do
    for _, conn in ipairs(redis.call('HKEYS', P .. ':c')) do
      if string.sub(conn, 1, #mark) == mark then leave(P, NH, conn, now) end
    end
  end
  redis.call('DEL', NH)
  redis.call('ZREM', KEYS[1], node)
end
return #dead
)lua";

} // namespace tinychat::redis
