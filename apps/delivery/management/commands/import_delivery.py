"""Backfill deployments, changes and incidents from a JSON or CSV export (format: docs/delivery.md)."""

import csv
import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from apps.core import permissions
from apps.delivery import normalizers, rollups, services
from apps.teams.models import Organization


class Command(BaseCommand):
    help = "Import delivery history (deployments, changes, incidents) from a JSON or CSV file. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("file", help="A .json or .csv file.")
        parser.add_argument("--organization", required=True, help="Slug of the organization the records belong to.")
        parser.add_argument("--source", default="import", help="Source name stored on the rows (default: import).")
        parser.add_argument("--no-progress", action="store_true", help="Do not draw the progress bar.")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        organization = Organization.objects.filter(slug=options["organization"]).first()
        if organization is None:
            raise CommandError(f"No organization with slug {options['organization']!r}.")
        rows = self._read(path)
        # Parse everything first: a bad row stops the import before anything is written.
        parsed = {"changes": [], "deployments": [], "incidents": []}
        errors = []
        for number, row in enumerate(rows, start=1):
            try:
                kind, values = normalizers.record_from_row(row, where=f"Record {number}")
            except normalizers.PayloadError as exc:
                errors.append(str(exc))
                continue
            parsed[kind].append(values)
        if errors:
            raise CommandError("Nothing imported:\n  " + "\n  ".join(errors[:20]))
        source = options["source"]
        counts = {"changes": 0, "deployments": 0, "incidents": 0}
        resolver = services.Resolver(organization)
        total = sum(len(v) for v in parsed.values())
        progress = tqdm(total=total, unit="rec", disable=options["no_progress"], file=self.stderr)
        try:
            with transaction.atomic():
                # One transaction: a record that fails to apply (say, an incident of an unknown team) leaves nothing.
                # Changes first, then deployments, then incidents (which may name a deployment).
                for start in range(0, len(parsed["changes"]), 1000):
                    batch = parsed["changes"][start : start + 1000]
                    counts["changes"] += services.changes_upsert(
                        actor=permissions.SYSTEM,
                        organization=organization,
                        integration=None,
                        source=source,
                        records=batch,
                        resolver=resolver,
                    )
                    progress.update(len(batch))
                for record in parsed["deployments"]:
                    _, created = services.deployment_apply(
                        actor=permissions.SYSTEM,
                        organization=organization,
                        integration=None,
                        source=source,
                        record=record,
                        resolver=resolver,
                    )
                    counts["deployments"] += created
                    progress.update(1)
                for record in parsed["incidents"]:
                    _, created = services.incident_apply(
                        actor=permissions.SYSTEM,
                        organization=organization,
                        integration=None,
                        source="api",
                        record=record,
                        resolver=resolver,
                    )
                    counts["incidents"] += created
                    progress.update(1)
        except ValidationError as exc:
            raise CommandError(f"Stopped: {exc}") from exc
        finally:
            progress.close()
        written = rollups.refresh_dirty()
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {total} records: {counts['deployments']} new deployments, {counts['changes']} new changes, "
                f"{counts['incidents']} new incidents ({written} rollup rows refreshed)."
            )
        )

    def _read(self, path: Path) -> list[dict]:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CommandError(f"{path} is not UTF-8 text.") from exc
        if path.suffix.lower() == ".csv":
            reader = csv.DictReader(text.splitlines())
            if not reader.fieldnames or "kind" not in reader.fieldnames:
                raise CommandError("The CSV needs a header row with at least a 'kind' column.")
            return list(reader)
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise CommandError(f"{path} is not valid JSON: {exc}") from exc
        if isinstance(data, dict):
            data = data.get("records")
        if not isinstance(data, list):
            raise CommandError('The JSON must be a list of records or {"records": [...]}.')
        return data
