#!/usr/bin/env bash
# Durable submissions/s (POST /v1/requests/data-access with `Prefer: wait=0`: each 2xx is a committed row)
# in one run, release build, against:
#   - 1 replica on SQLite (WAL, synchronous=FULL, group commit), the default store;
#   - 1, 2 and 3 replicas sharing one PostgreSQL (a fresh schema each), fsync ON and synchronous_commit on.
# PostgreSQL is `.ci/postgres`'s throwaway server (loopback, TLS negotiated with libpq's default sslmode=prefer),
# with `fsync = on` and `full_page_writes = on` appended to its config and the server restarted: the test
# server runs with fsync off, which would make the comparison with SQLite's fsyncs unfair.
# Each configuration gets a fresh emulator (https) whose config has no workflow (Benchmarks/replicas/emulator.json):
# every forwarded request is applied at once, so the background forwarding costs the same everywhere and nothing
# is left to poll. Load: wrk with Benchmarks/replicas/submit.lua, CONNECTIONS in total (default 64), one wrk per
# replica with the connections split between them, run concurrently, their 2xx summed.
# Everything (wrk, gateways, emulator, PostgreSQL) shares this machine's cores: the table shows the CPU each took.
# Usage: Benchmarks/replicas.sh [seconds per run, default 10]
# Environment: CONNECTIONS (default 64); KEEP=1 keeps the work folder (logs, wrk output, SQLite database).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
duration="${1:-10}"
[[ "$duration" =~ ^[0-9]+$ ]] && [ "$duration" -ge 2 ] || { echo "usage: $0 [seconds >= 2]" >&2; exit 2; }
connections="${CONNECTIONS:-64}"
[[ "$connections" =~ ^[0-9]+$ ]] && [ "$connections" -ge 3 ] || { echo "CONNECTIONS must be a number >= 3" >&2; exit 2; }

bash .ci/setup --bench --postgres
swift build -c release --product purview-gateway >/dev/null
binary="$(swift build -c release --show-bin-path)/purview-gateway"
lua=Benchmarks/replicas/submit.lua
emulator_config=Benchmarks/replicas/emulator.json

work="$(mktemp -d)"
# Under /tmp: as root the server runs as `postgres`, which cannot enter a private mktemp directory.
pg_dir="/tmp/pgw-replicas-bench-$$"
pids=()
stop_process() { # pid: SIGTERM, then SIGKILL after 30 s
    kill "$1" 2>/dev/null || return 0
    for _ in $(seq 300); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$1" 2>/dev/null || true
}
cleanup() {
    for pid in "${pids[@]}"; do stop_process "$pid"; done
    bash .ci/postgres stop "$pg_dir" >/dev/null 2>&1 || true
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n 65536 2>/dev/null || true

load() { cut -d' ' -f1-3 /proc/loadavg; }
hz=$(getconf CLK_TCK)
cpu_ticks() { # pids...: user+system ticks, summed (processes that are gone count 0)
    local total=0 pid
    for pid in "$@"; do
        total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
    done
    echo "$total"
}

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

# --- PostgreSQL, fsync on
bash .ci/postgres start "$pg_dir" --owner-pid $$ >/dev/null
pg_url="$(cat "$pg_dir/url")"
as_server_user() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
# Later lines of the same file win over the test server's `fsync = off`.
printf 'fsync = on\nfull_page_writes = on\nsynchronous_commit = on\n' | as_server_user tee -a "$pg_dir/data/conf.d.conf" >/dev/null
bash .ci/postgres restart "$pg_dir"
psql_run() { PGCONNECT_TIMEOUT=10 psql "$pg_url" -v ON_ERROR_STOP=1 -Atqc "$1"; }
settings="$(psql_run "SELECT current_setting('fsync') || ' ' || current_setting('synchronous_commit') || ' ' || current_setting('full_page_writes')")"
[ "$settings" = "on on on" ] || { echo "PostgreSQL settings are '$settings', expected fsync, synchronous_commit and full_page_writes on" >&2; exit 1; }
postmaster_pid=$(head -1 "$pg_dir/data/postmaster.pid")
postgres_pids() { echo "$postmaster_pid" $(pgrep -P "$postmaster_pid" || true); }

# The emulator's gateway identity (the same as the demo config's) and an API key for wrk.
tenant=7e1a0000-0000-4000-8000-000000000001
gateway_client=9a7e0000-0000-4000-8000-000000000001
gateway_secret=gateway-demo-secret
api_key="bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
printf '{"clients":[{"name":"bench","keySha256":["%s"],"scopes":["requests:write","requests:read"]}]}\n' \
    "$(printf %s "$api_key" | sha256sum | cut -d' ' -f1)" >"$work/keys.json"

# forwarded_count EMULATOR_URL CA_FILE: the user requests the emulator has received so far.
forwarded_count() {
    curl -sS --max-time 30 --cacert "$2" -H 'Authorization: Bearer emulator-admin-token' "$1/_emulator/stats" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["calls"].get("POST /userrequests", 0))'
}

# run_configuration NAME REPLICAS DATABASE_URL COUNT_COMMAND: prints one result line, appends it to $work/table.
run_configuration() {
    local name=$1 replicas=$2 database_url=$3 count_command=$4
    LOG_LEVEL=warning "$binary" emulator --listen 127.0.0.1:0 --config "$emulator_config" \
        --self-signed "$work/tls-$name" >"$work/$name-emulator.out" 2>"$work/$name-emulator.err" &
    local emulator_pid=$!
    pids+=("$emulator_pid")
    local emulator_url
    emulator_url=$(wait_for_line "$work/$name-emulator.out" 'listening on (https://127\.0\.0\.1:[0-9]+)')
    local gateway_pids=() gateway_urls=() index
    for index in $(seq "$replicas"); do
        env -i PATH="$PATH" HOME="${HOME:-/root}" \
            PURVIEW_ENDPOINT="$emulator_url" AZURE_AUTHORITY_HOST="$emulator_url" AZURE_TENANT_ID="$tenant" \
            AZURE_CLIENT_ID="$gateway_client" AZURE_CLIENT_SECRET="$gateway_secret" \
            SSL_CERT_FILE="$work/tls-$name/cert.pem" GATEWAY_API_KEYS_FILE="$work/keys.json" \
            GATEWAY_DATABASE_URL="$database_url" GATEWAY_LISTEN=127.0.0.1:0 LOG_LEVEL=warning \
            GATEWAY_RATE_LIMIT_PER_SECOND=0 GATEWAY_PURVIEW_REQUESTS_PER_SECOND=100000 \
            "$binary" serve >"$work/$name-gateway-$index.out" 2>"$work/$name-gateway-$index.err" &
        gateway_pids+=($!)
        pids+=($!)
    done
    for index in $(seq "$replicas"); do
        gateway_urls+=("$(wait_for_line "$work/$name-gateway-$index.out" 'listening on (http://127\.0\.0\.1:[0-9]+)')")
    done

    # Warm-up (connections, prepared statements, the token), then the measured run.
    local warm_pids=()
    for url in "${gateway_urls[@]}"; do
        wrk -t1 -c4 -d2s -s "$lua" "$url" -- "$api_key" "$name-warm-$RANDOM" >/dev/null 2>&1 &
        warm_pids+=($!)
    done
    for pid in "${warm_pids[@]}"; do wait "$pid" || true; done
    local rows_before
    rows_before=$(eval "$count_command")
    local load_before cpu_gateways cpu_postgres cpu_emulator wrk_pids=()
    load_before=$(load)
    cpu_gateways=$(cpu_ticks "${gateway_pids[@]}")
    cpu_postgres=$(cpu_ticks $(postgres_pids))
    cpu_emulator=$(cpu_ticks "$emulator_pid")
    local forwarded_before
    forwarded_before=$(forwarded_count "$emulator_url" "$work/tls-$name/cert.pem")
    local threads=1
    [ "$replicas" -eq 1 ] && threads=2
    for index in $(seq "$replicas"); do
        # Connections split as evenly as they go: 64 over 3 is 22, 21, 21.
        local share=$(( connections / replicas + (index <= connections % replicas ? 1 : 0) ))
        wrk -t"$threads" -c"$share" -d"${duration}s" --latency -s "$lua" "${gateway_urls[$((index - 1))]}" -- \
            "$api_key" "$name-$index-$RANDOM" >"$work/$name-wrk-$index.txt" 2>&1 &
        wrk_pids+=($!)
    done
    for pid in "${wrk_pids[@]}"; do wait "$pid"; done
    cpu_gateways=$(( $(cpu_ticks "${gateway_pids[@]}") - cpu_gateways ))
    cpu_postgres=$(( $(cpu_ticks $(postgres_pids)) - cpu_postgres ))
    cpu_emulator=$(( $(cpu_ticks "$emulator_pid") - cpu_emulator ))
    local load_after
    load_after=$(load)
    local forwarded=$(( $(forwarded_count "$emulator_url" "$work/tls-$name/cert.pem") - forwarded_before ))
    sleep 1 # answers in flight when wrk stopped are stored too
    local rows_after
    rows_after=$(eval "$count_command")
    for pid in "${gateway_pids[@]}" "$emulator_pid"; do stop_process "$pid"; done

    echo "   $name: $replicas replica(s) done"
    python3 - "$name" "$replicas" "$connections" "$duration" "$hz" "$((rows_after - rows_before))" \
        "$cpu_gateways" "$cpu_postgres" "$cpu_emulator" "$load_before" "$load_after" "$forwarded" "$work/$name-wrk-"*.txt \
        <<'PY' >>"$work/table"
import re, sys
name, replicas, connections, duration, hz, rows, cpu_gw, cpu_pg, cpu_emu, load_before, load_after, forwarded = sys.argv[1:13]
duration, hz = float(duration), float(hz)
ok = total = errors = 0
p99s = []
def micros(text):
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 1, "ms": 1e3, "s": 1e6}[unit]
for path in sys.argv[13:]:
    out = open(path).read()
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    total += requests
    ok += requests - non2xx
    errors += non2xx
    if m := re.search(r"Socket errors: (.*)", out):
        errors += sum(int(n) for n in re.findall(r"\d+", m.group(1)))
    p99s.append(micros(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)))
cpu = lambda ticks: f"{int(ticks) / hz / duration * 100:.0f}%"
print(f"{name}\t{replicas}\t{connections}\t{ok / duration:.0f}\t{max(p99s) / 1000:.1f}\t{errors}\t{ok}\t{rows}"
      f"\t{cpu(cpu_gw)}\t{cpu(cpu_pg)}\t{cpu(cpu_emu)}\t{load_before} -> {load_after}\t{int(forwarded) / duration:.0f}")
PY
}

echo "== durable submissions/s, ${duration}s per configuration, $connections connections, $(nproc) cores, load $(load)"
echo "   PostgreSQL $(psql_run 'SHOW server_version'): fsync, synchronous_commit, full_page_writes on"
: >"$work/table"
run_configuration sqlite 1 "sqlite://$work/gateway.db" \
    "python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT count(*) FROM requests\").fetchone()[0])' '$work/gateway.db'"
for replicas in 1 2 3; do
    schema="bench_pg$replicas"
    psql_run "CREATE SCHEMA $schema"
    run_configuration "postgres-$replicas" "$replicas" "$pg_url?options=-c%20search_path%3D$schema" \
        "psql_run 'SELECT count(*) FROM $schema.requests'"
done

python3 - "$work/table" <<'PY'
import sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
base = float(rows[0][3]) or 1
print()
print(f"{'store':<12} {'replicas':>8} {'conns':>5} {'subm/s':>8} {'vs SQLite':>9} {'fwd/s':>6} {'p99 ms':>8} {'errors':>6} "
      f"{'2xx':>7} {'rows':>7} {'CPU gw':>7} {'CPU pg':>7} {'CPU emu':>7}  load 1/5/15 min before -> after")
for r in rows:
    store = "SQLite" if r[0] == "sqlite" else "PostgreSQL"
    print(f"{store:<12} {r[1]:>8} {r[2]:>5} {r[3]:>8} {float(r[3]) / base:>8.2f}x {r[12]:>6} {r[4]:>8} {r[5]:>6} {r[6]:>7} {r[7]:>7} "
          f"{r[8]:>7} {r[9]:>7} {r[10]:>7}  {r[11]}")
print("\nfwd/s: user requests the emulator received during the run (every replica forwards while it accepts);"
      "\nrows: requests stored during the run (>= the 2xx counted: answers in flight when wrk stopped are stored too);"
      "\nCPU: share of one core over the run (gateways summed; pg: the postmaster and its backends).")
PY
