#!/usr/bin/env bash
# bench_smoke: every tinychat-bench scenario for a few seconds at small sizes against one fresh
# tinychat-server (memory store, rate limit off). Fails when a run exits non-zero: broken seq
# order, a gap or duplicate, a lost message, an error reply or an unexpected close. It never
# judges speed.
#
# usage: bench_smoke.sh TINYCHAT_BENCH TINYCHAT_SERVER
set -uo pipefail

bench="$1"
server="$2"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
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
run() {
  echo "== tinychat-bench $*"
  if ! "$bench" "$@" "${common[@]}"; then
    failed+=("$1")
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
if [ ${#failed[@]} -gt 0 ]; then
  echo "bench_smoke: failed: ${failed[*]}" >&2
  exit 1
fi
echo "bench_smoke: every scenario passed its checks"
