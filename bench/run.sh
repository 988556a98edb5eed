#!/usr/bin/env bash
# Gatehouse benchmark: one interleaved run against a release build, every
# row read as a ratio to a bare axum "hello" (the floor) measured just before
# it, with the server's CPU per request from /proc/<pid>/stat.
#
# It builds nothing. Build first, in the repository:
#   cargo build --release --bin gatehouse --bin gatehouse-floor
# then:
#   bench/run.sh                          # fresh SQLite in a temp dir
#   bench/run.sh --postgres URL           # an empty PostgreSQL database
#
# Environment (all optional):
#   GATEHOUSE_BIN, GATEHOUSE_FLOOR_BIN  the two binaries (default: the
#                        release dir of cargo's target dir)
#   BENCH_DURATION       each measurement window (default 8s)
#   BENCH_CONNECTIONS    wrk connections (default 32), BENCH_THREADS (2)
#   BENCH_MEMBERS        members of the benchmark org (default 100000)
#   BENCH_AUDIT_EVENTS   events in its audit log (default 1000000)
#   BENCH_AGENTS         agents in its default workspace (default 10000)
#   BENCH_ROWS           which rows, in order (default: all of
#                        "healthz account me members agents agents-api audit login")
#   BENCH_PORT, BENCH_FLOOR_PORT   (default 18080, 18090; 127.0.0.1 only)
#   BENCH_SECRET_KEY     with --postgres: the secret key (default: a new one)
#
# Everything listens on and targets 127.0.0.1; every server it starts is
# stopped by its pid when it exits, however it exits.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
pg_url=""
while [ $# -gt 0 ]; do
    case "$1" in
        --postgres) pg_url=${2:?--postgres needs a URL}; shift 2 ;;
        -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

duration=${BENCH_DURATION:-8s}
conns=${BENCH_CONNECTIONS:-32}
threads=${BENCH_THREADS:-2}
members=${BENCH_MEMBERS:-100000}
events=${BENCH_AUDIT_EVENTS:-1000000}
rows=${BENCH_ROWS:-healthz account me members agents agents-api audit login}
port=${BENCH_PORT:-18080}
floor_port=${BENCH_FLOOR_PORT:-18090}
app="http://127.0.0.1:$port"
floor="http://127.0.0.1:$floor_port"

die() { echo "bench: $*" >&2; exit 1; }

command -v curl >/dev/null || die "curl is missing (apt-get install curl)"
command -v wrk >/dev/null || die "wrk is missing: apt-get install wrk (Debian/Ubuntu)"

# The binaries: given, or in cargo's target dir (which may be redirected by
# CARGO_TARGET_DIR or a cargo wrapper, so ask cargo rather than guess).
release_dir() {
    local dir=""
    if command -v cargo >/dev/null; then
        dir=$(cd "$root" && cargo metadata --format-version 1 --no-deps 2>/dev/null |
            sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
    fi
    echo "${dir:-$root/target}/release"
}
bin=${GATEHOUSE_BIN:-}
floor_bin=${GATEHOUSE_FLOOR_BIN:-}
if [ -z "$bin" ] || [ -z "$floor_bin" ]; then
    rel=$(release_dir)
    bin=${bin:-$rel/gatehouse}
    floor_bin=${floor_bin:-$rel/gatehouse-floor}
fi
for b in "$bin" "$floor_bin"; do
    [ -x "$b" ] || die "$b not found; build it: cargo build --release --bin gatehouse --bin gatehouse-floor (or set GATEHOUSE_BIN / GATEHOUSE_FLOOR_BIN)"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-bench.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "$pg_url" ]; then
    export GATEHOUSE_DATABASE_URL="$pg_url"
    export GATEHOUSE_SECRET_KEY="${BENCH_SECRET_KEY:-$(head -c 32 /dev/urandom | base64)}"
    engine=postgres
else
    export GATEHOUSE_DATABASE_URL="sqlite://$work/gatehouse.db"
    engine=sqlite
fi

echo "== seeding ($engine): $members members, $events audit events"
t0=$(date +%s)
seed=$("$bin" seed-bench --members "$members" --agents "${BENCH_AGENTS:-10000}" | grep "^Seeded")
echo "   $seed ($(($(date +%s) - t0)) s)"
# "Seeded N members in X s. Owner: EMAIL / PASSWORD (org /orgs/SLUG)"
email=$(sed -n 's/.*Owner: \([^ ]*\) \/ .*/\1/p' <<<"$seed")
password=$(sed -n 's/.*Owner: [^ ]* \/ \([^ ]*\) .*/\1/p' <<<"$seed")
slug=$(sed -n 's/.*(org \/orgs\/\([^)]*\)).*/\1/p' <<<"$seed")
[ -n "$email" ] && [ -n "$password" ] && [ -n "$slug" ] || die "cannot read the seed output: $seed"
audit_start=$(date +%s)
if [ "$events" -gt 0 ]; then
    "$bin" bench-seed-audit --email "$email" --org "$slug" --events "$events" | grep "^Inserted" | sed 's/^/   /'
fi

# The sign-in flood must measure hashing, not the lock-out that normally
# stops it after a few failures.
export GATEHOUSE_SIGNIN_MAX_FAILURES=1000000000
export GATEHOUSE_SIGNIN_MAX_FAILURES_PER_IP=1000000000
# Likewise the API rows measure the API, not the per-key quota (429s).
export GATEHOUSE_API_REQUESTS_PER_MINUTE=1000000000
export GATEHOUSE_BIND="127.0.0.1:$port"

"$floor_bin" "127.0.0.1:$floor_port" >"$work/floor.log" 2>&1 &
floor_pid=$!
pids+=("$floor_pid")
# stdout to a file, as in production behind a collector (no terminal).
"$bin" serve >"$work/gatehouse.log" 2>&1 &
app_pid=$!
pids+=("$app_pid")

wait_up() { # url pid
    for _ in $(seq 1 200); do
        kill -0 "$2" 2>/dev/null || { cat "$work"/*.log >&2; die "a server exited at start-up (port in use?)"; }
        curl -fs -o /dev/null "$1" && return 0
        sleep 0.1
    done
    die "$1 did not answer within 20 s"
}
wait_up "$floor/" "$floor_pid"
wait_up "$app/healthz" "$app_pid"

# Pages are read whole before they are searched (a pipe into `grep -q` or
# `head` would cut curl off, which pipefail reports as a failure).
first_match() { # regex, text on stdin: the first capture group
    local text
    text=$(cat)
    [[ $text =~ $1 ]] && echo "${BASH_REMATCH[1]}"
}
csrf() { # jar url
    curl -fs -c "$1" -b "$1" "$2" | first_match 'name="csrf_token" value="([^"]*)"'
}
status() { # expected, then curl arguments
    local want=$1; shift
    local got
    got=$(curl -s -o /dev/null -w '%{http_code}' "$@")
    [ "$got" = "$want" ] || die "expected $want, got $got from curl $*"
}

# A signed-in session, the owner's, through the sign-in form.
jar="$work/owner.jar"
token=$(csrf "$jar" "$app/login")
status 303 -c "$jar" -b "$jar" --data-urlencode "email=$email" \
    --data-urlencode "password=$password" --data-urlencode "csrf_token=$token" "$app/login"
session=$(awk '$6 == "gatehouse_session" { print $6 "=" $7 }' "$jar")
[ -n "$session" ] || die "no session cookie after sign-in"
status 200 -H "Cookie: $session" "$app/account"

# An API key, through the web flow: sudo (the password again), then the form.
token=$(csrf "$jar" "$app/sudo?next=/account/keys/new")
status 303 -c "$jar" -b "$jar" --data-urlencode "password=$password" \
    --data-urlencode "csrf_token=$token" -d next=/account/keys/new "$app/sudo"
token=$(csrf "$jar" "$app/account/keys/new")
reveal=$(curl -s -o /dev/null -w '%{redirect_url}' -c "$jar" -b "$jar" \
    --data-urlencode "csrf_token=$token" -d name=bench -d scopes=profile:read -d expiry=30 \
    "$app/account/keys")
key=$(curl -fs -b "$jar" "$reveal" | first_match '(gtk_[A-Za-z0-9]+_[A-Za-z0-9]+)')
[ -n "$key" ] || die "no API key from the key form (redirected to '$reveal')"
status 200 -H "Authorization: Bearer $key" "$app/v1/me"
# A second key for the workspace API: agents:read, bound to the bench org
# and granted its `default` workspace (the checkbox's value is its id).
form=$(curl -fs -c "$jar" -b "$jar" "$app/account/keys/new")
token=$(first_match 'name="csrf_token" value="([^"]*)"' <<<"$form")
ws_id=$(first_match 'name="workspaces" value="([0-9a-f-]{36})"' <<<"$form")
[ -n "$ws_id" ] || die "the key form offers no workspace of the bench org"
reveal=$(curl -s -o /dev/null -w '%{redirect_url}' -c "$jar" -b "$jar" \
    --data-urlencode "csrf_token=$token" -d name=bench-agents -d scopes=agents:read \
    -d org="$slug" -d workspaces="$ws_id" -d expiry=30 "$app/account/keys")
agents_key=$(curl -fs -b "$jar" "$reveal" | first_match '(gtk_[A-Za-z0-9]+_[A-Za-z0-9]+)')
[ -n "$agents_key" ] || die "no workspace key from the key form (redirected to '$reveal')"
# Entering sudo gave the session a new id: read the cookie again.
session=$(awk '$6 == "gatehouse_session" { print $6 "=" $7 }' "$jar")
status 200 -H "Cookie: $session" "$app/account"

# Deep keyset pages: the member list near the end by name (seed-bench names
# member i "First Last i", and "margaret turing …" sorts last: start at the
# last tenth of them), the audit log 200 events from its oldest.
members_url="$app/orgs/$slug/members?after=00000000000000000000000000000000~margaret%20turing%20$(printf %06d $((members * 9 / 10)))"
audit_url="$app/orgs/$slug/audit?before=$((audit_start - events + 200))~ffffffffffffffffffffffffffffffff"
page=$(curl -fs -H "Cookie: $session" "$members_url")
grep -q "@$slug.test" <<<"$page" || die "the deep member page lists nobody: $members_url"
if [ "$events" -gt 0 ]; then
    page=$(curl -fs -H "Cookie: $session" "$audit_url")
    grep -q "bench.event" <<<"$page" || die "the deep audit page shows no event: $audit_url"
fi

# The agent list of the default workspace (seed-bench: agents named
# agent-000000 …), from the last tenth: a cursor is base64url of
# [name, id], and names are unique among live agents.
agents=${BENCH_AGENTS:-10000}
cursor=$(printf '["agent-%06d","00000000-0000-0000-0000-000000000000"]' $((agents * 9 / 10)) |
    base64 -w0 | tr '+/' '-_' | tr -d '=')
agents_url="$app/orgs/$slug/workspaces/default/agents?after=$cursor"
agents_api="$app/v1/orgs/$slug/workspaces/default/agents?after=$cursor&limit=50"
page=$(curl -fs -H "Cookie: $session" "$agents_url")
grep -q "agent-$(printf %06d $((agents * 9 / 10 + 1)))" <<<"$page" || die "the deep agent page lists nobody: $agents_url"
page=$(curl -fs -H "Authorization: Bearer $agents_key" "$agents_api")
grep -q "agent-$(printf %06d $((agents * 9 / 10 + 1)))" <<<"$page" || die "the deep agent API page lists nobody: $agents_api"

# The flood's anonymous session and its CSRF token.
flood_jar="$work/flood.jar"
token=$(csrf "$flood_jar" "$app/login")
export BENCH_LOGIN_COOKIE
BENCH_LOGIN_COOKIE=$(awk '$6 == "gatehouse_session" { print $6 "=" $7 }' "$flood_jar")
export BENCH_LOGIN_BODY="email=$(printf %s "$email" | sed 's/@/%40/')&password=not-the-password&csrf_token=$token"
status 401 -H "Cookie: $BENCH_LOGIN_COOKIE" -d "$BENCH_LOGIN_BODY" "$app/login"

tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# One wrk window: prints "rps requests p50_ms p99_ms cpu_us_per_request
# non_2xx_3xx" for the server of the given pid.
measure() { # pid connections url [wrk arguments...]
    local pid=$1 c=$2 url=$3; shift 3
    local before after out
    before=$(cpu_ticks "$pid")
    out=$(wrk -t"$threads" -c"$c" -d"$duration" --latency "$@" "$url")
    after=$(cpu_ticks "$pid")
    awk -v ticks=$((after - before)) -v tck="$tck" '
        function ms(v) {
            if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0;
            if (v ~ /m$/) return v * 60000; if (v ~ /s$/) return v * 1000; return v
        }
        $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
        /requests in/ { n = $1 } /^Requests\/sec/ { rps = $2 }
        /Non-2xx/ { bad += $NF } /Socket errors/ { gsub(/,/, ""); bad += $4 + $6 + $8 + $10 }
        END { printf "%.0f %d %.2f %.2f %.0f %d\n", rps, n, p50, p99, n ? ticks * 1e6 / tck / n : 0, bad }
    ' <<<"$out"
}

results="$work/results"
: >"$results"
row() { # label pid connections url [wrk arguments...]: floor, then the row
    local label=$1; shift
    local f r
    f=$(measure "$floor_pid" "$conns" "$floor/")
    r=$(measure "$@")
    echo "$label|$f|$r" >>"$results"
    echo "   $label: $r (floor: $f)"
}

echo "== measuring: wrk -t$threads -c$conns -d$duration, a floor window before each row"
for name in $rows; do
    case "$name" in
        healthz) row '`GET /healthz`' "$app_pid" "$conns" "$app/healthz" ;;
        account) row '`GET /account`, signed in' "$app_pid" "$conns" "$app/account" -H "Cookie: $session" ;;
        me) row '`GET /v1/me`, API key' "$app_pid" "$conns" "$app/v1/me" -H "Authorization: Bearer $key" ;;
        members) row "member list, deep page ($members members)" "$app_pid" "$conns" "$members_url" -H "Cookie: $session" ;;
        agents) row "agent list page, deep page ($agents agents)" "$app_pid" "$conns" "$agents_url" -H "Cookie: $session" ;;
        agents-api) row "agent list API, deep page ($agents agents)" "$app_pid" "$conns" "$agents_api" -H "Authorization: Bearer $agents_key" ;;
        audit) row "org audit log, deep page ($events events)" "$app_pid" "$conns" "$audit_url" -H "Cookie: $session" ;;
        login)
            row '`POST /login` flood, wrong password (401)' "$app_pid" "$conns" "$app/login" \
                -s "$here/login.lua" --timeout 10s
            # Signed-in pages while the flood goes on: only their latency
            # means something here (the CPU is shared with the flood).
            wrk -t1 -c"$conns" -d"$duration" --timeout 10s -s "$here/login.lua" "$app/login" >/dev/null &
            flood=$!
            pids+=("$flood")
            during=$(measure "$app_pid" 8 "$app/account" -H "Cookie: $session")
            wait "$flood" || true
            echo '`GET /account` during the flood (8 clients)|-|'"$during" >>"$results"
            echo "   /account during the flood: $during"
            ;;
        *) die "unknown row $name" ;;
    esac
done
rss=$(awk '/^VmRSS|^VmHWM/ { printf "%s %.0f MB  ", $1, $2 / 1024 }' "/proc/$app_pid/status")

echo
echo "Gatehouse benchmark, $(date -u +%Y-%m-%d), $engine, $(nproc) cores, wrk -t$threads -c$conns -d$duration"
echo "(ratio: row rps ÷ the floor window just before it; CPU: the gatehouse process only)"
echo
echo "| request | req/s | × floor | p50 | p99 | server CPU / request | non-2xx/3xx |"
echo "|---|---|---|---|---|---|---|"
awk -F'|' '
    $2 != "-" { split($2, f, " "); fr += f[1]; f50 += f[3]; f99 += f[4]; fc += f[5]; nf++ }
    { lines[NR] = $0 }
    END {
        printf "| bare axum hello (floor, mean of %d windows) | %d | 1.00 | %.2f ms | %.2f ms | %d µs | |\n", nf, fr / nf, f50 / nf, f99 / nf, fc / nf
        for (i = 1; i <= NR; i++) {
            split(lines[i], c, "|"); split(c[3], r, " ")
            if (c[2] == "-") { ratio = "—"; cpu = "—" } else {
                split(c[2], f, " "); ratio = sprintf("%.2f", r[1] / f[1]); cpu = sprintf("%d µs", r[5])
            }
            printf "| %s | %d | %s | %.2f ms | %.2f ms | %s | %d |\n", c[1], r[1], ratio, r[3], r[4], cpu, r[6]
        }
    }' "$results"
echo
echo "gatehouse memory after the run: $rss"
