"""XSS attempts in every Markdown field never reach the page as markup."""

import re

import pytest
from django.urls import reverse

from apps.postmortems import services
from apps.postmortems.markdown import render
from apps.postmortems.models import MARKDOWN_FIELDS, ContributingFactorCategory
from tests.postmortems.factories import IncidentFactory, make_postmortem

PAYLOADS = [
    "<script>alert('xss')</script>",
    "<img src=x onerror=alert('xss')>",
    "[click](javascript:alert('xss'))",
    "[click](JaVaScRiPt:alert('xss'))",
    "<a href=\"javascript:alert('xss')\">x</a>",
    "<svg onload=alert('xss')>",
    '<iframe src="https://evil.example"></iframe>',
    '<p onmouseover="alert(\'xss\')" style="position:fixed">hover</p>',
    "![x](javascript:alert('xss'))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<details open ontoggle=alert('xss')>",
    '<form action="https://evil.example"><button>go</button></form>',
]
ATTACK = "\n\n".join(PAYLOADS)


def assert_clean(html: str):
    """None of PAYLOADS survives as markup: no script element, no event handler attribute,
    no javascript:/data: URL in an attribute, no iframe/svg/form/style from the author."""
    lowered = html.lower()
    tags = re.findall(r"<[a-z][^>]*>", lowered)
    assert not [t for t in tags if t.startswith("<script") and "src=" not in t], "a script element survived"
    assert not [t for t in tags if re.search(r"\son[a-z]+\s*=", t)], "an event handler attribute survived"
    attrs = " ".join(re.findall(r'(?:href|src|action)\s*=\s*"?[^"\s>]*', " ".join(tags)))
    assert "javascript:" not in attrs and "data:" not in attrs
    assert "evil.example" not in " ".join(tags)
    assert not [t for t in tags if "position:fixed" in t]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_each_payload_is_neutralised(payload):
    assert_clean(str(render(payload)))


def test_markdown_still_renders():
    html = str(render("**bold** and [docs](https://docs.example/x)\n\n- a\n- b\n\n`<b>`"))
    assert "<strong>bold</strong>" in html
    assert '<a href="https://docs.example/x" rel="noopener noreferrer nofollow">docs</a>' in html
    assert "<li>a</li>" in html and "<code>&lt;b&gt;</code>" in html


@pytest.mark.django_db
def test_every_markdown_field_on_the_pages(cast, client_for):
    incident = IncidentFactory(team=cast.team, description=ATTACK)
    pm = make_postmortem(cast, incident=incident, reviewers=[cast.lead], **dict.fromkeys(MARKDOWN_FIELDS, ATTACK))
    category = ContributingFactorCategory.objects.filter(organization=None).first()
    services.postmortem_update(
        actor=cast.member,
        postmortem=pm,
        timeline=[{"at": incident.started_at, "description": ATTACK}],
        factors=[{"category": category, "description": ATTACK}],
    )
    services.postmortem_submit(actor=cast.member, postmortem=pm)
    services.postmortem_review(actor=cast.lead, postmortem=pm, decision="changes_requested", comment=ATTACK)
    body = client_for("member").get(reverse("postmortems:detail", args=[pm.pk])).content.decode()
    main = body.split("<main", 1)[1].split("</main>", 1)[0]
    # Every field rendered (its text is there), none as markup.
    assert main.count("hover") >= len(MARKDOWN_FIELDS) + 4  # fields + timeline + factor + review + event comment
    assert_clean(main)
    incident_page = (
        client_for("member").get(reverse("postmortems:incident_detail", args=[incident.pk])).content.decode()
    )
    assert "hover" in incident_page
    assert_clean(incident_page.split("<main", 1)[1].split("</main>", 1)[0])


@pytest.mark.django_db
def test_search_highlights_escape_the_text(cast, client_for):
    make_postmortem(cast, status="published", summary="pool <img src=x onerror=alert(1)> exhausted")
    body = client_for("member").get(reverse("postmortems:index"), {"q": "pool"}).content.decode()
    results = body.split('id="pm-results"', 1)[1].split("</main>", 1)[0]
    assert "<mark>" in results.lower()
    assert_clean(results)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_check_catches_unsanitised_output(payload):
    """Guard against a check that can't fail: plain Markdown output of each payload is flagged."""
    import markdown

    unsanitised = payload if payload.startswith("<") else markdown.markdown(payload)
    with pytest.raises(AssertionError):
        assert_clean(unsanitised)
