#!/usr/bin/env bash
# Compatibility tests that drive real peers against the emulator: Microsoft's Python SDK from PyPI
# (Tests/python/test_sdk_lifecycle.py) and the recorded traffic of the live service
# (Tests/python/test_recordings_replay.py). Builds the binary (unless PURVIEW_GATEWAY_BIN names
# one), makes the pinned venv (.ci/setup --python), runs pytest, prints its summary line and exits
# with pytest's status.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

# A binary given by the caller is used as it is; otherwise the debug build, brought up to date
# (an incremental build is quick when nothing changed).
if [ -z "${PURVIEW_GATEWAY_BIN:-}" ]; then
    echo "compat: swift build --product purview-gateway"
    swift build --product purview-gateway
    export PURVIEW_GATEWAY_BIN="$root/.build/debug/purview-gateway"
fi

bash .ci/setup --python

# No cache directory or bytecode in the checkout; loopback traffic never goes through a proxy.
export PYTHONDONTWRITEBYTECODE=1
export NO_PROXY="127.0.0.1,localhost,::1${NO_PROXY:+,$NO_PROXY}"
export no_proxy="$NO_PROXY"
unset AZURE_REGIONAL_AUTHORITY_NAME

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
"$root/.venv/bin/python" -m pytest -q -p no:cacheprovider Tests/python 2>&1 | tee "$log" || status=$?
# One plain closing line, "compat: N passed, M failed", from pytest's own summary.
summary="$(grep -E '[0-9]+ (passed|failed|error)' "$log" | tail -n 1 || true)"
counts="$(python3 - "$summary" <<'PY'
import re, sys
text = sys.argv[1]
def count(words):
    return sum(int(n) for n, w in re.findall(r"(\d+) (passed|failed|errors?)", text) if w in words)
print(count({"passed"}), count({"failed", "error", "errors"}))
PY
)"
passed="${counts% *}"
failed="${counts#* }"
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "compat: $passed passed, $failed failed"
exit "$status"
