#!/usr/bin/env bash
# `npm run start:pair`: builds the app and starts two instances, on ports 3001 and 3002, sharing
# one PostgreSQL database and one Redis, as they would behind a load balancer. Ctrl-C stops both.
# DATABASE_URL and REDIS_URL default to the local servers; set them to use others.
set -euo pipefail
cd "$(dirname "$0")/.."

export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
ports=(${PAIR_PORTS:-3001 3002})

npm run build --silent

pids=()
stop() {
  trap - INT TERM EXIT
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap stop INT TERM EXIT

for port in "${ports[@]}"; do
  PORT=$port node dist/main.js &
  pids+=($!)
done

for port in "${ports[@]}"; do
  for _ in $(seq 1 200); do
    curl -fs -o /dev/null "http://127.0.0.1:${port}/health/ready" && break
    sleep 0.1
  done
  curl -fs -o /dev/null "http://127.0.0.1:${port}/health/ready" ||
    { echo "start-pair: the instance on port ${port} is not ready" >&2; exit 1; }
done
echo "start-pair: two instances ready on http://127.0.0.1:${ports[0]} and http://127.0.0.1:${ports[1]} (Ctrl-C stops both)" >&2
wait -n "${pids[@]}"
