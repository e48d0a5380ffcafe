from django.apps import AppConfig
from django.db.models import Q


class PostmortemsConfig(AppConfig):
    name = "apps.postmortems"
    label = "postmortems"
    verbose_name = "Postmortems"

    def ready(self):
        from apps.core import panels, permissions

        from . import models
        from .panels import team_panel

        def reviewed_by(user):
            return models.PostmortemReview.objects.filter(reviewer_id=user.pk).values("postmortem_id")

        # Incidents are shared with the whole org; any member of the owning team records them.
        permissions.register(models.Incident, org="organization", team="team", editors=permissions.EDITORS_MEMBER)
        # Drafts and reviews: the team and the named reviewers. Published: the whole org.
        permissions.register(
            models.Postmortem,
            org="organization",
            team="team",
            editors=permissions.EDITORS_MEMBER,
            shared=Q(status=models.Postmortem.Status.PUBLISHED),
            # A subquery, not a join on reviewers: rows never repeat.
            extra_viewers=lambda user: Q(pk__in=reviewed_by(user)),
        )
        # Action items follow their postmortem's visibility; the owning team, the
        # postmortem's team and the owner change them.
        permissions.register(
            models.ActionItem,
            org="organization",
            team="team",
            editors=permissions.EDITORS_MEMBER,
            shared=Q(postmortem__status=models.Postmortem.Status.PUBLISHED),
            extra_viewers=lambda user: (
                Q(postmortem_id__in=reviewed_by(user)) | Q(postmortem__team_id__in=permissions.team_ids(user))
            ),
            extra_editor=lambda item, user: (
                item.owner_id == user.pk or permissions.team_role(user, item.postmortem.team_id) is not None
            ),
        )
        for child in (
            models.TimelineEntry,
            models.ContributingFactor,
            models.SupportingLink,
            models.PostmortemReview,
            models.PostmortemEvent,
        ):
            permissions.register(
                child,
                org="postmortem__organization",
                team="postmortem__team",
                editors=permissions.EDITORS_MEMBER,
                shared=Q(postmortem__status=models.Postmortem.Status.PUBLISHED),
                extra_viewers=lambda user: Q(postmortem_id__in=reviewed_by(user)),
            )
        # Catalogue rows: org admins manage their org's own (rows without an org are the defaults).
        for catalogue in (models.PostmortemTemplate, models.ContributingFactorCategory, models.Tag):
            permissions.register(catalogue, org="organization", editors=permissions.EDITORS_ADMIN)

        panels.register("team", template="postmortems/_team_panel.html", context=team_panel, order=30)
