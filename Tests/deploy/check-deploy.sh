#!/usr/bin/env bash
# Checks the deployment artefacts for real, without a Docker engine or a cluster:
#   - the Helm chart, rendered and linted (strict) by Helm's own library with several value sets, every
#     manifest validated against Kubernetes' schemas, the SQLite guard and the chart's contracts;
#   - the Dockerfile, with hadolint (warnings fail) and its contract;
#   - the image's runtime stage against `ldd` of a release binary built as the image builds it.
# Prints pytest's summary and a final "N passed, M failed" line; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

bash .ci/setup --python

echo "== swift build -c release --product purview-gateway --static-swift-stdlib (as the image's builder stage)"
# Always run: it is incremental, and it relinks a binary left by a build without the static stdlib.
swift build -c release --product purview-gateway --static-swift-stdlib
binary="$(swift build -c release --show-bin-path)/purview-gateway"

echo "== pytest Tests/deploy"
report="$(mktemp)"
trap 'rm -f "$report"' EXIT
status=0
PURVIEW_GATEWAY_RELEASE_BINARY="$binary" .venv/bin/python -m pytest -p no:cacheprovider -q -rfE \
    --junitxml="$report" Tests/deploy || status=$?

# The plain closing line, counted from pytest's own report (errors count as failures).
.venv/bin/python - "$report" <<'EOF'
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
total = sum(int(s.get("tests", 0)) for s in suites)
failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
line = f"{total - failed - skipped} passed, {failed} failed"
print(line + (f", {skipped} skipped" if skipped else ""))
EOF
if [ "$status" -eq 5 ]; then
    echo "check-deploy: pytest collected no test" >&2
fi
exit "$status"
