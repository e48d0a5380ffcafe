import time

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from apps.teams import selectors as team_selectors
from apps.teams.middleware import current_organization

from .tasks import HEARTBEAT_KEY


@login_required
def home(request):
    """Each role's home: the organization at a glance for leaders, what needs setting up for org
    admins (and the glance), their team's level and next steps for leads and members."""
    from apps.core import panels, permissions

    from . import selectors

    org = current_organization(request)
    context = {"my_teams": team_selectors.teams_of_user(request.user)}
    if org:
        whole_org = permissions.sees_whole_org(request.user, org)
        context.update(
            team_count=team_selectors.team_list(user=request.user, organization=org).count(),
            service_count=team_selectors.service_list(user=request.user, organization=org).count(),
            leader=selectors.leader_home(user=request.user, organization=org) if whole_org else None,
            setup=selectors.admin_setup(organization=org) if permissions.is_org_admin(request.user, org) else None,
            team_home=None if whole_org else selectors.team_home(user=request.user, organization=org),
            today=timezone.localdate(),
            panels=panels.render_context("home", request, org),
        )
    return render(request, "core/home.html", context)


def _check(fn) -> dict:
    started = time.perf_counter()
    try:
        detail = fn()
    except Exception as exc:  # noqa: BLE001 - a health check reports every failure
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    result = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    if detail:
        result.update(detail)
    return result


def _database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _cache():
    cache.set("healthz:probe", "1", timeout=10)
    if cache.get("healthz:probe") != "1":
        raise RuntimeError("cache did not return what was written")


def _broker():
    from config.celery_app import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return {"transport": app.conf.broker_url.split("://", 1)[0]}


@never_cache
def healthz(request):
    """Liveness of the parts the platform needs: 200 when all answer, 503 otherwise."""
    checks = {"database": _check(_database), "cache": _check(_cache), "broker": _check(_broker)}
    healthy = all(c["ok"] for c in checks.values())
    checks["worker_last_seen"] = cache.get(HEARTBEAT_KEY) if checks["cache"]["ok"] else None
    return JsonResponse({"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503)
