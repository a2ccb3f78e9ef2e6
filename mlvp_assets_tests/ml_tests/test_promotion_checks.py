"""The promotion check's result, tags and figures from plain values; and, on a real SQLite MLflow
registry, the alias clean-up a promotion makes."""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient

from mlvp_assets.ml.checks import (
    PromotionContext,
    comparison_figures,
    decision_tags,
    evaluation_figures,
    evaluation_table,
    learner_of,
    no_challenger_result,
    promotion_result,
)
from mlvp_assets.ml.evaluation import Comparison, Evaluation, Metrics
from mlvp_assets.ml.registry import CHALLENGER, CHAMPION, PromotionDecision, aliased_versions, record_decision


def evaluation(mae: float, rmse: float, r2: float, above: float | None) -> Evaluation:
    """An evaluation on the comparison's 500 rows, 20 of them at or above $1,000 (``above`` None
    stands for a model with no figure there)."""
    return Evaluation(
        metrics=Metrics(mae=mae, rmse=rmse, r2=r2, rows=500),
        log_r2=r2 + 0.2,
        median_ae=mae / 2,
        mae_under_1000=mae * 0.8,
        rows_under_1000=480,
        mae_1000_and_above=above,
        rows_1000_and_above=20,
        mae_by_room_type={"Entire home/apt": mae * 1.1, "Private room": mae * 0.7},
        rows_by_room_type={"Entire home/apt": 300, "Private room": 200},
    )


COMPARISON = Comparison(
    evaluations={
        CHALLENGER: evaluation(mae=60.123456, rmse=200.0, r2=0.4, above=500.0),
        CHAMPION: evaluation(mae=62.0, rmse=210.0, r2=0.35, above=None),
    },
    baseline_evaluation=evaluation(mae=100.0, rmse=300.0, r2=0.0, above=900.0),
    unscored_rows={CHALLENGER: 3, CHAMPION: 1},
)


def context(champion_version: str | None) -> PromotionContext:
    return PromotionContext(
        model_name="test_airbnb_price",
        challenger_version="2",
        champion_version=champion_version,
        training_set_version=7,
        tolerance=0.02,
        baseline_margin=0.2,
    )


def test_figures_name_the_model_and_the_metric_rounded():
    figures = comparison_figures(COMPARISON)

    assert figures["challenger_test_mae"] == 60.1235
    assert figures["champion_test_rmse"] == 210.0 and figures["baseline_test_mae"] == 100.0


def test_the_full_figures_carry_every_model_and_name_what_training_logs():
    figures = evaluation_figures(COMPARISON)

    assert figures["challenger_test_mae"] == 60.1235 and figures["baseline_test_median_ae"] == 50.0
    assert figures["champion_test_log_r2"] == 0.55 and figures["challenger_test_mae_under_1000"] == 48.0988
    assert figures["challenger_test_mae_room_type_private_room"] == 42.0864
    assert "champion_test_mae_1000_and_above" not in figures
    assert figures["baseline_test_mae_1000_and_above"] == 900.0


def test_the_table_shows_each_figure_of_each_model_side_by_side():
    table = evaluation_table(COMPARISON).splitlines()

    assert table[0] == "| figure | challenger | champion | baseline |"
    assert "| MAE | 60.12 | 62.00 | 100.00 |" in table
    assert "| R2 of log1p | 0.600 | 0.550 | 0.200 |" in table
    assert "| MAE at or above $1,000 (20 rows) | 500.00 | - | 900.00 |" in table
    assert "| MAE Entire home/apt (300 rows) | 66.14 | 68.20 | 110.00 |" in table
    assert len(table) == 2 + 7 + 2


def test_tags_say_what_the_challenger_was_compared_with():
    tags = decision_tags(context(None), COMPARISON)

    assert tags["compared_with_champion_version"] == "none"
    assert tags["compared_on_training_set_version"] == "7" and tags["compared_on_rows"] == "500"
    assert tags["challenger_test_mae"] == "60.1235" and tags["tolerance"] == "0.02"


@pytest.mark.parametrize(
    ("promote", "champion_before", "champion_after"),
    [(True, "1", 2), (False, "1", 1), (True, None, 2), (False, None, None)],
)
def test_the_result_names_the_champion_before_and_after(promote, champion_before, champion_after):
    result = promotion_result(PromotionDecision(promote, "because"), context(champion_before), COMPARISON)
    metadata = {name: value.value for name, value in result.metadata.items()}

    assert result.passed is promote and result.description == "because"
    assert metadata["decision"] == ("promoted" if promote else "rejected")
    assert metadata["champion_version_before"] == (int(champion_before) if champion_before else None)
    assert metadata["champion_version_after"] == champion_after
    assert metadata["unscored_test_rows"] == {CHALLENGER: 3, CHAMPION: 1}
    assert metadata["compared_on_rows"] == 500
    assert metadata["metrics"] == evaluation_figures(COMPARISON)
    assert metadata["evaluation"] == evaluation_table(COMPARISON)


def test_without_a_challenger_the_check_fails_saying_what_to_run():
    result = no_challenger_result("test_airbnb_price")

    assert not result.passed and "materialize price_model first" in result.description


@pytest.fixture
def registry(tmp_path) -> MlflowClient:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model("m")
    for _ in range(2):
        version = client.create_model_version("m", source=(tmp_path / "model").as_uri())
        client.set_registered_model_alias("m", CHALLENGER, version.version)
    client.set_registered_model_alias("m", CHAMPION, "1")
    return client


def test_a_promoted_challenger_loses_the_challenger_alias(registry):
    record_decision(registry, "m", "2", PromotionDecision(True, "better"), tags={"k": "v"})

    assert aliased_versions(registry, "m") == {CHAMPION: "2"}
    assert registry.get_model_version("m", "2").tags["promotion_decision"] == "promoted"


def test_a_rejected_challenger_keeps_its_alias_and_the_champion_stays(registry):
    record_decision(registry, "m", "2", PromotionDecision(False, "worse"), tags={})

    assert aliased_versions(registry, "m") == {CHAMPION: "1", CHALLENGER: "2"}
    assert registry.get_model_version("m", "2").tags["promotion_reason"] == "worse"


def test_the_learner_of_a_version_comes_from_its_tags_and_older_versions_say_they_are_untagged():
    tagged = learner_of(
        {"learner": "xgboost", "learner_params": '{"max_depth": 6, "objective": "reg:quantileerror"}'}
    )

    assert tagged == {"learner": "xgboost", "params": {"max_depth": 6, "objective": "reg:quantileerror"}}
    assert learner_of({"training_set_version": "3"}) == {"learner": "random_forest (untagged)", "params": {}}
