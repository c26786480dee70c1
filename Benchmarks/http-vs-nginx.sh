#!/usr/bin/env bash
# Our HTTP server (a hello route answering {"status":"ok"}) against nginx (one worker, `return 200`)
# in the same run, with wrk on loopback: req/s and p50/p99 at 64 and 256 keep-alive connections,
# server CPU µs per request, RSS, and RSS with 10,000 idle keep-alive connections.
# Usage: Benchmarks/http-vs-nginx.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
duration="${1:-10}"
bash .ci/setup --bench
swift build -c release --product HelloServer >/dev/null
work="$(mktemp -d)"
trap 'kill $ours_pid $nginx_pid 2>/dev/null || true; rm -rf "$work"' EXIT
ulimit -n 65536 || true

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

ours_port=$(free_port)
.build/release/HelloServer --port "$ours_port" &
ours_pid=$!

nginx_port=$(free_port)
mkdir -p "$work/nginx"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 20000; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    server {
        listen 127.0.0.1:$nginx_port;
        location / { default_type application/json; return 200 '{"status":"ok"}'; }
    }
}
CONF
/usr/sbin/nginx -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" &
nginx_pid=$!
sleep 1
# nginx forks its worker: measure the worker process (the master does no request work).
nginx_worker=$(pgrep -P "$nginx_pid" | head -1)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)

declare -A results
run_wrk() { # name port pid connections
    local name=$1 port=$2 pid=$3 conns=$4
    wrk -t2 -c"$conns" -d1s "http://127.0.0.1:$port/" >/dev/null 2>&1 || true
    local before; before=$(cpu_ticks "$pid")
    local out; out=$(wrk -t2 -c"$conns" -d"${duration}s" --latency "http://127.0.0.1:$port/")
    local after; after=$(cpu_ticks "$pid")
    local rps; rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    local total; total=$(awk '/requests in/ {print $1}' <<<"$out")
    local p50; p50=$(awk '$1=="50%" {print $2}' <<<"$out")
    local p99; p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    local errors; errors=$(grep -E 'Socket errors|Non-2xx' <<<"$out" | tr '\n' ' ' || true)
    local cpu_us; cpu_us=$(python3 -c "print(f'{($after-$before)/$hz*1e6/max($total,1):.2f}')")
    results[$name,$conns,rps]=$rps; results[$name,$conns,p99]=$p99
    printf '%-6s c=%-4s req/s=%-10s p50=%-9s p99=%-9s cpu_us/req=%-6s rss_kib=%-7s %s\n' \
        "$name" "$conns" "$rps" "$p50" "$p99" "$cpu_us" "$(rss_kib "$pid")" "$errors"
}

to_us() { python3 -c "
v='$1'
for unit, f in (('us',1),('ms',1e3),('s',1e6)):
    if v.endswith(unit): print(float(v[:-len(unit)])*f); break"; }

echo "== wrk, ${duration}s per run, 2 wrk threads, this machine: $(nproc) cores"
for conns in 64 256; do
    run_wrk nginx "$nginx_port" "$nginx_worker" "$conns"
    run_wrk ours "$ours_port" "$ours_pid" "$conns"
    ratio=$(python3 -c "print(f'{${results[ours,$conns,rps]}/${results[nginx,$conns,rps]}:.2f}')")
    p99ratio=$(python3 -c "print(f'{$(to_us "${results[ours,$conns,p99]}")/$(to_us "${results[nginx,$conns,p99]}"):.2f}')")
    echo "   ratio c=$conns: req/s ours/nginx = ${ratio}x (goal >= 0.8), p99 ours/nginx = ${p99ratio}x (goal <= 2)"
done

echo "== 10,000 idle keep-alive connections"
echo -n "nginx: "; python3 Benchmarks/idle_connections.py "$nginx_port" "$nginx_worker" 10000
echo -n "ours:  "; python3 Benchmarks/idle_connections.py "$ours_port" "$ours_pid" 10000
