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
summary="$(grep -E '^(=+ )?[0-9]+ (passed|failed|error)' "$log" | tail -n 1 || true)"
echo "compat: ${summary:-pytest printed no summary} (exit $status)"
exit "$status"
