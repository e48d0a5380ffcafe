"""The framework data: the shipped CALMS v1, loading it idempotently, immutability once in use."""

import copy
import datetime as dt
from io import StringIO

import pytest
import yaml
from django.core.management import CommandError, call_command

from apps.assessments import frameworks, selectors, services
from apps.assessments.models import Dimension, Framework, FrameworkLocked, Question
from apps.core import permissions

from .conftest import SMALL

pytestmark = pytest.mark.django_db


def test_calms_v1_has_five_dimensions_of_six_to_eight_questions_with_five_descriptors(calms):
    dims = list(calms.dimensions.order_by("order"))
    assert [d.key for d in dims] == ["culture", "automation", "lean", "measurement", "sharing"]
    for dim in dims:
        questions = list(dim.questions.all())
        assert 6 <= len(questions) <= 8, dim.key
        assert dim.weight > 0
        for q in questions:
            assert q.weight > 0 and q.guidance
            assert len(q.level_descriptors) == 5 and all(len(t) > 15 for t in q.level_descriptors)
    keys = set(Question.objects.filter(dimension__framework=calms).values_list("key", flat=True))
    for practice in (
        "trunk-based-development",
        "continuous-integration",
        "slos",
        "error-budgets",
        "wip-limits",
        "blameless-postmortems",
        "small-batches",
        "runbooks",
        "monitoring-observability",
    ):
        assert practice in keys


def test_loading_again_changes_nothing(calms):
    counts = (Framework.objects.count(), Dimension.objects.count(), Question.objects.count())
    ids = sorted(Question.objects.values_list("pk", flat=True))
    result = services.framework_load_builtin(actor=permissions.SYSTEM)[0]
    assert result.action == "unchanged" and result.framework == calms
    assert (Framework.objects.count(), Dimension.objects.count(), Question.objects.count()) == counts
    assert sorted(Question.objects.values_list("pk", flat=True)) == ids


def test_load_framework_command_is_idempotent(calms):
    out = StringIO()
    call_command("load_framework", stdout=out)
    call_command("load_framework", stdout=out)
    assert out.getvalue().count("CALMS v1: unchanged (5 dimensions, 32 questions)") == 2


def test_load_framework_command_reports_bad_files(tmp_path):
    bad = tmp_path / "bad.yaml"
    data = copy.deepcopy(SMALL)
    data["dimensions"][0]["questions"][0]["levels"] = ["only", "three", "levels"]
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(CommandError, match=r"questions\[0\] \(c1\): levels must list exactly 5"):
        call_command("load_framework", str(bad))
    assert not Framework.objects.filter(key="mini").exists()
    with pytest.raises(CommandError, match="no such file"):
        call_command("load_framework", str(tmp_path / "missing.yaml"))


def test_unused_version_is_updated_from_a_changed_file(mini):
    data = copy.deepcopy(SMALL)
    data["dimensions"][0]["questions"][0]["text"] = "C1, reworded?"
    result = services.framework_load(data=data, actor=permissions.SYSTEM)
    assert result.action == "updated" and result.framework == mini
    assert Question.objects.filter(dimension__framework=mini, key="c1").get().text == "C1, reworded?"


def test_version_in_use_is_immutable(cast, mini, today):
    services.campaign_open(
        organization=cast.org,
        frameworks=[mini],
        name="Uses mini",
        opens_on=today,
        closes_on=today,
        teams=[cast.team],
        actor=permissions.SYSTEM,
    )
    data = copy.deepcopy(SMALL)
    data["dimensions"][0]["weight"] = 5
    with pytest.raises(frameworks.FrameworkDataError, match="already used by a campaign"):
        services.framework_load(data=data, actor=permissions.SYSTEM)
    assert Dimension.objects.get(framework=mini, key="culture").weight == 2
    # The same file again is still fine.
    assert services.framework_load(data=SMALL, actor=permissions.SYSTEM).action == "unchanged"
    # Model-level guards: no save or delete of the version, its dimensions or questions.
    question = Question.objects.filter(dimension__framework=mini).first()
    question.text = "changed"
    with pytest.raises(FrameworkLocked):
        question.save()
    with pytest.raises(FrameworkLocked):
        question.delete()
    dim = Dimension.objects.filter(framework=mini).first()
    dim.weight = 9
    with pytest.raises(FrameworkLocked):
        dim.save()
    mini.name = "Renamed"
    with pytest.raises(FrameworkLocked):
        mini.save()
    with pytest.raises(FrameworkLocked):
        Dimension.objects.create(framework=mini, key="new", name="New")
    assert Question.objects.get(pk=question.pk).text == "C1?"


def test_new_version_copies_the_questions_and_is_editable(cast, calms, campaign):
    v2 = services.framework_new_version(framework=calms, actor=permissions.SYSTEM)
    assert (v2.key, v2.version, v2.organization) == ("calms", 2, None)
    assert Question.objects.filter(dimension__framework=v2).count() == 32
    q = Question.objects.filter(dimension__framework=v2).first()
    q.text = "Edited in v2"
    q.save()  # v2 is not used by any campaign yet
    own = services.framework_new_version(framework=calms, organization=cast.org, actor=permissions.SYSTEM)
    assert (own.version, own.organization) == (1, cast.org)
    # Answers keep their version: the v1 campaign's assessments still point at v1.
    assert set(campaign.assessments.values_list("framework__version", flat=True)) == {1}


def test_validation_names_the_problem():
    data = copy.deepcopy(SMALL)
    data["dimensions"][1]["weight"] = 0
    with pytest.raises(frameworks.FrameworkDataError, match=r"dimensions\[1\] \(automation\): weight must be above 0"):
        frameworks.validate(data)
    data = copy.deepcopy(SMALL)
    data["dimensions"].append(copy.deepcopy(data["dimensions"][0]))
    with pytest.raises(frameworks.FrameworkDataError, match="duplicate dimension key 'culture'"):
        frameworks.validate(data)
    with pytest.raises(frameworks.FrameworkDataError, match="version must be a whole number"):
        frameworks.validate({**SMALL, "version": "one"})


def test_org_frameworks_are_only_for_their_org(cast, calms, today):
    own = services.framework_new_version(framework=calms, organization=cast.other_org, actor=permissions.SYSTEM)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="another organization"):
        services.campaign_open(
            organization=cast.org,
            frameworks=[own],
            name="X",
            opens_on=today,
            closes_on=today + dt.timedelta(days=1),
            teams=[cast.team],
            actor=permissions.SYSTEM,
        )
    assert own not in selectors.frameworks_available(cast.org)
    assert calms in selectors.frameworks_available(cast.org)


def test_admin_shows_a_version_in_use_read_only(client, cast, calms, campaign):
    from django.contrib import admin as django_admin

    from apps.assessments.admin import FrameworkAdmin, QuestionAdmin

    class Req:
        user = cast.outsider  # an org admin (of the other org), not a superuser

    fw_admin = FrameworkAdmin(Framework, django_admin.site)
    assert fw_admin.has_view_permission(Req, calms)
    assert not fw_admin.has_change_permission(Req, calms)  # built-in and in use
    own = services.framework_new_version(framework=calms, organization=cast.other_org, actor=permissions.SYSTEM)
    assert fw_admin.has_change_permission(Req, own)
    assert not fw_admin.has_change_permission(type("R", (), {"user": cast.org_admin}), own)  # not their org
    q_admin = QuestionAdmin(Question, django_admin.site)
    assert not q_admin.has_change_permission(Req, Question.objects.filter(dimension__framework=calms).first())
    assert q_admin.has_change_permission(Req, Question.objects.filter(dimension__framework=own).first())
    cast.org_admin.is_superuser = True
    cast.org_admin.save()
    client.force_login(cast.org_admin)
    page = client.get(f"/admin/assessments/framework/{calms.pk}/change/")
    assert page.status_code == 200
    assert b'name="name"' not in page.content  # rendered read-only although a superuser


def test_admin_pages_stay_inside_the_admins_organizations(client, cast, calms, campaign):
    acme_own = services.framework_new_version(framework=calms, organization=cast.org, actor=permissions.SYSTEM)
    client.force_login(cast.outsider)  # org admin (staff) of the other organization
    assert client.get("/admin/assessments/campaign/").status_code == 200
    assert "CALMS now" not in client.get("/admin/assessments/campaign/").content.decode()
    assert client.get(f"/admin/assessments/campaign/{campaign.pk}/change/").status_code == 302  # "does not exist"
    assert client.get(f"/admin/assessments/framework/{acme_own.pk}/change/").status_code == 302
    assessment = campaign.assessments.first()
    assert client.get(f"/admin/assessments/assessment/{assessment.pk}/change/").status_code == 302
    listing = client.get("/admin/assessments/framework/").content.decode()
    assert "CALMS v1" in listing and f"/admin/assessments/framework/{acme_own.pk}/" not in listing
    client.force_login(cast.org_admin)
    assert client.get(f"/admin/assessments/campaign/{campaign.pk}/change/").status_code == 200
    assert client.get(f"/admin/assessments/framework/{acme_own.pk}/change/").status_code == 200
    assert client.get(f"/admin/assessments/assessment/{assessment.pk}/change/").status_code == 200


def test_load_framework_for_an_organization(tmp_path, cast):
    path = tmp_path / "mini.yaml"
    path.write_text(yaml.safe_dump(SMALL))
    out = StringIO()
    call_command("load_framework", str(path), "--organization", cast.org.slug, stdout=out)
    assert "Mini v1: created (3 dimensions, 6 questions)" in out.getvalue()
    assert Framework.objects.get(key="mini").organization == cast.org
    with pytest.raises(CommandError, match="No organization with slug 'nope'"):
        call_command("load_framework", str(path), "--organization", "nope")
