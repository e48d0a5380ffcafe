from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from apps.core.models import TimeStampedModel
from apps.core.validation import require_same_organization


class Organization(TimeStampedModel):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class OrgMembership(TimeStampedModel):
    class Role(models.TextChoices):
        ADMIN = "admin", "Org admin"
        LEADER = "leader", "Leader"
        MEMBER = "member", "Member"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="org_memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        ordering = ["organization", "user__email"]
        constraints = [models.UniqueConstraint(fields=["organization", "user"], name="uniq_org_membership")]

    def __str__(self):
        return f"{self.user} · {self.get_role_display()} of {self.organization}"


class Department(TimeStampedModel):
    """A unit of the org chart; departments nest (parent) to any depth."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="departments")
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80)

    class Meta:
        ordering = ["organization", "name"]
        constraints = [models.UniqueConstraint(fields=["organization", "slug"], name="uniq_department_slug")]

    def __str__(self):
        return self.name

    def clean(self):
        if self.parent_id is None:
            return
        require_same_organization(self.organization_id, field="parent", obj=self.parent, label="The parent department")
        node, seen = self.parent, set()
        while node is not None:
            if node.pk == self.pk or node.pk in seen:
                raise ValidationError({"parent": "A department cannot be nested inside itself."})
            seen.add(node.pk)
            node = node.parent

    def ancestors(self) -> list["Department"]:
        chain, node = [], self.parent
        while node is not None:
            chain.insert(0, node)
            node = node.parent
        return chain

    @property
    def path(self) -> str:
        return " / ".join([d.name for d in self.ancestors()] + [self.name])


class Team(TimeStampedModel):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="teams")
    department = models.ForeignKey(Department, on_delete=models.SET_NULL, null=True, blank=True, related_name="teams")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80)
    description = models.TextField(blank=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="TeamMembership", related_name="teams", blank=True
    )

    class Meta:
        ordering = ["organization", "name"]
        constraints = [models.UniqueConstraint(fields=["organization", "slug"], name="uniq_team_slug")]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("teams:detail", args=[self.pk])

    def clean(self):
        if self.department_id:
            require_same_organization(self.organization_id, field="department", obj=self.department)


class TeamMembership(TimeStampedModel):
    class Role(models.TextChoices):
        LEAD = "lead", "Team lead"
        MEMBER = "member", "Member"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        ordering = ["team", "-role", "user__email"]
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="uniq_team_membership")]

    def __str__(self):
        return f"{self.user} · {self.get_role_display()} of {self.team}"


class Service(TimeStampedModel):
    class Tier(models.IntegerChoices):
        TIER_1 = 1, "Tier 1 (critical)"
        TIER_2 = 2, "Tier 2 (important)"
        TIER_3 = 3, "Tier 3 (best effort)"

    class Lifecycle(models.TextChoices):
        EXPERIMENTAL = "experimental", "Experimental"
        PRODUCTION = "production", "Production"
        DEPRECATED = "deprecated", "Deprecated"

    # The organization is kept beside the team so names are unique org-wide
    # (webhooks and catalog imports find services by name).
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="services")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="services")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80)
    description = models.TextField(blank=True)
    tier = models.PositiveSmallIntegerField(choices=Tier.choices, default=Tier.TIER_2)
    lifecycle = models.CharField(max_length=20, choices=Lifecycle.choices, default=Lifecycle.PRODUCTION)
    repository_url = models.URLField(blank=True)
    runbook_url = models.URLField(blank=True)

    class Meta:
        ordering = ["organization", "name"]
        constraints = [models.UniqueConstraint(fields=["organization", "slug"], name="uniq_service_slug")]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("teams:service", args=[self.pk])

    def clean(self):
        if self.team_id and self.organization_id:
            require_same_organization(self.organization_id, field="team", obj=self.team, label="The owning team")
