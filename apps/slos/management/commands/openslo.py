"""OpenSLO v1 import and export from the command line.

python manage.py openslo export --organization northwind [--team checkout] [-o catalog.yaml]
python manage.py openslo import --organization northwind catalog.yaml [--as lead@example.com] [--dry-run]
"""

import sys

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from apps.slos import openslo
from apps.slos.models import SLO
from apps.teams.models import Organization


class Command(BaseCommand):
    help = "Export or import the SLO catalog of an organization as OpenSLO v1 YAML."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser("export", help="Write the catalog as OpenSLO YAML.")
        export.add_argument("--organization", required=True, help="Organization slug.")
        export.add_argument("--team", help="Only this team's SLOs (team slug).")
        export.add_argument("-o", "--output", help="File to write (default: standard output).")
        imp = sub.add_parser("import", help="Create or update SLIs and SLOs from OpenSLO YAML (all or nothing).")
        imp.add_argument("--organization", required=True, help="Organization slug.")
        imp.add_argument("path", help="YAML file, or - for standard input.")
        imp.add_argument("--as", dest="as_user", help="Check permissions as this user (e-mail).")
        imp.add_argument("--dry-run", action="store_true", help="Say what would change, write nothing.")

    def handle(self, *args, **options):
        try:
            org = Organization.objects.get(slug=options["organization"])
        except Organization.DoesNotExist:
            raise CommandError(f"No organization with slug {options['organization']!r}.")
        if options["action"] == "export":
            qs = SLO.objects.filter(organization=org).select_related("sli__service", "owner")
            if options.get("team"):
                qs = qs.filter(sli__service__team__slug=options["team"])
            text = openslo.export_documents(list(qs))
            if options.get("output"):
                with open(options["output"], "w", encoding="utf-8") as fh:
                    fh.write(text)
                self.stderr.write(f"Wrote {qs.count()} SLOs to {options['output']}.")
            else:
                self.stdout.write(text, ending="")
            return
        user = None
        if options.get("as_user"):
            user = get_user_model().objects.filter(email__iexact=options["as_user"]).first()
            if user is None:
                raise CommandError(f"No user {options['as_user']!r}.")
        try:
            if options["path"] == "-":
                text = sys.stdin.read()
            else:
                with open(options["path"], encoding="utf-8") as fh:
                    text = fh.read()
        except OSError as exc:
            raise CommandError(str(exc))
        try:
            result = openslo.import_documents(
                user=user, organization=org, text=text, dry_run=options.get("dry_run", False)
            )
        except openslo.OpenSLOError as exc:
            raise CommandError(f"Refused, nothing imported. {exc}")
        except PermissionDenied as exc:
            raise CommandError(f"Refused, nothing imported. {exc}")
        for line in result.notes:
            self.stdout.write(f"note: {line}")
        for line in result.ignored:
            self.stdout.write(f"ignored: {line}")
        if result.dry_run:
            self.stdout.write(f"Dry run, nothing written: {result.summary()}.")
            for label in result.created:
                self.stdout.write(f"would create {label}")
            for label in result.updated:
                self.stdout.write(f"would update {label}")
        else:
            self.stdout.write(self.style.SUCCESS(f"Imported: {result.summary()}."))
