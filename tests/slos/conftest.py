import pytest

from .factories import fill, live_now_ts, make_sli, make_slo


@pytest.fixture
def catalog(cast):
    """An SLI and SLO on the team's service with a day of data, and one on the other team's service."""
    sli = make_sli(cast.service, name="Checkout availability")
    slo = make_slo(sli, name="Checkout 99.9", target="0.999")
    other_sli = make_sli(cast.other_service, name="Search availability")
    other_slo = make_slo(other_sli, name="Search 99", target="0.99")
    now = live_now_ts()
    fill(sli, start_ts=now - 86400, end_ts=now, good=999, total=1000, refresh=True)
    return {"sli": sli, "slo": slo, "other_sli": other_sli, "other_slo": other_slo}
