#!/usr/bin/env bash
# The gateway's benchmark (see Benchmarks/README.md, "Gateway"): `purview-gateway serve` against a
# separately started `purview-gateway emulator` over https (self-signed), SQLite store, LOG_LEVEL=warning.
#   1. GET /v1/requests/{id} with wrk against nginx's hello (one worker), at 64 and 256 connections.
#   2. Durable submissions/s: wrk POSTs term-creation requests with `Prefer: wait=0` (each 2xx is a
#      committed row; the rows are counted with sqlite3) while the demo emulator is stopped (SIGSTOP): the
#      issue's separate intake run, with the forwarder's sends hanging as when Purview does not answer.
#   3. Forwarded/s: the emulator continued (SIGCONT), its POST /userrequests count sampled every second while
#      the backlog drains; the gateway's forward queue depth from /metrics.
#      Token requests over the run: the emulator's POST /token count and gateway_token_fetches.
#   4. 2 and 3 again with a fresh gateway against an emulator whose config has no workflow (every user
#      request is applied at once, constant cost): the gateway's own forwarding ceiling.
#   5. Each emulator config alone (fresh instance) under wrk POSTing user requests at 32 connections
#      (the forwarder's concurrency): the emulator's own ceiling.
# Usage: Benchmarks/gateway-vs-nginx.sh [seconds per wrk run, default 10]
# Environment: SUBMIT_CONNECTIONS (default 64); DRAIN_TIMEOUT seconds per drain (default 90);
#   PROFILE=perf-stat (syscall counts of the gateway during each submission run) or PROFILE=perf-record
#   (call graphs of the gateway during GET c=64, each submission run and the first 8 s of each drain; top
#   symbols printed);
#   STEPS (default "1 2 4 5"; 2 stands for 2-3) runs only the steps named, e.g. STEPS=4 for the gateway's own
#   submission and forwarding figures alone;
#   GATEWAY_ENV ("NAME=value ...") adds settings to the gateway's environment (experiments);
#   KEEP=1 keeps the work folder (logs, samples, databases, perf data); BINARY=path runs that purview-gateway
#   build instead of building the release one (to compare builds in the same window).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
duration="${1:-10}"
[[ "$duration" =~ ^[0-9]+$ ]] && [ "$duration" -ge 2 ] || { echo "usage: $0 [seconds >= 2]" >&2; exit 2; }
submit_connections="${SUBMIT_CONNECTIONS:-64}"
drain_timeout="${DRAIN_TIMEOUT:-90}"
profile="${PROFILE:-}"
steps=" ${STEPS:-1 2 4 5} "
step() { [[ "$steps" == *" $1 "* ]]; }
token_lifetime=null

bash .ci/setup --bench
if ! command -v sqlite3 >/dev/null; then
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends sqlite3 >/dev/null
fi
if [[ "$profile" == perf-* ]] && ! command -v perf >/dev/null; then
    echo "PROFILE=$profile needs perf (Debian: linux-perf)" >&2
    exit 2
fi
if [ -n "${BINARY:-}" ]; then
    binary="$(realpath "$BINARY")"
else
    swift build -c release --product purview-gateway >/dev/null
    binary="$(swift build -c release --show-bin-path)/purview-gateway"
fi
monitor=Benchmarks/gateway/monitor.py
no_workflow_config=Benchmarks/gateway/no-workflow-emulator.json

work="$(mktemp -d)"
results="$work/results"
mkdir -p "$results"
pids=()
cleanup() {
    touch "$work"/stop-sampling-* 2>/dev/null || true
    # SIGTERM each process we started (continued first: an emulator may be stopped), then SIGKILL whatever is
    # still there after 10 s.
    for pid in "${pids[@]}"; do kill -CONT "$pid" 2>/dev/null || true; kill "$pid" 2>/dev/null || true; done
    for _ in $(seq 100); do
        local alive=0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ "$alive" -eq 0 ] && break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n 65536 2>/dev/null || true

load() { cut -d' ' -f1-3 /proc/loadavg; }
now() { date +%s.%N; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
cpu_percent() { python3 -c "print(f'{($2-$1)/$hz/$3*100:.0f}')"; } # before after seconds
json_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# Waits (at most 30 s) for a line matching $2 in file $1 and prints its first capture group.
wait_for_line() {
    for _ in $(seq 300); do
        local found
        found=$(grep -oE "$2" "$1" 2>/dev/null | head -1 || true)
        if [ -n "$found" ]; then sed -E "s#.*$2.*#\\1#" <<<"$found"; return 0; fi
        sleep 0.1
    done
    echo "timed out waiting for '$2' in $1:" >&2
    tail -20 "$1" >&2
    return 1
}

stop_process() { # pid: SIGTERM, then SIGKILL after 30 s
    kill "$1" 2>/dev/null || return 0
    for _ in $(seq 300); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$1" 2>/dev/null || true
}

# The emulator's demo identities (EmulatorConfig.Demo in Sources/PurviewEmulator/Service/EmulatorDemo.swift);
# Benchmarks/gateway/no-workflow-emulator.json has the same tenant, gateway principal and admin token.
tenant=7e1a0000-0000-4000-8000-000000000001
gateway_client=9a7e0000-0000-4000-8000-000000000001
gateway_secret=gateway-demo-secret
admin_token=emulator-admin-token

# start_emulator NAME [emulator flags]: sets emulator_pid and emulator_url.
start_emulator() {
    local name=$1
    shift
    LOG_LEVEL=warning "$binary" emulator --listen 127.0.0.1:0 --self-signed "$work/tls" "$@" \
        >"$work/$name.out" 2>"$work/$name.err" &
    emulator_pid=$!
    pids+=("$emulator_pid")
    emulator_url=$(wait_for_line "$work/$name.out" 'listening on (https://127\.0\.0\.1:[0-9]+)')
}

api_key="bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
printf '{"clients":[{"name":"bench","keySha256":["%s"],"scopes":["requests:write","requests:read"]}]}\n' \
    "$(printf %s "$api_key" | sha256sum | cut -d' ' -f1)" >"$work/keys.json"

# start_gateway NAME EMULATOR_URL: a gateway with a fresh SQLite store; sets gateway_pid, gateway_url, database.
# The intake quota and the outbound budget are off (set past reach: 100,000 calls/s, 128 in flight, where the
# default 32 leaves the latency-bound send cycle short of the emulator's pace): this measures capacity, not the
# limits.
start_gateway() {
    database="$work/$1.db"
    env -i PATH="$PATH" HOME="${HOME:-/root}" \
        PURVIEW_ENDPOINT="$2" AZURE_AUTHORITY_HOST="$2" AZURE_TENANT_ID="$tenant" \
        AZURE_CLIENT_ID="$gateway_client" AZURE_CLIENT_SECRET="$gateway_secret" SSL_CERT_FILE="$work/tls/cert.pem" \
        GATEWAY_API_KEYS_FILE="$work/keys.json" GATEWAY_DATABASE_URL="sqlite://$database" \
        GATEWAY_LISTEN=127.0.0.1:0 LOG_LEVEL=warning \
        GATEWAY_RATE_LIMIT_PER_SECOND=0 GATEWAY_PURVIEW_REQUESTS_PER_SECOND=100000 \
        GATEWAY_PURVIEW_MAX_IN_FLIGHT=128 ${GATEWAY_ENV:-} \
        "$binary" serve >"$work/$1.out" 2>"$work/$1.err" &
    gateway_pid=$!
    pids+=("$gateway_pid")
    gateway_url=$(wait_for_line "$work/$1.out" 'listening on (http://127\.0\.0\.1:[0-9]+)')
}

# seed: one request, forwarded at once (the default wait budget answers 201 with its runs); prints its id.
seed() {
    local reply
    reply=$(curl -sS --max-time 30 -H "X-API-Key: $api_key" -H 'Content-Type: application/json' \
        -d '{"glossaryId":"20031e20-b4df-4a66-a61d-1b0716f3fa48","name":"Seed","definition":"The request the benchmark reads.","requestedBy":"ada@contoso.com"}' \
        "$gateway_url/v1/requests/term-creation")
    python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$reply"
}

# profile_start NAME SECONDS: starts the chosen profiler on the gateway; profile_finish waits for it.
profiler_pid=""
profile_start() {
    case "$profile" in
        perf-stat)
            perf stat -o "$work/perf-stat-$1.txt" -p "$gateway_pid" \
                -e 'syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync,syscalls:sys_enter_pwrite64,syscalls:sys_enter_write,syscalls:sys_enter_writev,syscalls:sys_enter_read,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_futex,context-switches,task-clock' \
                -- sleep "$2" >/dev/null 2>&1 &
            profiler_pid=$! ;;
        perf-record)
            perf record -F 499 -g -o "$work/perf-$1.data" -p "$gateway_pid" -- sleep "$2" >/dev/null 2>&1 &
            profiler_pid=$! ;;
    esac
}
profile_finish() {
    if [ -n "$profiler_pid" ]; then wait "$profiler_pid" || true; fi
    profiler_pid=""
}

run_get() { # name url pid connections
    local name=$1 url=$2 pid=$3 conns=$4
    wrk -t2 -c"$conns" -d1s -H "X-API-Key: $api_key" "$url" >/dev/null 2>&1 || true
    local before after out
    [ "$name/$conns" = gateway/64 ] && profile_start get "$duration"
    before=$(cpu_ticks "$pid")
    out=$(wrk -t2 -c"$conns" -d"${duration}s" --latency -H "X-API-Key: $api_key" "$url")
    after=$(cpu_ticks "$pid")
    profile_finish
    python3 "$monitor" wrk <<<"$out" >"$results/get-$conns-$name.json"
    python3 - "$results/get-$conns-$name.json" "$((after - before))" "$hz" "$name" "$conns" "$(load)" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); ticks, hz = int(sys.argv[2]), int(sys.argv[3])
print(f"   {sys.argv[4]:<8} c={sys.argv[5]:<4} req/s={r['rps']:<10,.0f} p50={r['p50us']:,.0f}us p99={r['p99us']:,.0f}us "
      f"cpu/req={ticks / hz * 1e6 / max(r['requests'], 1):.1f}us non-2xx={r['non2xx']} {r['socketErrors']} (load {sys.argv[6]})")
PY
}

# submit_and_forward NAME: submissions for $duration s, then waits for the backlog to reach the emulator.
# Writes submit-NAME.json and forward-NAME.json; stops the gateway and counts its rows (stored-NAME).
submit_and_forward() {
    local name=$1
    local samples="$work/samples-$name.jsonl" stop="$work/stop-sampling-$name"
    python3 "$monitor" sample --emulator "$emulator_url" --ca "$work/tls/cert.pem" --admin-token "$admin_token" \
        --gateway "$gateway_url" --out "$samples" --stop-file "$stop" \
        --max-seconds $((duration + drain_timeout + 60)) &
    pids+=($!)
    sleep 1.5
    local gateway_before emulator_before submit_start submit_end out
    gateway_before=$(cpu_ticks "$gateway_pid")
    emulator_before=$(cpu_ticks "$emulator_pid")
    # Purview stops answering: the forwarder's sends in flight hang (well within its 30 s request timeout) and
    # nothing else is sent, so the submissions are measured alone.
    kill -STOP "$emulator_pid"
    profile_start "submit-$name" "$duration"
    submit_start=$(now)
    out=$(wrk -t2 -c"$submit_connections" -d"${duration}s" --latency -s Benchmarks/gateway/submit.lua "$gateway_url" -- \
        "$api_key" "$name-$(date +%s)")
    submit_end=$(now)
    local gateway_after emulator_after
    gateway_after=$(cpu_ticks "$gateway_pid")
    emulator_after=$(cpu_ticks "$emulator_pid")
    profile_finish
    python3 "$monitor" wrk <<<"$out" >"$results/submit-$name.json"
    local accepted seconds stored
    accepted=$(json_field "$results/submit-$name.json" ok)
    seconds=$(python3 -c "print($submit_end - $submit_start)")
    # wrk does not count answers still in flight when it stops, but their requests were stored: the
    # backlog to wait for is every stored row (read-only, beside the running gateway under WAL).
    sleep 0.5
    stored=$(sqlite3 "file:$database?mode=ro" 'SELECT count(*) FROM requests')
    echo "   accepted $accepted ($(python3 -c "print(f'{$accepted/$duration:,.0f}')")/s); stored rows $stored;" \
        "$(grep -E 'Non-2xx|Socket' <<<"$out" | tr -s ' ' | tr '\n' ';')"
    echo "   cpu during submissions: gateway $(cpu_percent "$gateway_before" "$gateway_after" "$seconds")%" \
        "($(python3 -c "print(round(($gateway_after - $gateway_before) / $hz * 1e6 / max($accepted, 1)))") us per accepted" \
        "request), emulator $(cpu_percent "$emulator_before" "$emulator_after" "$seconds")%" \
        "(100% = one core); load $(load)"
    echo "   forwarding: emulator continued; waiting (at most ${drain_timeout}s) until it received all $stored"
    local drain_before_gw drain_before_em drain_started drain_seconds
    drain_before_gw=$(cpu_ticks "$gateway_pid")
    drain_before_em=$(cpu_ticks "$emulator_pid")
    drain_started=$(now)
    kill -CONT "$emulator_pid"
    profile_start "drain-$name" 8
    python3 "$monitor" wait-drained --samples "$samples" --target "$stored" --timeout "$drain_timeout" --stall 20 |
        sed 's/^/   /'
    profile_finish
    drain_seconds=$(python3 -c "print($(now) - $drain_started)")
    echo "   cpu while draining: gateway $(cpu_percent "$drain_before_gw" "$(cpu_ticks "$gateway_pid")" "$drain_seconds")%," \
        "emulator $(cpu_percent "$drain_before_em" "$(cpu_ticks "$emulator_pid")" "$drain_seconds")% over ${drain_seconds%.*}s; load $(load)"
    sleep 6 # the gateway samples its gauges every 5 s: let token fetches and the queue depth be fresh
    touch "$stop"
    python3 "$monitor" rates --samples "$samples" --submit-start "$submit_start" --submit-end "$submit_end" \
        --target "$stored" >"$results/forward-$name.json"
    stop_process "$gateway_pid"
    stored=$(sqlite3 "file:$database?mode=ro" 'SELECT count(*) FROM requests')
    echo "$stored" >"$results/stored-$name"
    echo "   stored rows by status: $(sqlite3 "file:$database?mode=ro" \
        'SELECT status || "=" || count(*) FROM requests GROUP BY status' | tr '\n' ' ')"
}

echo "== gateway benchmark: ${duration}s per wrk run, $(nproc) cores, load at start $(load)"
echo "   disk of the stores: $(python3 "$monitor" fsync-probe --dir "$work")"
run_started=$(now)
run_seconds=0
if step 1 || step 2; then
start_emulator demo-emulator
start_gateway demo-gateway "$emulator_url"
request_id=$(seed)
echo "   emulator $emulator_url, gateway $gateway_url; seeded request $request_id"
fi

if step 1; then

nginx_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<CONF
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
pids+=("$nginx_pid")
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$nginx_port/" >/dev/null && break; sleep 0.1; done
nginx_worker=$(pgrep -P "$nginx_pid" | head -1)

echo "   nginx http://127.0.0.1:$nginx_port"

echo "== 1. GET /v1/requests/{id} against nginx's hello (load $(load))"
for conns in 64 256; do
    run_get nginx "http://127.0.0.1:$nginx_port/" "$nginx_worker" "$conns"
    run_get gateway "$gateway_url/v1/requests/$request_id" "$gateway_pid" "$conns"
done
stop_process "$nginx_pid"
fi

if step 2; then
echo "== 2-3. durable submissions (Prefer: wait=0, c=$submit_connections) and forwarding, demo emulator (load $(load))"
submit_and_forward demo
run_seconds=$(python3 -c "print($(now) - $run_started)")
fi
if step 1 || step 2; then stop_process "$emulator_pid"; fi

if step 4; then
echo "== 4. the same against an emulator with no workflow (user requests applied at once) (load $(load))"
start_emulator no-workflow-emulator --config "$no_workflow_config"
start_gateway no-workflow-gateway "$emulator_url"
seed >/dev/null
submit_and_forward no-workflow
stop_process "$emulator_pid"
fi

if step 5; then
echo "== 5. each emulator alone, a fresh instance: wrk POST /userrequests, c=32 (load $(load))"
for name in demo no-workflow; do
    if [ "$name" = demo ]; then start_emulator "alone-$name"; else start_emulator "alone-$name" --config "$no_workflow_config"; fi
    token_json=$(curl -sS --max-time 10 --cacert "$work/tls/cert.pem" \
        -d "grant_type=client_credentials&client_id=$gateway_client&client_secret=$gateway_secret&scope=https%3A%2F%2Fpurview.azure.net%2F.default" \
        "$emulator_url/$tenant/oauth2/v2.0/token")
    token=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["access_token"])' "$token_json")
    token_lifetime=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["expires_in"])' "$token_json")
    before=$(cpu_ticks "$emulator_pid")
    out=$(wrk -t2 -c32 -d"${duration}s" --latency -s Benchmarks/gateway/emulator-submit.lua "$emulator_url" -- "$token" alone)
    after=$(cpu_ticks "$emulator_pid")
    python3 "$monitor" wrk <<<"$out" >"$results/alone-$name.json"
    # The demo emulator's cost per request grows with its open approval tasks: show the last second too.
    last=$(wrk -t2 -c32 -d1s -s Benchmarks/gateway/emulator-submit.lua "$emulator_url" -- "$token" alone-last |
        awk '/Requests\/sec/ {print $2}')
    echo "   $name: $(grep -E 'Requests/sec' <<<"$out" | tr -s ' ') over ${duration}s, then $last/s for 1 s more;" \
        "emulator cpu $(cpu_percent "$before" "$after" "$duration")% (load $(load))"
    stop_process "$emulator_pid"
done
fi

cat >"$results/meta.json" <<JSON
{"seconds": $duration, "connections": [64, 256], "submitConnections": $submit_connections,
 "runSeconds": $run_seconds, "tokenLifetime": $token_lifetime, "loadAtEnd": "$(load)"}
JSON
echo
echo "== summary (load at the end $(load); $(nproc) cores shared by wrk, the gateway, the emulator and nginx)"
python3 "$monitor" table --dir "$results"
for file in "$work"/perf-stat-*.txt; do
    [ -f "$file" ] || continue
    echo; echo "== $(basename "$file" .txt) (the gateway)"; grep -vE '^\s*$|^#' "$file"
done
for file in "$work"/perf-*.data; do
    [ -f "$file" ] || continue
    KEEP=1
    echo; echo "== $(basename "$file" .data): top symbols of the gateway (self time)"
    perf report -i "$file" --no-children --sort dso,symbol --stdio >"${file%.data}.txt" 2>/dev/null || true
    grep -E '^ +[0-9]' "${file%.data}.txt" | head -25 | cut -c1-160 || true
done
