"""Recompute stored SLO statuses inline: `--all` (every SLO) or `--due` (one periodic tick)."""

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apps.core import permissions
from apps.slos import selectors, services


class Command(BaseCommand):
    help = "Recompute the stored SLO statuses (and alerts): every SLO (--all) or those due (--due)."

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--all", action="store_true", help="every SLO (a full recompute)")
        group.add_argument("--due", action="store_true", help="the SLOs the periodic tick would recompute")

    def handle(self, *args, **options):
        if not options["all"] and not options["due"]:
            raise CommandError("Say which: --all (every SLO) or --due (one tick).")
        started = time.perf_counter()
        if options["all"]:
            count = services.slo_status_refresh_all(actor=permissions.SYSTEM)
            what = f"{count} SLO status(es) recomputed"
        else:
            now = timezone.now()
            count = selectors.slo_statuses_due(now=now).count()
            events = services.alerts_evaluate_all(actor=permissions.SYSTEM, now=now)
            what = f"{count} due SLO status(es) recomputed, {events} alert event(s)"
        self.stdout.write(f"{what} in {time.perf_counter() - started:.2f} s")
