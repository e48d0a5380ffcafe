"""Writes: targets and preferences; planning deliveries (idempotent) and sending them.

A delivery is planned once per (kind, period, subject, recipient) -- the unique constraints make a
retried job find the rows it already wrote -- and sent at most once: rows are claimed ("sending",
committed) before anything goes out, then marked sent or failed. A failed send is retried with exponential backoff by
`deliveries_retry_due` (every minute) up to MAX_ATTEMPTS; each webhook delivery is its own task, so a
failing or slow target never holds up the others.

Rights: a person sets their own preferences; org admins (and a team's lead, for a team target) manage
targets; planning and sending are the jobs' (`permissions.SYSTEM`).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import smtplib
import urllib.error
import urllib.request
from datetime import date, timedelta
from urllib.parse import urlsplit

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.core import permissions
from apps.core.validation import require_same_organization
from apps.scoring import selectors as scoring_selectors
from apps.teams.models import Organization, Team

from . import kinds, messages, selectors
from .models import Delivery, Preference, Target

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BACKOFF_BASE = 60  # seconds; doubles after each failure
BACKOFF_MAX = 3600
WEBHOOK_TIMEOUT = 10
EMAIL_CHUNK = 100
STALE_SENDING = timedelta(minutes=30)


class SendError(Exception):
    """A delivery could not be sent (the message says why, for the target's page)."""


def _require_self(actor, user) -> None:
    if permissions.is_system(actor) or getattr(actor, "is_superuser", False):
        return
    if getattr(actor, "pk", None) is None or actor.pk != user.pk:
        raise PermissionDenied("You may only change your own notification settings.")


def _require_job(actor) -> None:
    """Planning and sending are the scheduled jobs' work (or a superuser's, from a shell)."""
    if not (permissions.is_system(actor) or getattr(actor, "is_superuser", False)):
        raise PermissionDenied("Only the notification jobs plan and send deliveries.")


# --- preferences -------------------------------------------------------------------------


def preference_set(*, actor, user, kind: str, enabled: bool) -> Preference:
    _require_self(actor, user)
    if kind not in kinds.KINDS:
        raise ValidationError({"kind": f"Unknown kind of notification: {kind!r}."})
    pref, _ = Preference.objects.update_or_create(user=user, kind=kind, defaults={"enabled": enabled})
    return pref


def preferences_save(*, actor, user, enabled_kinds) -> None:
    """Turn on exactly `enabled_kinds` for this person, every other kind off."""
    _require_self(actor, user)
    enabled_kinds = set(enabled_kinds)
    unknown = enabled_kinds - set(kinds.KINDS)
    if unknown:
        raise ValidationError({"kinds": f"Unknown kinds of notification: {', '.join(sorted(unknown))}."})
    with transaction.atomic():
        for key in kinds.KINDS:
            preference_set(actor=actor, user=user, kind=key, enabled=key in enabled_kinds)


# --- targets -----------------------------------------------------------------------------


def _internal_host(host: str) -> bool:
    """A loopback, private or link-local address written in the URL (webhooks go to Slack and Teams)."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_unspecified


def _clean_target(*, organization, team, channel: str, address: str, kind_keys) -> tuple[str, list[str]]:
    address = (address or "").strip()
    if channel not in Target.Channel.values:
        raise ValidationError({"channel": "Choose email, Slack or Microsoft Teams."})
    if channel == Target.Channel.EMAIL:
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationError({"address": "Enter an email address."}) from None
    else:
        parts = urlsplit(address)
        if parts.scheme != "https" or not parts.netloc:
            raise ValidationError({"address": "Enter the webhook's https:// URL."})
        if _internal_host(parts.hostname or ""):
            raise ValidationError({"address": "The webhook must be a public address, not this network's."})
    require_same_organization(organization, field="team", obj=team)
    scope = "team" if team is not None else "org"
    allowed = kinds.for_scope(scope)
    kind_keys = list(dict.fromkeys(kind_keys or []))
    wrong = [k for k in kind_keys if k not in allowed]
    if wrong:
        where = "a team's target" if team is not None else "an organization-wide target"
        raise ValidationError({"kinds": f"{', '.join(kinds.label(k) for k in wrong)}: not sent to {where}."})
    if not kind_keys:
        raise ValidationError({"kinds": "Pick at least one kind of message."})
    return address, kind_keys


@transaction.atomic
def target_create(
    *, actor, organization: Organization, team: Team | None, name: str, channel: str, address: str, kind_keys
) -> Target:
    permissions.require_create(
        actor,
        Target,
        organization=organization,
        team=team,
        message="Only an org admin, or the team's lead for a team target, adds targets.",
    )
    address, kind_keys = _clean_target(
        organization=organization, team=team, channel=channel, address=address, kind_keys=kind_keys
    )
    if Target.objects.filter(organization=organization, team=team, name=name).exists():
        raise ValidationError({"name": "A target of that name already exists here."})
    return Target.objects.create(
        organization=organization,
        team=team,
        name=name,
        channel=channel,
        address=address,
        kinds=kind_keys,
        created_by=permissions.person(actor),
    )


@transaction.atomic
def target_update(*, actor, target: Target, name: str, channel: str, address: str, kind_keys, active: bool) -> Target:
    permissions.require_change(actor, target, "You may not change this target.")
    address, kind_keys = _clean_target(
        organization=target.organization, team=target.team, channel=channel, address=address, kind_keys=kind_keys
    )
    if (
        Target.objects.filter(organization=target.organization, team=target.team, name=name)
        .exclude(pk=target.pk)
        .exists()
    ):
        raise ValidationError({"name": "A target of that name already exists here."})
    changed_address = address != target.address or channel != target.channel
    target.name, target.channel, target.address, target.kinds, target.active = name, channel, address, kind_keys, active
    if changed_address:  # a new address starts with a clean record
        target.health, target.consecutive_failures, target.last_error = Target.Health.NEVER, 0, ""
    target.save()
    return target


def target_delete(*, actor, target: Target) -> None:
    permissions.require_change(actor, target, "You may not delete this target.")
    target.delete()


# --- planning ----------------------------------------------------------------------------


def _plan(rows: list[Delivery]) -> None:
    """Insert the planned deliveries; those already planned (a retried job) are left as they are."""
    Delivery.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)


def _rows_for(
    *, organization, team, kind: str, period: str, subject: str, message, people, targets, off
) -> list[Delivery]:
    text, html = message.text(), message.html()
    rows = []
    for person in people:
        if kind in off.get(person.pk, ()):
            continue
        rows.append(
            Delivery(
                organization=organization,
                team=team,
                kind=kind,
                period=period,
                subject=subject,
                user=person,
                title=message.title,
                text=text,
                html=html,
            )
        )
    for target in targets:
        rows.append(
            Delivery(
                organization=organization,
                team=team,
                kind=kind,
                period=period,
                subject=subject,
                target=target,
                title=message.title,
                text=text,
                html=html,
                payload=message.payload(target.channel),
            )
        )
    return rows


def digests_plan(*, actor, organization: Organization, as_of: date) -> str:
    """Plan this week's team digests (to each team's members and targets) and leader digest
    (to org admins, leaders and org-wide targets). Returns the period ("2026-W49")."""
    _require_job(actor)
    period = selectors.iso_week(as_of)
    teams = Team.objects.filter(organization=organization).order_by("pk")
    digests = selectors.team_digests(teams=teams, as_of=as_of)
    people = selectors.team_people(digests.keys())
    leaders = selectors.org_leaders(organization)
    all_ids = {u.pk for users in people.values() for u in users} | {u.pk for u in leaders}
    off = selectors.disabled_kinds(all_ids)
    team_targets = selectors.active_targets(organization=organization, kind=kinds.TEAM_DIGEST)
    leader_targets = selectors.active_targets(organization=organization, kind=kinds.LEADER_DIGEST)
    rows = []
    for team_id, digest in digests.items():
        rows += _rows_for(
            organization=organization,
            team=digest.team,
            kind=kinds.TEAM_DIGEST,
            period=period,
            subject=f"team:{team_id}",
            message=messages.team_digest_message(digest),
            people=people.get(team_id, []),
            targets=team_targets.get(team_id, []),
            off=off,
        )
    if leaders or leader_targets.get(None):
        board = selectors.leader_digest(organization=organization, as_of=as_of, digests=digests)
        rows += _rows_for(
            organization=organization,
            team=None,
            kind=kinds.LEADER_DIGEST,
            period=period,
            subject=f"org:{organization.pk}",
            message=messages.leader_digest_message(board),
            people=leaders,
            targets=leader_targets.get(None, []),
            off=off,
        )
    _plan(rows)
    return period


def level_changes_plan(*, actor, team_ids, as_of: date) -> list[int]:
    """Plan a message to each team whose level on `as_of` differs from its latest level before that day.

    Only for a recent day (today or yesterday): a backfill of old snapshots tells no one.
    Returns the ids of the teams that changed."""
    _require_job(actor)
    if as_of < timezone.localdate() - timedelta(days=1):
        return []
    teams_qs = Team.objects.filter(pk__in=list(team_ids))
    now = scoring_selectors.previous_scores(teams_qs, on_or_before=as_of)
    before = scoring_selectors.previous_scores(teams_qs, on_or_before=as_of - timedelta(days=1))
    changed = [
        tid for tid, snap in now.items() if snap.date == as_of and tid in before and before[tid].level != snap.level
    ]
    if not changed:
        return []
    teams = {t.pk: t for t in Team.objects.filter(pk__in=changed).select_related("organization")}
    people = selectors.team_people(changed)
    off = selectors.disabled_kinds({u.pk for users in people.values() for u in users})
    targets_by_org = {}
    rows = []
    for tid in changed:
        team = teams[tid]
        if team.organization_id not in targets_by_org:
            targets_by_org[team.organization_id] = selectors.active_targets(
                organization=team.organization, kind=kinds.LEVEL_CHANGE
            )
        message = messages.level_change_message(
            team=team, old=before[tid].level, new=now[tid].level, overall=now[tid].overall
        )
        rows += _rows_for(
            organization=team.organization,
            team=team,
            kind=kinds.LEVEL_CHANGE,
            period=as_of.isoformat(),
            subject=f"team:{tid}",
            message=message,
            people=people.get(tid, []),
            targets=targets_by_org[team.organization_id].get(tid, []),
            off=off,
        )
    _plan(rows)
    return changed


def initiative_deadlines_plan(*, actor, as_of: date) -> list[int]:
    """Plan "initiative deadline a week away": for each active initiative due in 1-7 days, to the members
    and targets of each team in scope that still fails something. Period: the target date, subject: the
    initiative, so each person or target hears once per initiative and deadline (retries, daily runs and
    a person in two teams in scope included). Returns the initiatives' ids. Jobs pass permissions.SYSTEM."""
    from apps.initiatives import selectors as initiative_selectors

    _require_job(actor)
    due = initiative_selectors.deadlines_due(as_of=as_of)
    people = selectors.team_people({d["team"].pk for d in due})
    off = selectors.disabled_kinds({u.pk for users in people.values() for u in users})
    targets_by_org: dict[int, dict] = {}
    rows = []
    for d in due:
        initiative, team = d["initiative"], d["team"]
        if initiative.organization_id not in targets_by_org:
            targets_by_org[initiative.organization_id] = selectors.active_targets(
                organization=initiative.organization, kind=kinds.INITIATIVE_DEADLINE
            )
        rows += _rows_for(
            organization=initiative.organization,
            team=team,
            kind=kinds.INITIATIVE_DEADLINE,
            period=initiative.target_date.isoformat(),
            subject=f"initiative:{initiative.pk}",
            message=messages.initiative_deadline_message(
                initiative=initiative, team=team, failing=d["failing"], total=d["total"], days_left=d["days_left"]
            ),
            people=people.get(team.pk, []),
            targets=targets_by_org[initiative.organization_id].get(team.pk, []),
            off=off,
        )
    _plan(rows)
    return sorted({d["initiative"].pk for d in due})


# --- sending -----------------------------------------------------------------------------


def _post_webhook(target: Target, payload: dict) -> None:
    body = json.dumps(payload).encode()
    request = urllib.request.Request(  # noqa: S310 (https only, checked when the target is saved)
        target.address, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:  # noqa: S310
            response.read()
    except urllib.error.HTTPError as exc:
        raise SendError(f"The webhook answered HTTP {exc.code}.") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SendError(f"The webhook could not be reached: {reason}.") from exc


def _send_email(delivery: Delivery, connection) -> None:
    to = delivery.user.email if delivery.user_id else delivery.target.address
    mail = EmailMultiAlternatives(subject=delivery.title, body=delivery.text, to=[to], connection=connection)
    if delivery.html:
        mail.attach_alternative(delivery.html, "text/html")
    try:
        mail.send()
    except (smtplib.SMTPException, OSError) as exc:
        raise SendError(f"The mail server refused the message: {exc}.") from exc


def _backoff(attempts: int) -> timedelta:
    """Wait before attempt number `attempts + 1`: 1, 2, 4, 8, 16 minutes (at most an hour)."""
    return timedelta(seconds=min(BACKOFF_BASE * 2 ** (attempts - 1), BACKOFF_MAX))


def _claim(ids, now) -> list[int]:
    """Mark the still-due deliveries among `ids` as being sent (row locks, skip_locked: two workers
    never claim the same row) and commit, before anything is sent: a job retried after a crash finds
    them claimed and does not send them again."""
    with transaction.atomic():
        pks = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(pk__in=list(ids))
            .filter(Q(status=Delivery.Status.PENDING) | Q(status=Delivery.Status.RETRYING, next_attempt_at__lte=now))
            .values_list("pk", flat=True)
        )
        if pks:
            Delivery.objects.filter(pk__in=pks).update(status=Delivery.Status.SENDING, updated_at=now)
    return pks


def _sent(pks, now) -> None:
    Delivery.objects.filter(pk__in=list(pks)).update(
        status=Delivery.Status.SENT,
        sent_at=now,
        attempts=F("attempts") + 1,
        next_attempt_at=None,
        last_error="",
        updated_at=now,
    )


def _failed(delivery: Delivery, exc: Exception, now) -> str:
    attempts = delivery.attempts + 1
    error = str(exc)[:2000]
    if attempts >= MAX_ATTEMPTS:
        status, next_at = Delivery.Status.FAILED, None
    else:
        status, next_at = Delivery.Status.RETRYING, now + _backoff(attempts)
    Delivery.objects.filter(pk=delivery.pk).update(
        status=status, attempts=attempts, next_attempt_at=next_at, last_error=error, updated_at=now
    )
    logger.warning("Notification %s to %s failed: %s", delivery.pk, delivery.recipient_label, exc)
    return status


def _target_result(target: Target, now, error: str = "") -> None:
    if error:
        Target.objects.filter(pk=target.pk).update(
            health=Target.Health.FAILING,
            last_attempt_at=now,
            last_error=error[:2000],
            consecutive_failures=F("consecutive_failures") + 1,
        )
    else:
        Target.objects.filter(pk=target.pk).update(
            health=Target.Health.OK, last_attempt_at=now, last_success_at=now, last_error="", consecutive_failures=0
        )


def delivery_send(*, actor, delivery_id: int) -> str:
    """Send one delivery (a webhook, or a retried email) if it is still due; returns its status afterwards."""
    _require_job(actor)
    now = timezone.now()
    if not _claim([delivery_id], now):
        return "skipped"
    delivery = Delivery.objects.select_related("user", "target").get(pk=delivery_id)
    target = delivery.target
    if target is not None and not target.active:
        Delivery.objects.filter(pk=delivery_id).update(
            status=Delivery.Status.FAILED, last_error="The target was paused; not sent.", updated_at=now
        )
        return Delivery.Status.FAILED
    try:
        if target is not None and target.is_webhook:
            _post_webhook(target, delivery.payload)
        else:
            _send_email(delivery, None)
    except SendError as exc:
        status = _failed(delivery, exc, now)
        if target is not None:
            _target_result(target, now, str(exc))
        return status
    _sent([delivery_id], now)
    if target is not None:
        _target_result(target, now)
    return Delivery.Status.SENT


def _send_emails(ids, counts: dict[str, int]) -> None:
    """Emails in chunks: claim a chunk, send it through one mail connection, record the results."""
    connection = get_connection()
    try:
        connection.open()
    except OSError as exc:  # each message then tries on its own and records the failure
        logger.warning("Mail server unreachable: %s", exc)
    try:
        for i in range(0, len(ids), EMAIL_CHUNK):
            now = timezone.now()
            pks = _claim(ids[i : i + EMAIL_CHUNK], now)
            sent = []
            failed_targets = []
            for delivery in Delivery.objects.filter(pk__in=pks).select_related("user", "target").order_by("pk"):
                try:
                    _send_email(delivery, connection)
                except SendError as exc:
                    status = _failed(delivery, exc, now)
                    counts[status] = counts.get(status, 0) + 1
                    if delivery.target_id:
                        failed_targets.append((delivery.target, str(exc)))
                else:
                    sent.append(delivery)
            _sent([d.pk for d in sent], now)
            for d in sent:
                if d.target_id:
                    _target_result(d.target, now)
            for target, error in failed_targets:
                _target_result(target, now, error)
            counts[Delivery.Status.SENT] = counts.get(Delivery.Status.SENT, 0) + len(sent)
            counts["skipped"] = counts.get("skipped", 0) + len(ids[i : i + EMAIL_CHUNK]) - len(pks)
    finally:
        with contextlib.suppress(OSError):
            connection.close()


def deliveries_send(*, actor, delivery_ids, queue_webhook) -> dict[str, int]:
    """Send these deliveries: emails here in chunks through one mail connection, each webhook through
    `queue_webhook(id)` (a task of its own, so a slow or failing target holds up no one). Returns counts."""
    _require_job(actor)
    counts: dict[str, int] = {}
    rows = list(Delivery.objects.filter(pk__in=list(delivery_ids)).values_list("pk", "target__channel").order_by("pk"))
    emails = [pk for pk, channel in rows if channel in (None, Target.Channel.EMAIL)]
    hooks = [pk for pk, channel in rows if channel not in (None, Target.Channel.EMAIL)]
    if emails:
        _send_emails(emails, counts)
    for pk in hooks:
        queue_webhook(pk)
        counts["queued"] = counts.get("queued", 0) + 1
    return {k: v for k, v in counts.items() if v}


def deliveries_abandon_stale(*, actor, now=None) -> int:
    """Deliveries left "sending" by a worker that died mid-send: whether they went out is unknown, so
    they are marked failed (never resent: a duplicate is worse than a gap the page shows)."""
    _require_job(actor)
    now = now or timezone.now()
    return Delivery.objects.filter(status=Delivery.Status.SENDING, updated_at__lt=now - STALE_SENDING).update(
        status=Delivery.Status.FAILED,
        last_error="The worker stopped while sending; not resent, so that no one gets it twice.",
        updated_at=now,
    )
