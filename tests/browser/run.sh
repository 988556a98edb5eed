#!/usr/bin/env bash
# Browser tests: Gatehouse (release build) driven by headless Chromium through
# playwright-core, every page audited with axe-core and validated with the Nu
# Html Checker. Each scenario runs with JavaScript enabled and disabled.
#
#   bash tests/browser/run.sh                           # every scenario
#   bash tests/browser/run.sh foundation.test.mjs       # chosen files (relative to tests/browser)
#   BROWSER_TEST_MODES=nojs bash tests/browser/run.sh   # one mode only (js or nojs)
#   GATEHOUSE_BIN=/path/to/gatehouse bash tests/browser/run.sh   # skip the build, use this binary
#
# Screenshots, page sources, axe reports and server logs:
#   ${CARGO_TARGET_DIR:-target}/browser-screenshots/<scenario>-<js|nojs>/
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

# Chromium (and fonts for stable screenshots) from Debian; playwright's own
# browser download does not work here and is not needed.
if [[ ! -x /usr/bin/chromium ]]; then
  echo "run.sh: installing Chromium with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends chromium fonts-liberation
fi

# The Nu Html Checker (vnu.jar) runs on Java.
if ! command -v java >/dev/null 2>&1; then
  echo "run.sh: installing a Java runtime with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends default-jre-headless
fi

# Node packages, exactly as locked. Install scripts are skipped: vnu-jar's
# would download a JDK, and the machine's Java is used instead.
stamp="$here/node_modules/.gatehouse-package-lock.json"
if [[ ! -d "$here/node_modules" ]] || ! cmp -s "$here/package-lock.json" "$stamp"; then
  echo "run.sh: npm ci in tests/browser" >&2
  (cd "$here" && npm ci --ignore-scripts --no-audit --no-fund)
  cp "$here/package-lock.json" "$stamp"
fi

# The release binary.
if [[ -z "${GATEHOUSE_BIN:-}" ]]; then
  cargo build --release --bin gatehouse
  export GATEHOUSE_BIN="${CARGO_TARGET_DIR:-target}/release/gatehouse"
fi
if [[ ! -x "$GATEHOUSE_BIN" ]]; then
  echo "run.sh: no executable Gatehouse at $GATEHOUSE_BIN" >&2
  exit 1
fi
GATEHOUSE_BIN="$(cd "$(dirname "$GATEHOUSE_BIN")" && pwd)/$(basename "$GATEHOUSE_BIN")"
export GATEHOUSE_BIN

cd "$here"
if [[ $# -gt 0 ]]; then
  files=("$@")
else
  files=(*.test.mjs)
fi
status=0
node --test --test-concurrency=1 "${files[@]}" || status=$?
echo "run.sh: screenshots, page sources and axe reports in ${CARGO_TARGET_DIR:-$root/target}/browser-screenshots/" >&2
exit "$status"
