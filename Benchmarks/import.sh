#!/usr/bin/env bash
# Batch import: a generated 100k-row CSV uploaded with `purview-gateway import` to a release gateway (embedded
# emulator, SQLite). Reports the time until the 202 (every row validated and stored) and the gateway's RSS
# before (idle) and at its peak during the upload (sampled every 50 ms from /proc). Targets (issue 7): accepted
# in at most 30 s, peak RSS at most 100 MiB above idle.
# Usage: Benchmarks/import.sh [rows, default 100000]
# Environment: GATEWAY_BIN (a purview-gateway binary to use instead of building one), COMPRESS=1 (upload a .csv.gz),
# GATEWAY_IMPORT_RATE (forwarding pace during the run, default 20 rows/s).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rows="${1:-100000}"
binary="${GATEWAY_BIN:-}"
if [ -z "$binary" ]; then
    swift build -c release --product purview-gateway >/dev/null
    binary=.build/release/purview-gateway
fi

work="$(mktemp -d)"
gateway_pid=""
sampler_pid=""
cleanup() {
    for pid in $sampler_pid $gateway_pid; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

key="bench-import-$RANDOM$RANDOM"
digest="$(printf %s "$key" | sha256sum | cut -d' ' -f1)"
printf '{"clients":[{"name":"bench","keySha256":"%s","scopes":["imports:write","requests:read"]}]}' "$digest" >"$work/keys.json"

GATEWAY_API_KEYS_FILE="$work/keys.json" GATEWAY_DATABASE_URL="sqlite://$work/state/gateway.db" \
    GATEWAY_LISTEN=127.0.0.1:0 GATEWAY_IMPORT_RATE="${GATEWAY_IMPORT_RATE:-20}" LOG_LEVEL=warning \
    "$binary" serve >"$work/gateway.out" 2>"$work/gateway.err" &
gateway_pid=$!
url=""
for _ in $(seq 1 200); do
    url="$(grep -o 'listening on http://[0-9.:]*' "$work/gateway.out" | head -1 | sed 's/listening on //' || true)"
    [ -n "$url" ] && break
    sleep 0.05
done
[ -n "$url" ] || { echo "the gateway did not start:"; cat "$work/gateway.err"; exit 1; }

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$gateway_pid/status"; }
# One small import first, so idle RSS includes the import path's code and the store's caches.
printf 'qualifiedName,purpose,requestedBy\nmssql://db/warm,warm-up,warm@contoso.com\n' >"$work/warm.csv"
"$binary" import "$work/warm.csv" --url "$url" --key "$key" >/dev/null
sleep 1
idle="$(rss_kib)"

python3 - "$rows" "$work/rows.csv" <<'PY'
import sys
rows, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as out:
    out.write("qualifiedName,purpose,requestedBy,duration\n")
    for row in range(1, rows + 1):
        purpose = "" if row % 1000 == 0 else f'"quarterly review, team {row % 97}"'
        out.write(f"mssql://sales-db/dbo/orders_{row},{purpose},user{row % 5000}@contoso.com,P30D\n")
PY
file="$work/rows.csv"
if [ "${COMPRESS:-0}" = 1 ]; then env -u GZIP gzip -k "$file"; file="$file.gz"; fi
size="$(stat -c %s "$file")"

(
    peak=0
    while kill -0 "$gateway_pid" 2>/dev/null; do
        now="$(rss_kib 2>/dev/null || echo 0)"
        [ "${now:-0}" -gt "$peak" ] && peak="$now" && echo "$peak" >"$work/peak"
        sleep 0.05
    done
) &
sampler_pid=$!

start="$(date +%s.%N)"
"$binary" import "$file" --url "$url" --key "$key" --rejected-file "$work/rejected.csv" >"$work/import.out" 2>&1 || true
end="$(date +%s.%N)"
sleep 0.2
peak="$(cat "$work/peak" 2>/dev/null || echo "$idle")"
summary="$(grep '^Import .*: ' "$work/import.out" | tail -1)"
[ -n "$summary" ] || { echo "the import failed:"; cat "$work/import.out"; exit 1; }

python3 - "$rows" "$size" "$start" "$end" "$idle" "$peak" "$summary" <<'PY'
import sys
rows, size, start, end, idle, peak, summary = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
seconds = end - start
growth = (peak - idle) / 1024
print(f"rows: {rows} ({size / 1048576:.1f} MiB file)")
print(f"accepted in: {seconds:.1f} s ({rows / seconds:,.0f} rows/s)  target <= 30 s: {'ok' if seconds <= 30 else 'MISSED'}")
print(f"gateway RSS: idle {idle / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB, growth {growth:.1f} MiB  target <= 100 MiB: {'ok' if growth <= 100 else 'MISSED'}")
print(summary)
PY
