#!/usr/bin/env bash
# User-space instructions per request of HelloServer (one event loop) and of nginx (one process), counted by
# valgrind's callgrind while wrk sends keep-alive requests on 8 connections. Instruction counts do not depend
# on what else the machine runs, unlike CPU time: use this to compare builds on a busy machine.
# Each server runs twice, with a short and a longer wrk run; (instructions B - A) / (requests B - A) removes
# start-up and shutdown. Kernel time (about three quarters of the CPU per request) is not counted.
# Needs valgrind (apt-get install valgrind). Usage: Benchmarks/instructions-per-request.sh [seconds, default 5]
# Environment: HELLO_SERVER (a HelloServer binary to use instead of building one).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-5}"
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install valgrind" >&2; exit 1; }
bash .ci/setup --bench
hello_server="${HELLO_SERVER:-}"
if [ -z "$hello_server" ]; then
    swift build -c release --product HelloServer --static-swift-stdlib >/dev/null
    hello_server=.build/release/HelloServer
fi
work="$(mktemp -d)"
server_pid=""
cleanup() {
    [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Polls until something accepts on 127.0.0.1:$1 (valgrind starts slowly: at most 60 s).
wait_for_port() {
    python3 - "$1" <<'PY'
import socket, sys, time
deadline = time.time() + 60
while True:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        break
    except OSError:
        if time.time() > deadline:
            sys.exit(f"nothing listens on port {sys.argv[1]}")
        time.sleep(0.2)
PY
}

# Runs "$@" (a server listening on $port) under callgrind with a wrk run of $1 seconds (none when 0), stops
# it with $2, and prints "requests instructions".
measure() {
    local duration=$1 stop_signal=$2 port=$3
    shift 3
    rm -f "$work/callgrind.out"
    valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" "$@" >"$work/server.log" 2>&1 &
    server_pid=$!
    wait_for_port "$port"
    local requests=0
    if [ "$duration" -gt 0 ]; then
        requests=$(wrk -t1 -c8 -d"${duration}s" "http://127.0.0.1:$port/" | awk '/requests in/ {print $1}')
    fi
    kill "-$stop_signal" "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
    echo "$requests $(awk '/^summary:/ {print $2}' "$work/callgrind.out")"
}

per_request() { # name, then "requests instructions" of the short and the long run
    python3 -c "
a, b = [int(x) for x in '$2'.split()], [int(x) for x in '$3'.split()]
print(f'$1: {(b[1] - a[1]) / (b[0] - a[0]):,.0f} user-space instructions per request ({b[0] - a[0]} requests)')"
}

port=$(free_port)
hello() { measure "$1" TERM "$port" "$hello_server" --port "$port" --loops 1; }
per_request ours "$(hello 1)" "$(hello "$((seconds + 1))")"

port=$(free_port)
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 1;
master_process off;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/nginx/body;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$port;
        location / { default_type application/json; return 200 '{"status":"ok"}'; }
    }
}
CONF
nginx_run() { measure "$1" QUIT "$port" /usr/sbin/nginx -p "$work/nginx" -c "$work/nginx/nginx.conf"; }
per_request nginx "$(nginx_run 1)" "$(nginx_run "$((seconds + 1))")"
