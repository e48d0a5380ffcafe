#!/usr/bin/env bash
# Load run: gunicorn (production settings over plain HTTP) + a Celery worker, PostgreSQL and Redis,
# driven by locust with a mix of page views, API reads and signed webhook deliveries.
#
#   bash scripts/load/run.sh                 # 40 users for 60 s (the figures in docs/quality.md)
#   LOAD_USERS=10 LOAD_TIME=15s bash scripts/load/run.sh    # the smoke version
#
# Uses its own database (LOAD_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/dm_load),
# created, migrated and filled with the demo data on first use, and Redis DB 11 (LOAD_REDIS_URL).
# Prints locust's summary and one line: requests, rate, failures, p50/p95/p99. Exits 1 on any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/.venv/bin:$PATH"

USERS="${LOAD_USERS:-40}"
SPAWN="${LOAD_SPAWN_RATE:-4}"
RUN_TIME="${LOAD_TIME:-60s}"
PORT="${LOAD_PORT:-$(python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"
OUT="${LOAD_OUT:-artifacts/load}"
mkdir -p "$OUT"

export DATABASE_URL="${LOAD_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/dm_load}"
export REDIS_URL="${LOAD_REDIS_URL:-redis://127.0.0.1:6379/11}"
export PYTHONPATH="$PWD/scripts/load${PYTHONPATH:+:$PYTHONPATH}"
export DJANGO_SETTINGS_MODULE=settings
export SECRET_KEY="load-$(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
export ALLOWED_HOSTS="127.0.0.1,localhost"
export CACHE_KEY_PREFIX=dmload

python scripts/load/ensure_db.py
python manage.py migrate --noinput -v0
python manage.py collectstatic --noinput -v0
if ! python manage.py shell -c "from apps.teams.models import Organization; import sys; sys.exit(0 if Organization.objects.filter(slug='northwind').exists() else 1)" 2>/dev/null; then
  echo "load: seeding the demo data (first run only, ~2 minutes)"
  python manage.py seed_demo --quiet-logins
fi

# A token for the API readers and a GitHub integration with a known secret for the webhook senders.
eval "$(python manage.py shell -c "
import secrets
from apps.accounts.models import User
from apps.accounts.services import api_token_create
from apps.core import permissions
from apps.delivery import services
from apps.delivery.models import Integration
from apps.teams.models import Organization, Team
org = Organization.objects.get(slug='northwind')
leader = User.objects.get(email='cto@northwind.example')
_, key = api_token_create(actor=leader, user=leader, name='load test')
Integration.objects.filter(organization=org, name='Load test').delete()
secret = secrets.token_urlsafe(32)
team = Team.objects.filter(organization=org).order_by('pk').first()
integration, _ = services.integration_create(actor=permissions.SYSTEM, organization=org, team=team, name='Load test', kind='github', secret=secret)
print(f'export LOAD_API_TOKEN={key} LOAD_HOOK_SECRET={secret} LOAD_HOOK_PATH=/delivery/hooks/{integration.token}/')
" 2>/dev/null | tail -1)"
export LOAD_EMAIL=cto@northwind.example LOAD_PASSWORD=demo-password-2026

gunicorn config.wsgi --bind "127.0.0.1:$PORT" --workers "${LOAD_GUNICORN_WORKERS:-4}" --threads 2 \
  --access-logfile /dev/null --error-logfile "$OUT/gunicorn.log" &
GUNICORN=$!
celery -A config.celery_app worker --pool=prefork --concurrency=2 --without-gossip --without-mingle \
  --loglevel=WARNING --logfile "$OUT/worker.log" &
WORKER=$!
trap 'kill $GUNICORN $WORKER 2>/dev/null || true; wait $GUNICORN $WORKER 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.5; done

locust -f scripts/load/locustfile.py --headless --host "http://127.0.0.1:$PORT" \
  --users "$USERS" --spawn-rate "$SPAWN" --run-time "$RUN_TIME" --stop-timeout 10 \
  --csv "$OUT/load" --only-summary --loglevel WARNING || true

python - "$OUT/load_stats.csv" "$USERS" "$RUN_TIME" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
total = next(r for r in rows if r["Name"] == "Aggregated")
requests, failures = int(total["Request Count"]), int(total["Failure Count"])
print(
    f"LOAD users={sys.argv[2]} time={sys.argv[3]} requests={requests} rate={float(total['Requests/s']):.1f}/s "
    f"failures={failures} p50={total['50%']}ms p95={total['95%']}ms p99={total['99%']}ms max={float(total['Max Response Time']):.0f}ms"
)
# Each route beside the baseline prober's GET /healthz under the same load (same run).
base = next((r for r in rows if r["Name"] == "baseline /healthz"), None)
base_p50 = float(base["50%"]) if base and float(base["50%"]) > 0 else None
for r in rows:
    if r["Name"] != "Aggregated":
        ratio = f" x{float(r['50%']) / base_p50:.1f} /healthz p50" if base_p50 else ""
        print(f"  {r['Type']:5} {r['Name']:32} n={r['Request Count']:>6} p50={r['50%']:>5}ms p99={r['99%']:>5}ms fail={r['Failure Count']}{ratio}")
sys.exit(1 if failures or requests == 0 else 0)
PY
