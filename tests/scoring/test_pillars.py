"""The scoring maths on hand-checked numbers (pure functions, no database)."""

import pytest

from apps.scoring import metrics, pillars

from .factories import WEIGHTS, assessment, dora, inputs, learning, reliability, spec


class TestSelfAssessment:
    def test_is_the_calms_overall_rounded(self):
        assert pillars.self_assessment_pillar(assessment(62.345)) == 62.3

    def test_no_submitted_assessment_is_no_data(self):
        assert pillars.self_assessment_pillar(None) is None
        assert pillars.self_assessment_pillar(assessment(None)) is None


class TestDelivery:
    def test_mean_of_tier_points(self):
        # (100 + 75 + 50 + 25) / 4
        assert pillars.delivery_pillar(dora("elite", "high", "medium", "low")) == 62.5

    def test_keys_without_a_tier_are_left_out(self):
        # (100 + 25) / 2: no incidents means no time-to-restore tier, not a zero.
        assert pillars.delivery_pillar(dora("elite", None, "low", None)) == 62.5

    def test_no_deployments_is_no_data(self):
        assert pillars.delivery_pillar(dora()) is None
        assert pillars.delivery_pillar({}) is None


class TestReliability:
    def test_tier_weighted_coverage_attainment_and_budget(self):
        # coverage = (3 x 1.0 + 2 x 0.5) / (3 + 2) = 0.8 (no tier-3 service)
        # 100 x (0.4 x 0.8 + 0.4 x 0.75 + 0.2 x 0.5) = 32 + 30 + 10 = 72
        rel = reliability(3, 2, {"1": 1.0, "2": 0.5}, slos=4, meeting=3, attainment=0.75, budget=0.5)
        assert pillars.reliability_pillar(rel) == 72.0

    def test_overspent_budget_counts_as_zero_not_negative(self):
        rel = reliability(3, 2, {"1": 1.0, "2": 0.5}, slos=4, meeting=3, attainment=0.75, budget=-0.3)
        assert pillars.reliability_pillar(rel) == 62.0

    def test_services_without_slos_are_not_yet_measured(self):
        # Coverage 0 is known, but with no SLO there is nothing measured: no data, not a score of 0.
        rel = reliability(2, 0, {"2": 0.0})
        assert pillars.reliability_pillar(rel) is None
        assert pillars.reliability_parts(rel) == {"coverage": 0.0, "attainment": None, "budget": None}

    def test_slos_without_data_are_no_data_not_ten(self):
        # One tier-3 service of four has an SLO, and it has no samples yet: coverage 0.25 alone
        # used to give 100 x 0.4 x 0.25 = 10; now the pillar waits for data.
        assert pillars.reliability_pillar(reliability(4, 1, {"3": 0.25}, slos=1)) is None

    def test_missing_budget_is_left_out_not_zero(self):
        # coverage 1.0, attainment 0.5, no budget figure: (0.4 x 1.0 + 0.4 x 0.5) / 0.8 = 0.75 -> 75
        rel = reliability(1, 1, {"1": 1.0}, slos=2, meeting=1, attainment=0.5)
        assert pillars.reliability_pillar(rel) == 75.0

    def test_measured_count(self):
        assert pillars.measured_count({"self_assessment": 10, "delivery": None, "reliability": 0.0}) == 2
        assert pillars.measured_count(dict.fromkeys(pillars.PILLAR_KEYS)) == 0

    def test_no_services_is_no_data(self):
        assert pillars.reliability_pillar(reliability(0)) is None

    def test_int_tier_keys_as_the_selector_returns_them(self):
        rel = reliability(3, 2, slos=4, meeting=3, attainment=0.75, budget=0.5)
        rel["coverage_by_tier"] = {1: 1.0, 2: 0.5, 3: None}
        assert pillars.reliability_pillar(rel) == 72.0


class TestLearning:
    @pytest.mark.parametrize(("days", "speed"), [(0, 1.0), (5, 1.0), (17.5, 0.5), (30, 0.0), (45, 0.0), (None, None)])
    def test_publish_speed(self, days, speed):
        assert pillars.publish_speed(days) == speed

    def test_weighted_parts(self):
        # speed at 10 days = (30 - 10) / 25 = 0.8; 100 x (0.5 x 0.5 + 0.2 x 0.8 + 0.3 x 1.0) = 25 + 16 + 30
        lr = learning(4, 2, 0.5, 10, due=3, on_time=3, closed_share=1.0)
        assert pillars.learning_pillar(lr) == 71.0

    def test_missing_parts_are_renormalised(self):
        # Only action items: 0.3 x 0.6 / 0.3
        assert pillars.learning_pillar(learning(due=5, on_time=3, closed_share=0.6)) == 60.0

    def test_unpublished_postmortems_score_zero(self):
        assert pillars.learning_pillar(learning(3, 0, 0.0)) == 0.0

    def test_nothing_to_learn_from_is_no_data(self):
        assert pillars.learning_pillar(learning()) is None


class TestOverall:
    def test_weighted_mean_over_pillars_with_data(self):
        # (20 x 80 + 30 x 60 + 20 x 40) / (20 + 30 + 20) = 4200 / 70
        scores = {"self_assessment": 80, "delivery": 60, "reliability": None, "learning": 40}
        assert pillars.overall_score(scores, WEIGHTS) == 60.0

    def test_zero_weight_pillar_is_ignored(self):
        scores = {"self_assessment": 10, "delivery": 90, "reliability": None, "learning": None}
        assert pillars.overall_score(scores, {**WEIGHTS, "self_assessment": 0}) == 90.0

    def test_no_data_at_all(self):
        assert pillars.overall_score(dict.fromkeys(pillars.PILLAR_KEYS), WEIGHTS) is None


RUBRIC = [
    spec("score-25", 2, "score.overall", "gte", 25, id=1),
    spec("first-slo", 2, "slo.count", "gte", 1, id=2, hint="Define an SLO."),
    spec("score-45", 3, "score.overall", "gte", 45, id=3),
    spec("score-65", 4, "score.overall", "gte", 65, id=4),
    spec("lead-week", 4, "dora.lead_time_hours", "lte", 168, id=5),
    spec("score-80", 5, "score.overall", "gte", 80, id=6),
]


def strong_team(**overrides):
    parts = {
        "a": assessment(95, culture=95, automation=95, lean=95, measurement=95, sharing=95),
        "d": dora("elite", "elite", "elite", "elite", per_day=3, lead=5, rate=0.01, restore=0.5),
        "r": reliability(2, 2, {"1": 1.0, "2": 1.0}, slos=3, meeting=3, attainment=1.0, budget=0.9),
        "lr": learning(2, 2, 1.0, 2, due=4, on_time=4, closed_share=1.0),
    }
    return inputs(**{**parts, **overrides})


class TestLevels:
    def test_every_check_passes_reaches_level_five(self):
        result = pillars.score_team(strong_team(), weights=WEIGHTS, checks=RUBRIC, gap_threshold=25)
        assert result.overall >= 95
        assert result.level == 5
        assert result.recommendations == []

    def test_failed_level_two_check_caps_at_one_whatever_the_score(self):
        # Excellent everywhere, but no SLO: the level-2 check fails and the team stays at level 1.
        data = strong_team(
            r=reliability(2, 0, {"1": 0.0, "2": 0.0}),
            a=assessment(95, culture=95, automation=95, lean=95, measurement=95, sharing=95),
        )
        result = pillars.score_team(data, weights=WEIGHTS, checks=RUBRIC, gap_threshold=25)
        assert result.level == 1
        # Reliability has no data (no SLO), so the overall rests on 3 of 4 pillars:
        # (20 x 95 + 30 x 100 + 20 x 100) / 70 = 98.57 -> 98.6. Without evidence the team still cannot climb.
        assert result.pillars["reliability"] is None
        assert result.overall == 98.6
        failed = [c["key"] for c in result.checks if c["status"] == "failed"]
        assert failed == ["first-slo"]
        assert result.recommendations[0]["check"] == "first-slo"
        assert result.recommendations[0]["hint"] == "Define an SLO."

    def test_level_is_the_highest_with_every_level_below_passed(self):
        # Lead time 200 h fails level 4 only: the team holds level 3 even though level 5's score check passes.
        data = strong_team(d=dora("elite", "high", "elite", "elite", per_day=3, lead=200, rate=0.01, restore=0.5))
        result = pillars.score_team(data, weights=WEIGHTS, checks=RUBRIC, gap_threshold=25)
        assert result.level == 3

    def test_exempted_check_counts_as_passed_and_says_so(self):
        data = strong_team(r=reliability(2, 0, {"1": 0.0, "2": 0.0}))
        result = pillars.score_team(
            data, weights=WEIGHTS, checks=RUBRIC, gap_threshold=25, exemptions={2: "2027-01-31"}
        )
        # Level 1 without the exemption; with it the team climbs as far as its other evidence goes.
        assert result.level == 5
        check = next(c for c in result.checks if c["key"] == "first-slo")
        assert check["status"] == "exempt" and check["passed"] is True
        assert check["exempt_until"] == "2027-01-31"

    def test_exemption_of_a_passing_check_shows_it_passed(self):
        result = pillars.score_team(
            strong_team(), weights=WEIGHTS, checks=RUBRIC, gap_threshold=25, exemptions={2: "x"}
        )
        assert next(c for c in result.checks if c["key"] == "first-slo")["status"] == "passed"

    def test_missing_metric_fails_or_passes_as_the_check_says(self):
        facts = {**inputs(), "pillars": {}, "overall": None}
        results = pillars.evaluate_checks(
            [
                spec("a", 2, "pm.published_share", "gte", 0.8, when_missing="pass"),
                spec("b", 2, "pm.closed_on_time_share", "gte", 0.7),
            ],
            facts,
        )
        assert [(r["key"], r["status"], r["no_data"]) for r in results] == [
            ("a", "passed", True),
            ("b", "failed", True),
        ]

    @pytest.mark.parametrize(
        ("operator", "value", "passed"),
        [
            ("gte", 10, True),
            ("gt", 10, False),
            ("lte", 10, True),
            ("lt", 10, False),
            ("eq", 10, True),
            ("gte", 10.5, False),
        ],
    )
    def test_operators(self, operator, value, passed):
        facts = {**inputs(), "pillars": {}, "overall": 10.0}
        [result] = pillars.evaluate_checks([spec("x", 2, "score.overall", operator, value)], facts)
        assert result["passed"] is passed


def test_stored_check_results_present_as_evaluated():
    facts = {**inputs(r=reliability(2, 1, {"2": 0.5}, slos=1)), "pillars": {}, "overall": 30.0}
    results = pillars.evaluate_checks(
        [spec("first-slo", 2, "slo.count", "gte", 1, id=7), spec("cov", 3, "slo.coverage", "gte", 1.0, id=8)],
        facts,
        {8: "2027-01-01"},
    )
    stored = pillars.stored_checks(results)
    assert set(stored[0]) == set(pillars.STORED_CHECK_FIELDS)
    assert [pillars.present_check(s) for s in stored] == results


class TestRecommendations:
    def test_nearest_level_first_then_closest_to_passing_at_most_three(self):
        # Pillars 50, 50, 70 (0.4 + 0.4 x 0.5 + 0.2 x 0.5), 70 -> overall 60: fails score-65
        # (level 4, shortfall 5/65) and score-80 (level 5, 20/80); lead time 300 h fails lead-week
        # (level 4, 132/168); a 12% failure rate fails cfr (level 5, 0.07/0.05).
        data = inputs(
            a=assessment(50),
            d=dora("medium", "medium", "medium", "medium", per_day=0.1, lead=300, rate=0.12, restore=30),
            r=reliability(1, 1, {"1": 1.0}, slos=2, meeting=1, attainment=0.5, budget=0.5),
            lr=learning(1, 1, 1.0, 3, due=1, on_time=0, closed_share=0.0),
        )
        extra = [*RUBRIC, spec("cfr", 5, "dora.change_failure_rate", "lte", 0.05)]
        result = pillars.score_team(data, weights=WEIGHTS, checks=extra, gap_threshold=25)
        assert result.overall == 60.0
        assert result.level == 3
        assert [r["check"] for r in result.recommendations] == ["score-65", "lead-week", "score-80"]
        assert result.recommendations[0]["remaining_at_level"] == 2

    def test_exempted_checks_are_not_recommended(self):
        data = strong_team(r=reliability(2, 0, {"1": 0.0, "2": 0.0}))
        result = pillars.score_team(
            data, weights=WEIGHTS, checks=RUBRIC, gap_threshold=25, exemptions={2: "2027-01-01"}
        )
        assert all(r["check"] != "first-slo" for r in result.recommendations)


class TestPerceptionGaps:
    def test_gaps_above_threshold_largest_first(self):
        data = inputs(
            a=assessment(70, culture=50, automation=85, lean=None, measurement=90, sharing=80),
            d=dora("low", None, None, None, per_day=0.01),
            r=reliability(3, 0, {"2": 0.0}),
            lr=learning(4, 1, 0.25, 12, due=4, on_time=3, closed_share=0.75),
        )
        gaps = pillars.perception_gaps(data, threshold=25)
        # measurement: 90 - 0 (no SLO); automation: 85 - 25 (low frequency); sharing: 80 - 25.
        # culture: 50 - mean(25, 75) = 0, not a gap; lean has no self-rating.
        assert [(g["dimension"], g["gap"]) for g in gaps] == [
            ("measurement", 90.0),
            ("automation", 60.0),
            ("sharing", 55.0),
        ]
        assert "none of its 3 services has an SLO" in gaps[0]["why"]
        assert "deployment frequency is low" in gaps[1]["why"]
        assert "1 of 4 SEV1-2 incidents" in gaps[2]["why"]

    def test_below_threshold_is_not_a_gap(self):
        data = inputs(a=assessment(20, measurement=20), r=reliability(3, 0, {"2": 0.0}))
        assert pillars.perception_gaps(data, threshold=25) == []
        assert [g["dimension"] for g in pillars.perception_gaps(data, threshold=20)] == ["measurement"]

    def test_no_deployments_is_evidence_against_high_automation(self):
        data = inputs(a=assessment(80, automation=80))
        [gap] = pillars.perception_gaps(data, threshold=25)
        assert gap["dimension"] == "automation" and gap["evidence"] == 0.0

    def test_no_evidence_either_way_is_not_a_gap(self):
        # No services: measurement cannot be judged; no incidents: sharing cannot be judged.
        data = inputs(a=assessment(90, measurement=90, sharing=90))
        assert pillars.perception_gaps(data, threshold=25) == []


class TestMetrics:
    def test_days_since_submitted(self):
        facts = {**inputs(as_of="2026-11-22"), "assessment": {"submitted_at": "2026-01-01T10:00:00+00:00"}}
        assert metrics.METRICS["calms.days_since_submitted"].fn(facts) == 325.0

    def test_no_deployment_is_a_measured_zero(self):
        assert metrics.METRICS["dora.deploys_per_day"].fn(inputs()) == 0.0

    def test_slo_count_without_services_is_no_data(self):
        assert metrics.METRICS["slo.count"].fn(inputs()) is None
        assert metrics.METRICS["slo.count"].fn(inputs(r=reliability(2))) == 0.0

    @pytest.mark.parametrize(
        ("key", "value", "shown"),
        [
            ("slo.attainment", 0.756, "76%"),
            ("dora.lead_time_hours", 6.25, "6.2 h"),
            ("dora.deployment_frequency_rank", 3.0, "high"),
            ("pm.median_days_to_publish", 3.04, "3.0 d"),
            ("score.overall", None, "no data"),
        ],
    )
    def test_format(self, key, value, shown):
        assert metrics.format_value(key, value) == shown

    def test_default_rubric_uses_known_metrics_and_operators(self):
        from apps.scoring.services import default_rubric

        rubric = default_rubric()
        assert sum(rubric["weights"].values()) == 100
        for check in rubric["checks"]:
            assert check["metric"] in metrics.METRICS, check["key"]
            assert check["operator"] in pillars.OPS
            assert 2 <= check["level"] <= 5
