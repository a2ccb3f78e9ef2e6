"""The run configuration of ``training_job`` per environment. Plain data, importable without
Spark or MLflow, so the training schedule and the drift sensor can carry it."""

from __future__ import annotations

from mlvp_assets.names import PRICE_MODEL

# Prod tunes with a real budget over every family the session supports; dev and test keep the
# small defaults of PriceModelConfig. Bounds from trials on validation splits of the real
# listings (bench/model_quality.py): XGBoost with a median-type objective on log1p(price) leads
# (about 4 % below the forest's MAE); a forest gains little beyond 100 trees and depth 16 and
# costs most of the time; Spark's GBT stops early within a few dozen rounds. Engineered features
# (distance and bearing from Union Square, rotated coordinates, room ratios, a no-reviews flag,
# target-encoded grid cells), a raw-price target and capped training prices did not lower
# validation MAE by more than noise, so the model keeps the listing columns.
PROD_PRICE_MODEL_CONFIG: dict[str, object] = {
    "max_evals": 16,
    "num_trees_min": 40,
    "num_trees_max": 100,
    "max_depth_min": 10,
    "max_depth_max": 16,
    "min_instances_per_node_min": 1,
    "min_instances_per_node_max": 4,
    "feature_subset_strategies": ["onethird", "sqrt", "0.5"],
    "max_bins_min": 40,
    "max_bins_max": 128,
    "gbt_max_iter": 80,
    "gbt_max_depth_min": 3,
    "gbt_max_depth_max": 6,
    "xgboost_n_estimators": 800,
    "xgboost_max_depth_min": 4,
    "xgboost_max_depth_max": 8,
    "xgboost_learning_rate_min": 0.02,
    "xgboost_learning_rate_max": 0.1,
}


def training_run_config(env: str) -> dict[str, object]:
    """Prod's search budget for ``price_model``; dev and test run with its defaults."""
    if env == "prod":
        return {"ops": {PRICE_MODEL: {"config": PROD_PRICE_MODEL_CONFIG}}}
    return {}
