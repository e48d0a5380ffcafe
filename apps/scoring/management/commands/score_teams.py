"""manage.py score_teams: run the scoring job now, with a progress bar."""

from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from apps.core import permissions
from apps.teams.models import Organization, Team

from ... import services


class Command(BaseCommand):
    help = "Score every team (or one organization's) and store today's snapshot; re-running the same day replaces it."

    def add_arguments(self, parser):
        parser.add_argument("--org", help="Only this organization (slug).")
        parser.add_argument("--date", help="Score as of this day (YYYY-MM-DD), default today.")
        parser.add_argument(
            "--weeks", type=int, default=0, help="Also backfill weekly snapshots for this many past weeks."
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar (for logs).")

    def handle(self, *args, **options):
        try:
            as_of = date.fromisoformat(options["date"]) if options["date"] else timezone.localdate()
        except ValueError as exc:
            raise CommandError(f"--date: {exc}") from exc
        if as_of > timezone.localdate():
            raise CommandError("--date cannot be in the future.")
        if options["weeks"] < 0:
            raise CommandError("--weeks must be 0 or more.")
        orgs = Organization.objects.order_by("pk")
        if options["org"]:
            orgs = orgs.filter(slug=options["org"])
            if not orgs.exists():
                raise CommandError(f"No organization with slug {options['org']!r}.")
        days = [as_of - timedelta(weeks=w) for w in range(options["weeks"], -1, -1)]
        teams = Team.objects.filter(organization__in=orgs).count()
        total = teams * len(days)
        with tqdm(total=total, unit="team", disable=options["no_progress"] or not total) as bar:
            for org in orgs:
                for day in days:
                    bar.set_description(f"{org.slug} {day}")
                    services.scoring_run(
                        actor=permissions.SYSTEM, organization=org, as_of=day, trigger="command", progress=bar.update
                    )
        self.stdout.write(self.style.SUCCESS(f"Scored {teams} teams on {len(days)} day(s)."))
