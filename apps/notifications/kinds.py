"""The kinds of message. Add one here (and a producer) to extend the list; preferences follow."""

from __future__ import annotations

from dataclasses import dataclass

TEAM_DIGEST = "team_digest"
LEADER_DIGEST = "leader_digest"
LEVEL_CHANGE = "level_change"
INITIATIVE_DEADLINE = "initiative_deadline"


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    help: str
    # "team": about one team (sent to its members and its targets); "org": to leaders and org targets.
    scope: str


KINDS: dict[str, Kind] = {
    k.key: k
    for k in (
        Kind(TEAM_DIGEST, "Weekly team digest", "Your team's level, what changed and what is due, on Mondays.", "team"),
        Kind(
            LEADER_DIGEST,
            "Weekly leader digest",
            "Teams that moved most, unmeasured teams, overdue postmortems (org admins and leaders).",
            "org",
        ),
        Kind(LEVEL_CHANGE, "Level change", "At once, when a team of yours goes up or down a level.", "team"),
        Kind(
            INITIATIVE_DEADLINE,
            "Initiative deadline",
            "When an initiative your team still fails is due within a week.",
            "team",
        ),
    )
}


def choices() -> list[tuple[str, str]]:
    return [(k.key, k.label) for k in KINDS.values()]


def label(key: str) -> str:
    kind = KINDS.get(key)
    return kind.label if kind else key


def for_scope(scope: str) -> list[str]:
    return [k.key for k in KINDS.values() if k.scope == scope]
