"""Install assessment framework versions from YAML files (idempotent)."""

from django.core.management.base import BaseCommand, CommandError

from apps.assessments import frameworks, services
from apps.core import permissions
from apps.teams.models import Organization


class Command(BaseCommand):
    help = (
        "Load framework versions from YAML (default: the built-in CALMS v1). Loading the same file twice "
        "changes nothing; a version already used by a campaign is never rewritten."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="*", help="YAML files (default: the built-in frameworks)")
        parser.add_argument("--organization", help="slug of the organization that owns the version (default: built-in)")

    def handle(self, *args, paths, organization=None, **options):
        owner = None
        if organization:
            owner = Organization.objects.filter(slug=organization).first()
            if owner is None:
                raise CommandError(f"No organization with slug {organization!r}.")
        targets = paths or [frameworks.DIRECTORY / name for name in frameworks.BUILT_IN]
        for path in targets:
            try:
                result = services.framework_load(actor=permissions.SYSTEM, path=path, organization=owner)
            except frameworks.FrameworkDataError as exc:
                raise CommandError(str(exc))
            questions = sum(d.questions.count() for d in result.framework.dimensions.all())
            self.stdout.write(
                f"{result.framework}: {result.action} ({result.framework.dimensions.count()} dimensions, "
                f"{questions} questions)"
            )
