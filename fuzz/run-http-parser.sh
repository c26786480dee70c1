#!/bin/sh
# Fuzzes the HTTP request and response parsers with libFuzzer and AddressSanitizer.
#
# Usage: fuzz/run-http-parser.sh [SECONDS]   (default 60)
#
# Builds FuzzHTTPParser with --sanitize=fuzzer --sanitize=address -Xswiftc -DFUZZING in its own
# scratch directory, so the normal .build is left alone. -DFUZZING removes the corpus-replay main that a
# plain `swift build` links (there, `FuzzHTTPParser fuzz/corpus/http-parser` replays files through the
# same checks). Seeds come from fuzz/corpus/http-parser (read only); inputs the fuzzer finds go to
# fuzz/artifacts/corpus, crashes to fuzz/artifacts/crash-*, the log to fuzz/artifacts/http-parser.log.
# Prints libFuzzer's final "Done N runs in S second(s)" line; exits non-zero if it found a crash.
set -eu

seconds=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

artifacts="$root/fuzz/artifacts"
mkdir -p "$artifacts/corpus"

# --sanitize=fuzzer makes SwiftPM link libFuzzer's main and compile as a library, but it hands swiftc
# "-sanitize=fuzzer -sanitize=address" and the driver keeps only the last, so nothing would be
# instrumented for coverage (libFuzzer then reports no "cov:" and mutates blindly). The combined
# -Xswiftc flag comes last and restores it.
scratch="$root/.build/fuzz"
build() {
    swift build -c release --scratch-path "$scratch" --product FuzzHTTPParser \
        --sanitize=fuzzer --sanitize=address -Xswiftc -DFUZZING -Xswiftc -sanitize=fuzzer,address "$@"
}
build >"$artifacts/build.log" 2>&1 || {
    cat "$artifacts/build.log"
    exit 1
}
binary="$(build --show-bin-path)/FuzzHTTPParser"

# After a crash swift-backtrace would otherwise linger and hold the output open.
status=0
SWIFT_BACKTRACE=enable=no "$binary" \
    -max_total_time="$seconds" \
    -timeout=10 \
    -rss_limit_mb=2048 \
    -dict="$root/fuzz/http-parser.dict" \
    -artifact_prefix="$artifacts/" \
    "$artifacts/corpus" "$root/fuzz/corpus/http-parser" >"$artifacts/http-parser.log" 2>&1 || status=$?

grep -E 'DONE +cov:' "$artifacts/http-parser.log" || true
grep -E '^Done [0-9]+ runs in [0-9]+ second' "$artifacts/http-parser.log" || true
if ! grep -qE ' cov: [0-9]+' "$artifacts/http-parser.log"; then
    echo "no coverage reported: the fuzzer is not instrumented" >&2
    [ "$status" -ne 0 ] || status=3
fi
if [ "$status" -ne 0 ]; then
    echo "fuzzer failed (exit $status); see $artifacts/http-parser.log" >&2
    grep -E 'fuzz invariant broken|ERROR: |Test unit written to' "$artifacts/http-parser.log" >&2 || true
    exit "$status"
fi
