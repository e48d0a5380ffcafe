"""The role matrix: assert what each member of the cast gets from one route.

    assert_matrix(client_for, url, {"org_admin": 200, ..., "anonymous": 302})

Every role of `tests.conftest.ROLES` must be named, so a new route cannot
forget one. Failures are listed together: role, expected, got.
"""

from tests.conftest import ROLES

# HTML pages of shared records: everyone in the org reads, outsiders 404, anonymous to sign-in.
HTML_SHARED_READ = {
    "org_admin": 200,
    "leader": 200,
    "lead": 200,
    "member": 200,
    "other_member": 200,
    "outsider": 404,
    "anonymous": 302,
}
# API reads of shared records.
API_SHARED_READ = {**HTML_SHARED_READ, "anonymous": 401}


def assert_matrix(make_client, url, expected: dict[str, int], *, method="get", data=None, fmt=None, reset=None):
    missing = set(ROLES) - set(expected)
    assert not missing, f"matrix for {url} does not say what {sorted(missing)} get"
    failures = []
    for role in ROLES:
        if reset is not None:
            reset()
        client = make_client(role)
        kwargs = {}
        if data is not None:
            kwargs["data"] = data
        if fmt is not None:
            kwargs["format"] = fmt
        elif method != "get" and hasattr(client, "credentials"):
            kwargs["format"] = "json"
        response = getattr(client, method)(url, **kwargs)
        if response.status_code != expected[role]:
            failures.append(f"{role}: expected {expected[role]}, got {response.status_code}")
    assert not failures, f"{method.upper()} {url}\n  " + "\n  ".join(failures)
