"""The service-check metrics in a scoring level check, fed by the inputs gatherer."""

import pytest
from django.utils import timezone

from apps.scoring import inputs, metrics, pillars
from apps.servicechecks import registry
from tests.factories import ServiceFactory
from tests.servicechecks import factories as f

pytestmark = pytest.mark.django_db


def _spec(metric, value=1.0, when_missing="fail"):
    return pillars.CheckSpec(
        id=None,
        key=f"lvl3-{metric}",
        level=3,
        name="Every tier-1 service has an SLO",
        metric=metric,
        operator="gte",
        value=value,
        hint="",
        when_missing=when_missing,
    )


def test_every_check_has_a_ratio_metric():
    for key in registry.KEYS:
        m = metrics.METRICS[f"services.{key}"]
        assert m.unit == "ratio" and m.evidence == "servicechecks"
    assert ("services.slo_defined", metrics.METRICS["services.slo_defined"].label) in metrics.choices()


def test_service_check_metric_in_a_level_check(cast):
    today = timezone.localdate()
    ServiceFactory(team=cast.team, name="payments", tier=1)  # a second tier-1 service, no SLO yet
    ServiceFactory(team=cast.team, name="docs", tier=3)  # not applicable
    f.slo(cast.service)
    facts = inputs.gather(team_ids=[cast.team.pk, cast.other_team.pk], as_of=today)
    mine, other = facts[cast.team.pk], facts[cast.other_team.pk]
    assert mine["services"]["slo_defined"] == {"applicable": 2, "passing": 1}
    assert metrics.METRICS["services.slo_defined"].fn(mine) == 0.5
    [result] = pillars.evaluate_checks([_spec("services.slo_defined")], mine)
    assert result["status"] == "failed" and result["actual_display"] == "50%"
    # Search has one tier-2 service: no applicable service is no data, never 0% or 100%.
    assert metrics.METRICS["services.slo_defined"].fn(other) is None
    [result] = pillars.evaluate_checks([_spec("services.slo_defined")], other)
    assert result["no_data"] and result["actual_display"] == "no data" and result["status"] == "failed"
    [result] = pillars.evaluate_checks([_spec("services.slo_defined", when_missing="pass")], other)
    assert result["status"] == "passed"
    # The second service gets its SLO: every applicable service passes and the check passes.
    f.slo(cast.team.services.get(name="payments"))
    mine = inputs.gather(team_ids=[cast.team.pk], as_of=today)[cast.team.pk]
    [result] = pillars.evaluate_checks([_spec("services.slo_defined")], mine)
    assert result["status"] == "passed" and result["actual_display"] == "100%"
