#!/usr/bin/env bash
# The whole test suite against real PostgreSQL and Redis (DATABASE_URL, REDIS_URL).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export DJANGO_SETTINGS_MODULE=config.settings.test
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/devops_maturity}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/15}"
exec pytest --create-db "$@"
