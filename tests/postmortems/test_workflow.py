import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from apps.core import permissions
from apps.postmortems import policy, services
from apps.postmortems.models import Postmortem, PostmortemEvent, PostmortemReview
from tests.postmortems.factories import IncidentFactory, make_postmortem

pytestmark = pytest.mark.django_db


class TestCreate:
    def test_one_postmortem_per_incident_from_the_severity_template(self, cast):
        incident = IncidentFactory(team=cast.team, severity=1)
        pm, created = services.postmortem_create(actor=cast.member, incident=incident)
        again, created_again = services.postmortem_create(actor=cast.member, incident=incident)
        assert created and not created_again and pm.pk == again.pk
        assert pm.template.name.startswith("Major incident")
        assert pm.template.publish_within_business_days == 5
        assert pm.root_causes == "" and "Ask *why*" in pm.template.root_causes
        assert list(pm.authors.all()) == [cast.member]
        minor = services.postmortem_create(actor=cast.member, incident=IncidentFactory(team=cast.team, severity=4))[0]
        assert minor.template.name.startswith("Minor incident")
        assert minor.publish_due_on is None

    def test_org_template_wins_over_default(self, cast):
        from apps.postmortems.models import PostmortemTemplate

        PostmortemTemplate.objects.create(
            organization=cast.org, name="Acme SEV2", min_severity=2, max_severity=2, summary="Acme prompt"
        )
        pm, _ = services.postmortem_create(actor=cast.member, incident=IncidentFactory(team=cast.team, severity=2))
        assert pm.template.name == "Acme SEV2"

    @pytest.mark.parametrize("role", ["leader", "other_member", "outsider"])
    def test_only_the_team_and_admins_start_one(self, cast, role):
        with pytest.raises(PermissionDenied):
            services.postmortem_create(actor=cast.user(role), incident=IncidentFactory(team=cast.team))


class TestPublishBy:
    def test_business_days_skip_weekends(self):
        friday = dt.date(2026, 3, 6)
        assert policy.add_business_days(friday, 1) == dt.date(2026, 3, 9)
        assert policy.add_business_days(friday, 5) == dt.date(2026, 3, 13)
        assert policy.add_business_days(dt.date(2026, 3, 7), 1) == dt.date(2026, 3, 9)  # Saturday

    def test_due_date_follows_resolution_and_marks_overdue(self, cast):
        resolved = timezone.make_aware(dt.datetime(2026, 3, 6, 18, 0))  # a Friday
        incident = IncidentFactory(
            team=cast.team,
            severity=2,
            started_at=resolved - dt.timedelta(hours=2),
            detected_at=None,
            mitigated_at=None,
            resolved_at=resolved,
        )
        pm, _ = services.postmortem_create(actor=cast.member, incident=incident)
        assert pm.publish_due_on == dt.date(2026, 3, 13)
        assert pm.is_overdue  # today is after 2026-03-13
        # The source later moves the resolution: the due date follows.
        services.incident_update(actor=cast.member, incident=incident, resolved_at=resolved + dt.timedelta(days=3))
        pm.refresh_from_db()
        assert pm.publish_due_on == dt.date(2026, 3, 16)

    def test_not_overdue_before_due(self, cast):
        pm = make_postmortem(cast)
        Postmortem.objects.filter(pk=pm.pk).update(publish_due_on=timezone.localdate() + dt.timedelta(days=1))
        pm.refresh_from_db()
        assert not pm.is_overdue


class TestTransitions:
    def test_full_path_draft_review_publish(self, cast):
        pm = make_postmortem(cast, reviewers=[cast.lead, cast.other_member])
        assert pm.status == "draft"
        pm = services.postmortem_submit(actor=cast.member, postmortem=pm)
        assert pm.status == "in_review" and pm.submitted_at
        services.postmortem_review(actor=cast.lead, postmortem=pm, decision="approved")
        with pytest.raises(ValidationError) as exc:
            services.postmortem_publish(actor=cast.member, postmortem=pm)
        assert "other_member@example.test" in str(exc.value)
        services.postmortem_review(actor=cast.other_member, postmortem=pm, decision="approved", comment="Good")
        pm = services.postmortem_publish(actor=cast.member, postmortem=pm)
        assert pm.status == "published" and pm.published_at
        kinds = list(pm.events.values_list("kind", flat=True))
        assert kinds == ["created", "submitted", "approved", "approved", "published"]

    def test_changes_requested_goes_back_to_draft_and_resubmit_resets(self, cast):
        pm = make_postmortem(cast, reviewers=[cast.lead, cast.other_member], status="in_review")
        services.postmortem_review(actor=cast.lead, postmortem=pm, decision="approved")
        with pytest.raises(ValidationError) as exc:
            services.postmortem_review(actor=cast.other_member, postmortem=pm, decision="changes_requested")
        assert "comment" in exc.value.message_dict
        services.postmortem_review(
            actor=cast.other_member, postmortem=pm, decision="changes_requested", comment="Explain detection."
        )
        pm.refresh_from_db()
        assert pm.status == "draft"
        services.postmortem_update(actor=cast.member, postmortem=pm, detection="Paged after 6 minutes.")
        services.postmortem_submit(actor=cast.member, postmortem=pm)
        assert set(pm.reviews.values_list("decision", flat=True)) == {PostmortemReview.Decision.PENDING}

    def test_submit_needs_content_and_a_reviewer(self, cast):
        pm, _ = services.postmortem_create(actor=cast.member, incident=IncidentFactory(team=cast.team, severity=2))
        with pytest.raises(ValidationError) as exc:
            services.postmortem_submit(actor=cast.member, postmortem=pm)
        # Nothing written yet (an untouched prompt would not count either).
        assert {"summary", "impact", "root_causes", "resolution", "reviewers"} <= set(exc.value.message_dict)
        pm.refresh_from_db()
        assert pm.status == "draft"

    def test_retried_transitions_are_idempotent(self, cast):
        pm = make_postmortem(cast, status="in_review")
        services.postmortem_submit(actor=cast.member, postmortem=pm)
        services.postmortem_review(actor=cast.lead, postmortem=pm, decision="approved", comment="ok")
        services.postmortem_review(actor=cast.lead, postmortem=pm, decision="approved", comment="ok")
        services.postmortem_publish(actor=cast.member, postmortem=pm)
        services.postmortem_publish(actor=cast.member, postmortem=pm)
        assert PostmortemEvent.objects.filter(postmortem=pm, kind="submitted").count() == 1
        assert PostmortemEvent.objects.filter(postmortem=pm, kind="approved").count() == 1
        assert PostmortemEvent.objects.filter(postmortem=pm, kind="published").count() == 1

    def test_only_drafts_are_edited(self, cast):
        pm = make_postmortem(cast, status="in_review")
        with pytest.raises(ValidationError):
            services.postmortem_update(actor=cast.member, postmortem=pm, summary="sneaky")
        services.postmortem_withdraw(actor=cast.member, postmortem=pm)
        services.postmortem_update(actor=cast.member, postmortem=pm, summary="fine now")

    def test_published_cannot_go_back(self, cast):
        pm = make_postmortem(cast, status="published")
        with pytest.raises(ValidationError):
            services.postmortem_withdraw(actor=cast.member, postmortem=pm)
        with pytest.raises(ValidationError):
            services.postmortem_submit(actor=cast.member, postmortem=pm)

    @pytest.mark.parametrize("role", ["leader", "other_member", "outsider"])
    def test_who_may_submit_and_publish(self, cast, role):
        pm = make_postmortem(cast)
        with pytest.raises(PermissionDenied):
            services.postmortem_submit(actor=cast.user(role), postmortem=pm)
        services.postmortem_submit(actor=cast.member, postmortem=pm)
        services.postmortem_review(actor=cast.lead, postmortem=pm, decision="approved")
        with pytest.raises(PermissionDenied):
            services.postmortem_publish(actor=cast.user(role), postmortem=pm)
        services.postmortem_publish(actor=cast.org_admin, postmortem=pm)

    def test_only_named_reviewers_review(self, cast):
        pm = make_postmortem(cast, reviewers=[cast.other_member], status="in_review")
        for user in (cast.lead, cast.member, cast.org_admin, cast.leader):
            with pytest.raises(PermissionDenied):
                services.postmortem_review(actor=user, postmortem=pm, decision="approved")
        services.postmortem_review(actor=cast.other_member, postmortem=pm, decision="approved")

    def test_reviewers_must_be_in_the_org(self, cast):
        pm = make_postmortem(cast)
        with pytest.raises(ValidationError) as exc:
            services.postmortem_update(actor=cast.member, postmortem=pm, reviewers=[cast.outsider])
        assert "reviewers" in exc.value.message_dict


class TestVisibility:
    def test_draft_visible_to_team_and_reviewers_published_to_org(self, cast):
        pm = make_postmortem(cast, reviewers=[cast.other_member])
        other_reader = cast.user("leader")
        qs = Postmortem.objects.all()
        assert permissions.viewable(cast.other_member, qs).filter(pk=pm.pk).exists()  # named reviewer
        assert permissions.viewable(other_reader, qs).filter(pk=pm.pk).exists()
        assert not permissions.viewable(cast.outsider, qs).exists()
        services.postmortem_update(actor=cast.member, postmortem=pm, reviewers=[cast.lead])
        assert not permissions.viewable(cast.other_member, qs).filter(pk=pm.pk).exists()
        services.postmortem_submit(actor=cast.member, postmortem=pm)
        services.postmortem_review(actor=cast.lead, postmortem=pm, decision="approved")
        services.postmortem_publish(actor=cast.lead, postmortem=pm)
        assert permissions.viewable(cast.other_member, qs).filter(pk=pm.pk).exists()
        assert not permissions.viewable(cast.outsider, qs).exists()


class TestUpdateLists:
    def test_lists_replace_and_bad_rows_write_nothing(self, cast):
        from apps.postmortems.models import ContributingFactorCategory

        pm = make_postmortem(cast)
        cat = ContributingFactorCategory.objects.get(slug="capacity", organization=None)
        at = timezone.now()
        kwargs = {
            "timeline": [{"at": at, "description": "Alert"}],
            "factors": [{"category": cat, "description": "Too small", "is_root_cause": True}],
            "links": [{"title": "Dash", "url": "https://grafana.example/d/1"}],
            "tags": ["Database", "database", "Capacity Planning"],
        }
        services.postmortem_update(actor=cast.member, postmortem=pm, **kwargs)
        services.postmortem_update(actor=cast.member, postmortem=pm, **kwargs)  # a retried save
        assert pm.timeline.count() == 1 and pm.factors.count() == 1 and pm.links.count() == 1
        assert sorted(pm.tags.values_list("name", flat=True)) == ["capacity-planning", "database"]
        with pytest.raises(ValidationError) as exc:
            services.postmortem_update(
                actor=cast.member,
                postmortem=pm,
                summary="changed",
                timeline=[{"at": at, "description": "ok"}, {"at": None, "description": "no time"}],
            )
        assert "timeline[1]" in exc.value.message_dict
        pm.refresh_from_db()
        assert pm.summary != "changed" and pm.timeline.get().description == "Alert"

    def test_javascript_links_are_refused(self, cast):
        pm = make_postmortem(cast)
        with pytest.raises(ValidationError):
            services.postmortem_update(
                actor=cast.member, postmortem=pm, links=[{"title": "x", "url": "javascript:alert(1)"}]
            )

    def test_category_of_another_org_is_refused(self, cast):
        from apps.postmortems.models import ContributingFactorCategory

        foreign = ContributingFactorCategory.objects.create(organization=cast.other_org, name="Theirs", slug="theirs")
        pm = make_postmortem(cast)
        with pytest.raises(ValidationError):
            services.postmortem_update(
                actor=cast.member, postmortem=pm, factors=[{"category": foreign, "description": "x"}]
            )


def test_prompts_are_placeholders_on_the_form(cast):
    from apps.postmortems.forms import PostmortemForm

    pm, _ = services.postmortem_create(actor=cast.member, incident=IncidentFactory(team=cast.team, severity=1))
    form = PostmortemForm(instance=pm)
    assert "Ask *why*" in form.fields["root_causes"].widget.attrs["placeholder"]
    assert "What helped" in form.fields["went_well"].widget.attrs["placeholder"]


def test_handing_the_incident_to_another_team_moves_its_postmortem(cast):
    from apps.postmortems.models import ActionItem

    pm = make_postmortem(cast)
    services.action_item_create(actor=cast.member, postmortem=pm, title="Fix it")
    services.incident_update(actor=cast.org_admin, incident=pm.incident, team=cast.other_team)
    pm.refresh_from_db()
    assert pm.team == cast.other_team
    assert ActionItem.objects.get(postmortem=pm).team == cast.other_team
    assert not permissions.can_change(cast.member, pm) and permissions.can_change(cast.other_member, pm)
