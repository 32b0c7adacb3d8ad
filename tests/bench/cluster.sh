# shellcheck shell=bash
# Sourced by run-cluster-bench and bench_smoke.sh: a private redis-server and tinychat-server
# nodes on loopback, and stopping them again. The caller traps EXIT to call stop_started.

started_pids=()

# stop_pid PID: ends a process this shell started and waits for it.
stop_pid() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# stop_started: ends every process started here, the last started first (nodes before their
# redis-server).
stop_started() {
  local i
  for ((i = ${#started_pids[@]} - 1; i >= 0; i--)); do
    stop_pid "${started_pids[i]}"
  done
  started_pids=()
}

# start_redis DIR FSYNC: a redis-server of its own in DIR (append-only file on, `appendfsync
# FSYNC`, no snapshots) on a free loopback port; sets redis_pid and redis_port. Ports are tried
# at random below the ephemeral range, so a port taken meanwhile only costs another try.
# $TINYCHAT_REDIS_SERVER overrides /usr/bin/redis-server.
start_redis() {
  local dir="$1" fsync="$2" program="${TINYCHAT_REDIS_SERVER:-/usr/bin/redis-server}"
  if [ ! -x "$program" ]; then
    echo "$program not found (set TINYCHAT_REDIS_SERVER)" >&2
    return 1
  fi
  mkdir -p "$dir"
  local attempt
  for attempt in 1 2 3 4 5; do
    redis_port=$((10000 + RANDOM % 20000))
    : >"$dir/redis.log"
    "$program" --port "$redis_port" --bind 127.0.0.1 --dir "$dir" --appendonly yes \
      --appendfsync "$fsync" --save "" --daemonize no --protected-mode no \
      --logfile "$dir/redis.log" &
    redis_pid=$!
    started_pids+=("$redis_pid")
    for _ in $(seq 100); do
      # Its own log says it listens: a PING could reach another redis-server on that port.
      grep -q "Ready to accept connections" "$dir/redis.log" && return 0
      kill -0 "$redis_pid" 2>/dev/null || break
      sleep 0.05
    done
    stop_pid "$redis_pid"
    unset 'started_pids[${#started_pids[@]}-1]'
  done
  echo "redis-server did not start (attempt $attempt); its log:" >&2
  tail -n 20 "$dir/redis.log" >&2
  return 1
}

# start_node SERVER DIR ARGS...: `SERVER --port 0 ARGS...` with its output in DIR; sets
# node_pid and node_port once it listens and /healthz answers 200 (a node on Redis answers 503
# until it reaches its store).
start_node() {
  local program="$1" dir="$2"
  shift 2
  mkdir -p "$dir"
  "$program" --port 0 "$@" >"$dir/out" 2>"$dir/err" &
  node_pid=$!
  started_pids+=("$node_pid")
  node_port=""
  for _ in $(seq 100); do
    # The file may not be there yet: the shell of `&` opens it.
    [ -n "$node_port" ] || node_port="$(sed -n \
      's|^tinychat-server listening on http://.*:\([0-9]*\)$|\1|p' "$dir/out" 2>/dev/null || true)"
    if [ -n "$node_port" ] && [ "$(healthz_status "$node_port")" = 200 ]; then return 0; fi
    kill -0 "$node_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "tinychat-server did not start (or its /healthz never answered 200):" >&2
  cat "$dir/err" >&2
  return 1
}

# healthz_status PORT: the HTTP status of GET /healthz on 127.0.0.1:PORT, empty when none.
healthz_status() {
  local line
  # In a subshell: a failed connect must not end the calling shell.
  line="$( (exec 3<>"/dev/tcp/127.0.0.1/$1" &&
    printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3 &&
    read -r -t 2 line <&3 && echo "$line") 2>/dev/null)"
  line="${line#HTTP/1.1 }"
  echo "${line%% *}"
}
