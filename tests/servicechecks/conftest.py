import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext


@pytest.fixture
def assert_one_select():
    """The evaluation's cost: exactly one SELECT, beside the savepoint and `SET LOCAL jit = off`
    that wrap it on PostgreSQL (apps/servicechecks/selectors.py)."""

    class _Capture(CaptureQueriesContext):
        def __init__(self, selects=1):
            super().__init__(connection)
            self.selects = selects

        def __exit__(self, *exc):
            super().__exit__(*exc)
            if exc[0] is not None:
                return
            sql = [q["sql"] for q in self.captured_queries]
            selects = [s for s in sql if s.lstrip().upper().startswith("SELECT")]
            others = [s for s in sql if s not in selects]
            assert len(selects) == self.selects, sql
            assert all(s.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "SET LOCAL jit")) for s in others), others

    return _Capture
