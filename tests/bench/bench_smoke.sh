#!/usr/bin/env bash
# bench_smoke: every tinychat-bench scenario for a few seconds at small sizes against one fresh
# tinychat-server (memory store, rate limit off), then fanout and churn over two servers
# sharing their rooms through a private redis-server (the members of each room spread over
# both). Fails when a run exits non-zero: broken seq order, a gap or duplicate, a lost message
# (on either server), an error reply or an unexpected close. It never judges speed.
#
# usage: bench_smoke.sh TINYCHAT_BENCH TINYCHAT_SERVER
# $TINYCHAT_REDIS_SERVER overrides /usr/bin/redis-server.
set -uo pipefail

bench="$1"
server="$2"
# shellcheck source=tests/bench/cluster.sh
source "$(dirname "$0")/cluster.sh"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  stop_started
  rm -rf "$work"
}
trap cleanup EXIT

"$server" --port 0 --store memory --rate-limit-per-second 0 --max-rooms-per-minute 0 >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
port=""
for _ in $(seq 100); do
  port="$(sed -n 's|^tinychat-server listening on http://.*:\([0-9]*\)$|\1|p' "$work/server.out")"
  [ -n "$port" ] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$port" ]; then
  echo "bench_smoke: tinychat-server did not start" >&2
  cat "$work/server.err" >&2
  exit 1
fi

common=(--url "ws://127.0.0.1:$port/v1/ws" --server-pid "$server_pid" --warmup 0.5)
failed=()
where="" # after a failed scenario's name
run() {
  echo "== tinychat-bench $*$where"
  if ! "$bench" "$@" "${common[@]}"; then
    failed+=("$1$where")
  fi
  echo
}

run ingress --rooms 20 --members 3 --duration 2 --presign-rate 10000
run fanout --members 50 --senders 2 --rate 200 --duration 2
run latency --members 50 --rate 50 --duration 2
run idle --connections 200 --members 50 --duration 3 --ping-interval 1
run churn --connections 8 --rooms 4 --duration 2
run flood --abusers 7 --duration 2

if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "bench_smoke: tinychat-server exited during the runs" >&2
  cat "$work/server.err" >&2
  exit 1
fi
# Two servers on one Redis: every room spans both, so each message is sequenced in Redis and
# reaches the members on the other server through Pub/Sub.
cluster_flags=(--rate-limit-per-second 0 --max-rooms-per-minute 0 --store redis)
if start_redis "$work/redis" everysec &&
  start_node "$server" "$work/node1" "${cluster_flags[@]}" --redis-url "redis://127.0.0.1:$redis_port" &&
  node1=("$node_port" "$node_pid") &&
  start_node "$server" "$work/node2" "${cluster_flags[@]}" --redis-url "redis://127.0.0.1:$redis_port"; then
  common=(--url "ws://127.0.0.1:${node1[0]}/v1/ws" --url "ws://127.0.0.1:$node_port/v1/ws"
    --server-pid "${node1[1]}" --server-pid "$node_pid" --store-pid "$redis_pid" --warmup 0.5)
  where=" (two servers on Redis)"
  run fanout --members 40 --senders 3 --rate 200 --duration 2
  run churn --connections 8 --rooms 4 --duration 2
  for pid in "${node1[1]}" "$node_pid" "$redis_pid"; do
    kill -0 "$pid" 2>/dev/null || { echo "bench_smoke: process $pid of the Redis pair exited" >&2; failed+=(redis-pair); }
  done
else
  echo "bench_smoke: could not start redis-server and two tinychat-servers on it" >&2
  failed+=(redis-setup)
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "bench_smoke: failed: ${failed[*]}" >&2
  exit 1
fi
echo "bench_smoke: every scenario passed its checks, on one server and on two sharing Redis"
