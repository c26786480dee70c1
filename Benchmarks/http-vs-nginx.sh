#!/usr/bin/env bash
# Our HTTP server (HelloServer: an immediate hello route answering {"status":"ok"}) against nginx (one
# worker, `return 200`) in the same run, with wrk on loopback: req/s and p50/p99 at 64 and 256
# keep-alive connections, server CPU µs per request (user and system, from /proc/<pid>/stat over the
# measured run), RSS, and RSS growth per idle keep-alive connection (10,000 of them).
# Usage: Benchmarks/http-vs-nginx.sh [seconds per run, default 10]
# Environment: OURS_LOOPS (HelloServer's event loops, default: all cores), CONNECTIONS (default "64 256"),
# ROUNDS (runs per server and connection count, default 3; medians are reported), IDLE_CONNECTIONS (default 10000),
# HELLO_SERVER (a HelloServer binary to use instead of building one).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
duration="${1:-10}"
ours_loops="${OURS_LOOPS:-$(nproc)}"
connection_counts="${CONNECTIONS:-64 256}"
rounds="${ROUNDS:-3}"
idle_count="${IDLE_CONNECTIONS:-10000}"
bash .ci/setup --bench
# Built as the service image is (Dockerfile): release, Swift runtime linked statically. HELLO_SERVER=<path>
# benchmarks another build instead (an earlier commit's, for a before/after comparison).
hello_server="${HELLO_SERVER:-}"
if [ -z "$hello_server" ]; then
    swift build -c release --product HelloServer --static-swift-stdlib >/dev/null
    hello_server=.build/release/HelloServer
fi

work="$(mktemp -d)"
ours_pid=""
nginx_pid=""
cleanup() {
    for pid in $ours_pid $nginx_pid; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
# Both servers inherit this; the idle-connection test needs one descriptor per connection.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Polls until something accepts on 127.0.0.1:$1 (at most 10 s).
wait_for_port() {
    python3 - "$1" <<'PY'
import socket, sys, time
deadline = time.time() + 10
while True:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        break
    except OSError:
        if time.time() > deadline:
            sys.exit(f"nothing listens on port {sys.argv[1]}")
        time.sleep(0.05)
PY
}

ours_port=$(free_port)
"$hello_server" --port "$ours_port" --loops "$ours_loops" >"$work/ours.log" 2>&1 &
ours_pid=$!

nginx_port=$(free_port)
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 1;
worker_rlimit_nofile 65536;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 20000; }
http {
    access_log off;
    client_body_temp_path $work/nginx/body;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    server {
        listen 127.0.0.1:$nginx_port;
        location / { default_type application/json; return 200 '{"status":"ok"}'; }
    }
}
CONF
/usr/sbin/nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" &
nginx_pid=$!

wait_for_port "$ours_port"
wait_for_port "$nginx_port"
# nginx forks its worker: measure the worker process (the master does no request work).
nginx_worker=$(pgrep -P "$nginx_pid" | head -1 || true)
[ -n "$nginx_worker" ] || { echo "no nginx worker process" >&2; exit 1; }

# utime and stime (clock ticks, all threads) from /proc/<pid>/stat, read after the ")" ending the name.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12, $13}'; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)

# wrk's latency ("812.00us", "1.20ms", "2.00s") in microseconds.
to_us() {
    python3 -c "
import re, sys
m = re.fullmatch(r'([0-9.]+)(us|ms|s|m)', sys.argv[1])
if not m: sys.exit('unparsed latency: ' + sys.argv[1])
print(float(m.group(1)) * {'us': 1, 'ms': 1e3, 's': 1e6, 'm': 6e7}[m.group(2)])" "$1"
}

results="$work/results.tsv"
run_wrk() { # name port pid connections round
    local name=$1 port=$2 pid=$3 conns=$4 round=$5
    # Warm-up: connections, caches and lazily grown buffers.
    wrk -t2 -c"$conns" -d2s "http://127.0.0.1:$port/" >/dev/null 2>&1 || true
    local before after out
    before=$(cpu_ticks "$pid")
    out=$(wrk -t2 -c"$conns" -d"${duration}s" --latency "http://127.0.0.1:$port/")
    after=$(cpu_ticks "$pid")
    local rps total p50 p99 errors
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    total=$(awk '/requests in/ {print $1}' <<<"$out")
    p50=$(awk '$1=="50%" {print $2}' <<<"$out")
    p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    errors=$(grep -E 'Socket errors|Non-2xx' <<<"$out" | tr -s ' \n' ' ' || true)
    local cpu
    cpu=$(python3 -c "
b, a = [int(x) for x in '$before'.split()], [int(x) for x in '$after'.split()]
n = max($total, 1); us = lambda t: t / $hz * 1e6 / n
print(f'{us(a[0]-b[0]+a[1]-b[1]):.2f} {us(a[0]-b[0]):.2f} {us(a[1]-b[1]):.2f}')")
    read -r cpu_total cpu_user cpu_sys <<<"$cpu"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$conns" "$round" "$rps" "$(to_us "$p50")" \
        "$(to_us "$p99")" "$cpu_total" "$cpu_user" "$cpu_sys" >>"$results"
    printf '%-6s c=%-4s round %s: req/s=%-10s p50=%-9s p99=%-9s cpu_us/req=%-6s (user %s sys %s) rss_kib=%-7s %s\n' \
        "$name" "$conns" "$round" "$rps" "$p50" "$p99" "$cpu_total" "$cpu_user" "$cpu_sys" "$(rss_kib "$pid")" \
        "$errors"
}

echo "== wrk, ${duration}s per run, 2 wrk threads, $rounds rounds (the two servers alternate); $(nproc) cores;" \
    "ours: $ours_loops loops, nginx: 1 worker"
echo "   load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for conns in $connection_counts; do
    for round in $(seq "$rounds"); do
        # Alternating who goes first cancels a steady drift in the machine's other load.
        if ((round % 2)); then order="nginx ours"; else order="ours nginx"; fi
        for name in $order; do
            if [ "$name" = nginx ]; then
                run_wrk nginx "$nginx_port" "$nginx_worker" "$conns" "$round"
            else
                run_wrk ours "$ours_port" "$ours_pid" "$conns" "$round"
            fi
        done
    done
done
echo "   load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== medians over the rounds (range in brackets)"
python3 - "$results" <<'PY'
import statistics, sys
rows = [line.split('\t') for line in open(sys.argv[1]).read().splitlines()]
def values(name, conns, column):
    return [float(r[column]) for r in rows if r[0] == name and r[1] == conns]
def median(name, conns, column):
    return statistics.median(values(name, conns, column))
def spread(name, conns, column, unit=''):
    v = values(name, conns, column)
    digits = 2 if column >= 6 else 0  # CPU µs with decimals; req/s and latencies (µs) without
    return f'{statistics.median(v):.{digits}f}{unit} [{min(v):.{digits}f}-{max(v):.{digits}f}]'
ok = lambda good: 'ok' if good else 'MISSED'
for conns in dict.fromkeys(r[1] for r in rows):
    for name in ('nginx', 'ours'):
        print(f'{name:6s} c={conns:4s} req/s {spread(name, conns, 3)}  p50 {spread(name, conns, 4, "us")}  '
              f'p99 {spread(name, conns, 5, "us")}  cpu_us/req {spread(name, conns, 6)} '
              f'(user {median(name, conns, 7):.2f} sys {median(name, conns, 8):.2f})')
    rps = median('ours', conns, 3) / median('nginx', conns, 3)
    p99 = median('ours', conns, 5) / median('nginx', conns, 5)
    cpu = median('ours', conns, 6)
    print(f'   c={conns} ours/nginx: req/s {rps:.2f}x (goal >= 0.8 {ok(rps >= 0.8)}), '
          f'p99 {p99:.2f}x (goal <= 2 {ok(p99 <= 2)}), cpu {cpu:.2f} us/req (goal <= 10 {ok(cpu <= 10)}; '
          f'nginx {median("nginx", conns, 6):.2f})')
PY

echo "== $idle_count idle keep-alive connections (RSS growth per connection, goal <= 2048 bytes)"
echo -n "nginx: "; python3 Benchmarks/idle_connections.py "$nginx_port" "$nginx_worker" "$idle_count"
echo -n "ours:  "; python3 Benchmarks/idle_connections.py "$ours_port" "$ours_pid" "$idle_count"
