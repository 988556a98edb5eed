#!/usr/bin/env bash
# SCIM 2.0 compliance: scim2-tester (PyPI) against a release build of
# Gatehouse serving a throwaway SQLite database on 127.0.0.1, with a demo org
# and a SCIM token made on the command line. Fails when a check that applies
# fails; .ci/scim-tester.py lists the ones that do not apply, and why (as
# does the README's SCIM section).
#
#   bash .ci/scim-tester.sh                        # builds the release binary if needed
#   GATEHOUSE_BIN=/path/to/gatehouse bash .ci/scim-tester.sh
#
# The virtual environment is kept under ~/.cache (like the build directory),
# so later runs only start the server and run the checks (a few seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/gatehouse-target}"
if [[ -z "${GATEHOUSE_BIN:-}" ]]; then
  cargo build --release --bin gatehouse
  GATEHOUSE_BIN="$CARGO_TARGET_DIR/release/gatehouse"
fi
if [[ ! -x "$GATEHOUSE_BIN" ]]; then
  echo "scim-tester.sh: no executable Gatehouse at $GATEHOUSE_BIN" >&2
  exit 1
fi

# The tester's versions are pinned: the runner tells it which userName
# values to use through its filling module.
REQUIREMENTS="scim2-tester==0.5.2 scim2-cli==0.6.0"
VENV="${SCIM_TESTER_VENV:-$HOME/.cache/gatehouse-scim-venv}"
if [[ ! -x "$VENV/bin/python" ]] || [[ "$(cat "$VENV/.requirements" 2>/dev/null)" != "$REQUIREMENTS" ]]; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  # shellcheck disable=SC2086 # one word per requirement
  "$VENV/bin/pip" install --quiet --disable-pip-version-check $REQUIREMENTS
  echo "$REQUIREMENTS" >"$VENV/.requirements"
fi

work="$(mktemp -d)"
pid=""
stop() {
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop EXIT

db="sqlite://$work/gatehouse.db"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$GATEHOUSE_BIN" migrate --database-url "$db" >/dev/null
"$GATEHOUSE_BIN" seed-demo --database-url "$db" >/dev/null
token="$("$GATEHOUSE_BIN" operator scim-token create --org demo-co --name scim2-tester --database-url "$db" 2>/dev/null)"

# A limit well above what the checks send (they run in about a second).
"$GATEHOUSE_BIN" serve --database-url "$db" --bind "127.0.0.1:$port" \
  --outbox-dir "$work/outbox" --api-requests-per-minute 100000 --shutdown-drain-secs 1 \
  >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done

status=0
SCIM_TOKEN="$token" "$VENV/bin/python" .ci/scim-tester.py "http://127.0.0.1:$port/scim/v2" || status=$?
if [[ $status -ne 0 ]]; then
  echo "== server log (last 40 lines)" >&2
  tail -n 40 "$work/server.log" >&2
fi
echo "scim-tester.sh: $((SECONDS - started)) s"
exit $status
