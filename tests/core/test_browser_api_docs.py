"""Swagger UI at /api/docs/ under the site's CSP (script-src 'self', no inline scripts)."""

import pytest

from tests.browser import login, screenshot

pytestmark = pytest.mark.browser


def test_api_docs_list_operations_and_try_it_out_with_the_session(page, live_server, cast):
    blocked = []
    page.on("console", lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.on("pageerror", lambda error: blocked.append(str(error)))
    login(page, live_server, cast.member)

    response = page.goto(live_server.url + "/api/docs/")
    assert response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    # The start-up code is a script file of its own, not inline.
    assert page.locator("script:not([src])").count() == 0
    page.locator(".opblock").first.wait_for()
    # Swagger UI draws only what is on screen; the filter box finds any tag's operations.
    for tag, operation in [("slos", "slos_list"), ("postmortems", "postmortems_list"), ("teams", "teams_list")]:
        page.fill(".operation-filter-input", tag)
        page.locator(f"#operations-{tag}-{operation}").wait_for()
    assert blocked == []

    teams_list = page.locator("#operations-teams-teams_list")
    teams_list.locator(".opblock-summary").first.click()
    teams_list.get_by_role("button", name="Try it out").click()
    teams_list.get_by_role("button", name="Execute").click()
    status = teams_list.locator(".live-responses-table .response .response-col_status").first
    status.wait_for()
    # The browser's session cookie authenticates the call: 200 and the member's team in the body.
    assert status.inner_text().strip() == "200"
    assert '"slug": "checkout"' in teams_list.locator(".live-responses-table .microlight").first.inner_text()
    screenshot(page, "api-docs-try-it-out")
