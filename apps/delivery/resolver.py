"""Which service (and so which team) a source's key names, inside one organization.

Reads only: the services package uses it to attribute commits, deployments and incidents, and to
re-attribute evidence once a key is mapped."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from apps.teams.models import Service, Team

from .models import Integration, ServiceMapping

# Integrations whose keys are repositories, so a mapping may name a path prefix.
PATH_KINDS = (Integration.Kind.GITHUB, Integration.Kind.GITLAB, Integration.Kind.GENERIC)


def split_key(key: str) -> tuple[str, str]:
    """ "acme/shop:services/cart/" -> ("acme/shop", "services/cart/"); a plain key has no prefix.

    (Repository paths never hold a colon.)"""
    repository, _, prefix = (key or "").strip().partition(":")
    return repository.strip(), prefix.strip().lstrip("/")


class Resolver:
    """Finds the service (and so the team) a source's key names, inside one organization."""

    def __init__(self, organization, integration: Integration | None = None):
        self.organization = organization
        self.integration = integration
        self._mappings = None
        self._services = None
        # Keys that matched no service, with why (kept on the raw event's note).
        self.unmatched: dict[str, str] = {}

    def _load(self):
        if self._mappings is None:
            self._mappings = {}
            self._prefixes: dict[str, list[tuple[str, Service]]] = {}
            if self.integration is not None and self.integration.pk:
                git = self.integration.kind in PATH_KINDS
                for m in ServiceMapping.objects.filter(integration=self.integration).select_related("service"):
                    repository, prefix = split_key(m.key) if git else (m.key, "")
                    if prefix:
                        self._prefixes.setdefault(repository.lower(), []).append((prefix, m.service))
                    else:
                        self._mappings[m.key.lower()] = m.service
            self._services = list(Service.objects.filter(organization=self.organization).select_related("team"))

    def has_path_mappings(self) -> bool:
        """Whether any mapping of the integration names a path prefix (a monorepo)."""
        self._load()
        return bool(self._prefixes)

    def service(self, *keys) -> Service | None:
        return self.explain(*keys)[0]

    def explain(self, *keys) -> tuple[Service | None, str]:
        """(service, "") or (None, why not): "no mapping" or "ambiguous: a, b".

        A mapping wins; otherwise the fallback (repository URL, then slug or name equal to
        the key's last segment) must name exactly one service, or it does not guess."""
        self._load()
        keys = [str(k).strip() for k in keys if k and str(k).strip()]
        for key in keys:
            if key.lower() in self._mappings:
                return self._mappings[key.lower()], ""
        team_id = self.integration.team_id if self.integration else None
        candidates = [s for s in self._services if team_id is None or s.team_id == team_id]
        ambiguous: list[Service] = []
        for key in keys:
            low = key.lower().rstrip("/")
            tail = low.rsplit("/", 1)[-1]
            for matches in (
                [s for s in candidates if repo_matches(s.repository_url, low)],
                [s for s in candidates if tail in (s.slug.lower(), s.name.lower())],
            ):
                if len(matches) == 1:
                    return matches[0], ""
                if len(matches) > 1 and not ambiguous:
                    ambiguous = matches
        reason = "ambiguous: " + ", ".join(sorted(s.slug for s in ambiguous)) if ambiguous else "no mapping"
        if keys:
            self.unmatched.setdefault(keys[0], reason)
        return None, reason

    def service_for_commit(self, repository: str, paths) -> Service | None:
        """A monorepo's path-prefix mappings attribute a commit by the files it touched: the
        service whose prefix holds most of them (the longest prefix matching a file counts it;
        a tie goes to the prefix sorted first). A commit touching none of the prefixes, or whose
        repository has none, is matched by the repository like any other key."""
        self._load()
        prefixes = self._prefixes.get((repository or "").lower())
        if prefixes and paths:
            tally: dict[str, list] = {}
            for path in paths:
                hits = [(prefix, service) for prefix, service in prefixes if str(path).startswith(prefix)]
                if hits:
                    prefix, service = max(hits, key=lambda hit: len(hit[0]))
                    entry = tally.setdefault(prefix, [0, service])
                    entry[0] += 1
            if tally:
                prefix = min(tally, key=lambda p: (-tally[p][0], p))
                return tally[prefix][1]
        return self.service(repository)

    def team_for(self, service: Service | None, team_slug: str = "") -> Team | None:
        if service is not None:
            return service.team
        if team_slug:
            team = Team.objects.filter(organization=self.organization, slug=team_slug).first()
            if team is None:
                raise ValidationError({"team": f"No team {team_slug!r} in {self.organization}."})
            return team
        return self.integration.team if self.integration else None


def repo_matches(url: str, key: str) -> bool:
    repo = (url or "").lower().rstrip("/")
    return bool(repo) and (repo.endswith("/" + key) or repo == key)
