from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.core.permissions import SYSTEM
from apps.teams import backstage
from apps.teams.models import Organization


class Command(BaseCommand):
    help = "Import teams (Group) and services (Component) from Backstage catalog YAML files into an organization."

    def add_arguments(self, parser):
        parser.add_argument("organization", help="Organization slug")
        parser.add_argument("files", nargs="+", type=Path)

    def handle(self, *args, organization, files, **options):
        org = Organization.objects.filter(slug=organization).first()
        if org is None:
            raise CommandError(f"No organization with slug “{organization}”.")
        texts = []
        for path in files:
            if not path.is_file():
                raise CommandError(f"{path}: no such file")
            texts.append((path.name, path.read_text(encoding="utf-8")))
        try:
            result = backstage.import_catalog(actor=SYSTEM, organization=org, texts=texts)
        except backstage.CatalogError as exc:
            raise CommandError("Nothing imported:\n  " + "\n  ".join(exc.errors))
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {len(result.departments)} departments, {len(result.teams)} teams, "
                f"{len(result.services)} services into {org.name}."
            )
        )
        if result.skipped:
            self.stdout.write(f"Skipped (kinds we do not import): {', '.join(result.skipped)}")
