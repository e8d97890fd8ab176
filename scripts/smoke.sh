#!/usr/bin/env bash
# Starts the built app (dist/) on a fresh SQLite file with no configuration, as a new user would
# after `npm ci && npm start`, and runs the README's curl workflow against it.
set -euo pipefail
cd "$(dirname "$0")/.."

workdir=$(mktemp -d)
# A port the OS has free right now, unless one is given.
port=${SMOKE_PORT:-$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')}
base="http://127.0.0.1:${port}"
log="${workdir}/app.log"

PORT=$port DB_PATH="${workdir}/auth.sqlite" node dist/main.js >"$log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$workdir"; }
trap cleanup EXIT

fail() { echo "smoke: $*"; cat "$log"; exit 1; }

# Ready when the docs document answers; a start that takes over 60 s fails the smoke test.
ready=false
for _ in $(seq 1 600); do
  if curl -fs -o /dev/null "${base}/docs-json"; then ready=true; break; fi
  kill -0 "$pid" 2>/dev/null || fail "the app exited during start-up"
  sleep 0.1
done
$ready || fail "the app did not answer on ${base} within 60 s"
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[process.argv[1]]))' "$1"; }
expect_status() {
  local want=$1; shift
  local got
  got=$(curl -s -o "${workdir}/body" -w '%{http_code}' "$@")
  [ "$got" = "$want" ] || fail "expected $want, got $got for: $* -> $(cat "${workdir}/body")"
}

credentials='{"email": "abc@abc.com", "password": "abc123-but-longer"}'
expect_status 201 --location "${base}/signup" --header 'Content-Type: application/json' --data-raw "$credentials"
expect_status 200 --location "${base}/signin" --header 'Content-Type: application/json' --data-raw "$credentials"
access=$(json access_token <"${workdir}/body")
refresh=$(json refresh_token <"${workdir}/body")
expect_status 200 --location "${base}/protected" --header "Authorization: Bearer ${access}"
grep -q 'Hello, abc@abc.com!' "${workdir}/body" || fail "unexpected /protected body"
expect_status 200 -X POST --location "${base}/refresh" --header "Authorization: Bearer ${refresh}"
access=$(json access_token <"${workdir}/body")
expect_status 200 -X POST --location "${base}/revoke" --header "Authorization: Bearer ${access}"
expect_status 401 --location "${base}/protected" --header "Authorization: Bearer ${access}"
expect_status 401 -X POST --location "${base}/refresh" --header "Authorization: Bearer ${access}"
expect_status 200 "${base}/docs"
[ -s "${workdir}/.jwt-secret" ] || fail "no development secret was generated beside the database"
if grep -q -e "$access" -e "abc123-but-longer" "$log"; then fail "a token or password reached the log"; fi
echo "smoke: README workflow passed against the built app"
