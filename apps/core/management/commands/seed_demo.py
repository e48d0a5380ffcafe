"""Build the demo organization. Safe to run again: every write is an upsert."""

import random
from importlib import import_module

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction


class Command(BaseCommand):
    help = "Load a believable demo organization (idempotent: running it twice changes nothing)."

    def add_arguments(self, parser):
        parser.add_argument("--quiet-logins", action="store_true", help="Do not print the demo sign-ins.")

    def handle(self, *args, **options):
        # Each app contributes to the demo through apps.<app>.demo.seed(context),
        # in INSTALLED_APPS order so later apps build on the org structure.
        context = {"rng": random.Random(20261122), "log": self._log, "style": self.style}
        for app in settings.LOCAL_APPS:
            try:
                module = import_module(f"{app}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{app}.demo":
                    raise
                continue
            self._log(f"Seeding {app.rsplit('.', 1)[-1]}…")
            with transaction.atomic():
                module.seed(context)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        if not options["quiet_logins"] and context.get("logins"):
            self.stdout.write(f"\nDemo sign-ins (password for all: {context['password']}):")
            for role, email in context["logins"]:
                self.stdout.write(f"  {role:<28} {email}")

    def _log(self, message):
        self.stdout.write(f"  {message}")
