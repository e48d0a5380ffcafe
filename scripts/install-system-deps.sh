#!/usr/bin/env bash
# System packages the suite needs, from Debian's archive. Idempotent and quiet
# when everything is already there.
set -euo pipefail
need=()
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
# Browser tests drive Debian's Chromium through Playwright (no browser download).
command -v chromium >/dev/null || need+=(chromium chromium-driver fonts-dejavu-core)
# The SLO integration test starts its own Prometheus (no systemd service) and loads it with promtool.
{ command -v prometheus >/dev/null && command -v promtool >/dev/null; } || need+=(prometheus)
# The webhook intake benchmark drives gunicorn with wrk (a low-overhead C client).
command -v wrk >/dev/null || need+=(wrk)
# The fault tests start (and restart) their own redis-server on a free port.
command -v redis-server >/dev/null || need+=(redis-server)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# PostgreSQL and Redis run as services on the machine (see README); start them if stopped.
if ! pg_isready -h 127.0.0.1 -q 2>/dev/null && command -v pg_ctlcluster >/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi
if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && command -v redis-server >/dev/null; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true
fi
