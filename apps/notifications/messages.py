"""Messages: one structure per notification, rendered as an email (text and HTML), a Slack incoming-webhook
body (Block Kit) and a Microsoft Teams incoming-webhook body (an Adaptive Card in a message).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from .selectors import LeaderDigest, TeamDigest, iso_week, level_label

SLACK_SECTION_MAX = 2900  # leaves room for the heading within Slack's 3,000


@dataclass
class Section:
    heading: str
    lines: list[str]
    empty: str = ""


@dataclass
class Message:
    title: str
    summary: str
    url: str
    sections: list[Section] = field(default_factory=list)

    # --- email ---
    def text(self) -> str:
        out = [self.title, "", self.summary, ""]
        for s in self.sections:
            out.append(s.heading)
            out.extend(f"- {line}" for line in s.lines) if s.lines else out.append(f"  {s.empty}")
            out.append("")
        out.append(f"Open: {self.url}")
        out.append("")
        out.append(f"Turn these off: {absolute(reverse('notifications:index'))}")
        return "\n".join(out)

    def html(self) -> str:
        return render_to_string(
            "notifications/email/message.html",
            {"message": self, "settings_url": absolute(reverse("notifications:index"))},
        )

    # --- webhooks ---
    def slack(self) -> dict:
        """Slack incoming webhook: `text` is the notification fallback, `blocks` the message (Block Kit)."""
        blocks = [
            {"type": "header", "text": {"type": "plain_text", "text": self.title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": _slack_escape(self.summary)}},
        ]
        for s in self.sections:
            body = "\n".join(f"• {_slack_escape(line)}" for line in s.lines) if s.lines else f"_{s.empty}_"
            if len(body) > SLACK_SECTION_MAX:  # Slack refuses a section text over 3,000 characters
                body = body[: SLACK_SECTION_MAX - 1] + "…"
            blocks.append(
                {"type": "section", "text": {"type": "mrkdwn", "text": f"*{_slack_escape(s.heading)}*\n{body}"}}
            )
        blocks.append(
            {
                "type": "actions",
                "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Open"}, "url": self.url}],
            }
        )
        return {"text": f"{self.title}: {self.summary}", "blocks": blocks}

    def teams(self) -> dict:
        """Microsoft Teams incoming webhook (Workflows or connector): a message carrying one Adaptive Card."""
        body = [
            {"type": "TextBlock", "text": self.title, "weight": "Bolder", "size": "Medium", "wrap": True},
            {"type": "TextBlock", "text": self.summary, "wrap": True},
        ]
        for s in self.sections:
            body.append({"type": "TextBlock", "text": s.heading, "weight": "Bolder", "wrap": True, "spacing": "Medium"})
            text = "\n".join(f"- {line}" for line in s.lines) if s.lines else s.empty
            body.append({"type": "TextBlock", "text": text, "wrap": True})
        card = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": body,
            "actions": [{"type": "Action.OpenUrl", "title": "Open", "url": self.url}],
        }
        return {
            "type": "message",
            "attachments": [
                {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
            ],
        }

    def payload(self, channel: str) -> dict:
        return self.slack() if channel == "slack" else self.teams() if channel == "teams" else {}


def _slack_escape(text: str) -> str:
    """Slack's mrkdwn treats &, < and > as control characters; they must be sent as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


# --- the messages ----------------------------------------------------------------------------


def team_digest_message(d: TeamDigest) -> Message:
    due = []
    for item in d.action_items:
        when = "overdue since" if item.due_date < d.as_of else "due"
        due.append(f"Action item “{item.title}”: {when} {item.due_date:%d %b}")
    for a in d.assessments:
        due.append(
            f"Assessment “{a.campaign.name}” ({a.framework.name}) waiting ({a.get_status_display().lower()}), "
            f"closes {a.campaign.closes_on:%d %b}"
        )
    alerts = [
        f"{a.get_severity_display()} burn-rate alert on {a.slo.name} ({a.slo.sli.service.name}), "
        f"open since {timezone.localtime(a.opened_at):%d %b %H:%M}"
        for a in d.alerts
    ]
    score = "no overall score" if d.overall is None else f"overall {d.overall:.0f}"
    summary = f"{d.team.name} is at {d.level_text}, {score}." if d.measured else f"{d.team.name} is not measured yet."
    return Message(
        title=f"{d.team.name}: weekly digest, {iso_week(d.as_of)}",
        summary=summary,
        url=absolute(reverse("scoring:team", args=[d.team.pk])),
        sections=[
            Section("What changed since last week", [d.change_text]),
            Section("What is due", due, empty="Nothing due in the next 7 days."),
            Section("Open burn-rate alerts", alerts, empty="No open alerts."),
        ],
    )


def leader_digest_message(d: LeaderDigest) -> Message:
    movers = []
    for m in d.movers:
        parts = []
        if m.overall_change is not None:
            parts.append(f"overall {m.previous_overall:.0f} → {m.overall:.0f} ({m.overall_change:+.1f})")
        if m.level_change:
            parts.append(f"level {m.previous_level} → {m.level}")
        movers.append(f"{m.team.name}: " + ", ".join(parts))
    overdue = [
        f"{p.team.name}: “{p.title or p.incident.title}” was due {p.publish_due_on:%d %b}"
        for p in d.overdue_postmortems
    ]
    measured = d.team_count - len(d.unmeasured)
    return Message(
        title=f"{d.organization.name}: leader digest, {iso_week(d.as_of)}",
        summary=f"{measured} of {d.team_count} teams measured; {len(d.overdue_postmortems)} postmortems overdue.",
        url=absolute(reverse("scoring:index")),
        sections=[
            Section("Teams that moved most", movers, empty="No team's score moved this week."),
            Section("Unmeasured teams", [t.name for t in d.unmeasured], empty="Every team has a score."),
            Section("Overdue postmortems", overdue, empty="No postmortem is overdue."),
        ],
    )


def level_change_message(*, team, old: int, new: int, overall: float | None) -> Message:
    direction = "up" if new > old else "down"
    score = "" if overall is None else f" (overall {overall:.0f})"
    return Message(
        title=f"{team.name} moved {direction} to {level_label(new)}",
        summary=f"{team.name} went from {level_label(old)} to {level_label(new)}{score} in the latest scoring run.",
        url=absolute(reverse("scoring:team", args=[team.pk])),
    )


def initiative_deadline_message(*, initiative, team, failing, total: int, days_left: int) -> Message:
    """An initiative is due in a week or less and the team still fails some of it."""
    lines = [f"{item.label}: {o.check.name} ({o.actual}, needs {o.target})" for item in failing for o in item.failing]
    when = "tomorrow" if days_left == 1 else f"in {days_left} days"
    return Message(
        title=f"{initiative.name} is due {when}",
        summary=(
            f"Target date {initiative.target_date:%d %b %Y}. {team.name}: {total - len(failing)} of {total} "
            f"in scope pass every check. {initiative.reason}"
        ),
        url=absolute(reverse("initiatives:detail", args=[initiative.pk])),
        sections=[Section("Still to do", lines, empty="Nothing.")],
    )
