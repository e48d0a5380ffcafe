from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view

from apps.core.api import ScopedReadOnlyViewSet
from apps.teams.models import Service

from .. import selectors
from . import serializers


@extend_schema_view(
    list=extend_schema(description="Every visible service with each service check's result; filter with ?team=<id>."),
    retrieve=extend_schema(description="One service's service check results."),
)
class ServiceChecksViewSet(ScopedReadOnlyViewSet):
    """Service check results per service (read-only). Checks: see docs/servicechecks.md."""

    queryset = Service.objects.select_related("team").order_by("name", "pk")
    serializer_class = serializers.ServiceChecksSerializer
    filterset_fields = ["team", "tier", "lifecycle"]
    _results: dict | None = None

    def _judge(self, services) -> None:
        ids = [s.pk for s in services]
        self._results = selectors.evaluate(None, Service.objects.filter(pk__in=ids), today=timezone.localdate())

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        self._judge(page if page is not None else list(queryset))
        return page

    def get_object(self):
        obj = super().get_object()
        self._judge([obj])
        return obj

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "results": self._results or {}}
