"""The champion-versus-challenger decision, as a plain function."""

from __future__ import annotations

import pytest

from mlvp_assets.ml.evaluation import Metrics
from mlvp_assets.ml.registry import alias_uri, decide_promotion

BASELINE = Metrics(mae=100.0, rmse=300.0, r2=0.0, rows=500)
CHAMPION = Metrics(mae=60.0, rmse=200.0, r2=0.4, rows=500)


def metrics(mae: float, rmse: float) -> Metrics:
    return Metrics(mae=mae, rmse=rmse, r2=0.3, rows=500)


def test_first_model_is_promoted_when_it_beats_the_median_by_the_margin():
    decision = decide_promotion(metrics(75.0, 250.0), None, BASELINE, tolerance=0.02, baseline_margin=0.2)

    assert decision.promote
    assert "no champion yet" in decision.reason and "25.0%" in decision.reason


def test_first_model_too_close_to_the_median_is_rejected_with_the_numbers():
    decision = decide_promotion(metrics(85.0, 250.0), None, BASELINE, tolerance=0.02, baseline_margin=0.2)

    assert not decision.promote
    assert "85.00" in decision.reason and "100.00" in decision.reason and "20%" in decision.reason


def test_a_challenger_within_tolerance_of_the_champion_is_promoted():
    decision = decide_promotion(metrics(61.0, 203.0), CHAMPION, BASELINE, tolerance=0.02, baseline_margin=0.2)

    assert decision.promote
    assert "at least as good" in decision.reason


@pytest.mark.parametrize(
    ("challenger", "named"),
    [
        (metrics(62.0, 199.0), "MAE 62.00"),
        (metrics(59.0, 210.0), "RMSE 210.00"),
        (metrics(70.0, 260.0), "MAE 70.00"),
    ],
)
def test_a_challenger_worse_beyond_tolerance_on_either_metric_is_rejected(challenger, named):
    decision = decide_promotion(challenger, CHAMPION, BASELINE, tolerance=0.02, baseline_margin=0.2)

    assert not decision.promote
    assert "worse than the champion" in decision.reason and named in decision.reason


def test_a_challenger_that_stopped_beating_the_median_is_rejected_even_if_the_champion_is_worse():
    weak_champion = metrics(95.0, 290.0)

    decision = decide_promotion(
        metrics(90.0, 280.0), weak_champion, BASELINE, tolerance=0.02, baseline_margin=0.2
    )

    assert not decision.promote
    assert "median baseline" in decision.reason


@pytest.mark.parametrize(("tolerance", "margin"), [(-0.1, 0.2), (0.02, 1.0), (0.02, -0.5)])
def test_nonsense_thresholds_are_refused(tolerance, margin):
    with pytest.raises(ValueError):
        decide_promotion(CHAMPION, None, BASELINE, tolerance=tolerance, baseline_margin=margin)


def test_alias_uri_is_what_scoring_loads():
    assert alias_uri("dev_airbnb_price", "champion") == "models:/dev_airbnb_price@champion"


def test_a_rejection_names_every_failed_condition():
    decision = decide_promotion(metrics(90.0, 280.0), CHAMPION, BASELINE, tolerance=0.02, baseline_margin=0.2)

    assert not decision.promote
    assert "worse than the champion" in decision.reason and "median baseline" in decision.reason
