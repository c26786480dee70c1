#!/usr/bin/env bash
# The console (/console) and the emulator inbox (/_emulator/ui) in a real browser: Debian's chromium and
# chromium-driver (installed by .ci/setup --browser when missing), selenium from the pinned venv
# (.ci/setup --python), headless. Builds the binary unless PURVIEW_GATEWAY_BIN names one. Screenshots
# land in .build/console-screenshots/. Prints "console: N passed, M failed" and exits with pytest's status.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
echo "== the console and the emulator inbox in a headless browser"

if [ -z "${PURVIEW_GATEWAY_BIN:-}" ]; then
    echo "console: swift build --product purview-gateway"
    swift build --product purview-gateway
    export PURVIEW_GATEWAY_BIN="$root/.build/debug/purview-gateway"
fi

bash .ci/setup --browser --python

export PYTHONDONTWRITEBYTECODE=1
export NO_PROXY="127.0.0.1,localhost,::1${NO_PROXY:+,$NO_PROXY}"
export no_proxy="$NO_PROXY"
# Selenium must use the Debian driver and browser it is given, never fetch its own.
export SE_OFFLINE=true
export CONSOLE_SCREENSHOTS="$root/.build/console-screenshots"
mkdir -p "$CONSOLE_SCREENSHOTS"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
"$root/.venv/bin/python" -m pytest -q -p no:cacheprovider Tests/console 2>&1 | tee "$log" || status=$?
summary="$(grep -E '[0-9]+ (passed|failed|error)' "$log" | tail -n 1 || true)"
passed="$( (grep -oE '[0-9]+ passed' <<<"$summary" || true) | awk '{ n += $1 } END { print n + 0 }')"
failed="$( (grep -oE '[0-9]+ (failed|errors?)' <<<"$summary" || true) | awk '{ n += $1 } END { print n + 0 }')"
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "console: screenshots in $CONSOLE_SCREENSHOTS"
echo "console: $passed passed, $failed failed"
exit "$status"
