"""``bench/model_quality.py``'s reference learner on small synthetic listings where the answer is
known: it learns a clear price relation through a numeric and a categorical feature, stops early
when the validation rows stop improving, and prices listings with a category it never saw.
No Spark: the reference is a plain function of pandas frames.
"""

from __future__ import annotations

import importlib.util
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from mlvp_assets.ml.features import CATEGORICAL_FEATURES, NUMERIC_FEATURES, TARGET
from mlvp_assets_tests.bench_tests.scripts import load_bench_script

ROOM_FACTORS = {"Entire home/apt": 1.0, "Private room": 0.5, "Shared room": 0.25}


@pytest.fixture(scope="module")
def model_quality() -> ModuleType:
    """The script as a module (bench/ is not a package); it needs the bench extra. Not
    ``importorskip``: the script must be the first to import LightGBM (it sets OpenMP's wait
    policy for it, without which two threads on busy shared cores are many times slower)."""
    if importlib.util.find_spec("lightgbm") is None:
        pytest.skip("LightGBM is the bench extra, which make install installs")
    return load_bench_script("model_quality")


def listings(
    rng: np.random.Generator, rows: int, neighbourhoods: tuple[str, ...] = ("a", "b")
) -> pd.DataFrame:
    """Listings whose price is 40 dollars per guest times a room-type factor, within about 5 %;
    every other feature is noise."""
    frame = pd.DataFrame({column: rng.choice(["x", "y"], rows) for column in CATEGORICAL_FEATURES})
    frame["neighbourhood_cleansed"] = rng.choice(list(neighbourhoods), rows)
    frame["room_type"] = rng.choice(list(ROOM_FACTORS), rows)
    for column in NUMERIC_FEATURES:
        frame[column] = rng.uniform(0, 10, rows)
    frame["accommodates"] = rng.integers(1, 9, rows).astype(float)
    factor = frame["room_type"].map(ROOM_FACTORS).to_numpy()
    frame[TARGET] = 40 * frame["accommodates"].to_numpy() * factor * np.exp(rng.normal(0, 0.05, rows))
    return frame


def test_reference_recovers_a_clear_price_relation(model_quality):
    rng = np.random.default_rng(1)
    train, validation, test = listings(rng, 2000), listings(rng, 500), listings(rng, 500)

    fit = model_quality.reference_predictions(train, validation, test)

    assert fit.prices.index.equals(test.index)
    relative_error = (fit.prices - test[TARGET]).abs() / test[TARGET]
    assert relative_error.median() < 0.06
    median_mae = (test[TARGET] - train[TARGET].median()).abs().mean()
    assert (fit.prices - test[TARGET]).abs().mean() < 0.1 * median_mae


def test_reference_stops_early_when_validation_stops_improving(model_quality):
    """Prices unrelated to the features: the first rounds are the best the validation rows see,
    so training ends the early-stopping patience after them, far below the round limit."""
    rng = np.random.default_rng(2)
    train, validation, test = listings(rng, 1000), listings(rng, 300), listings(rng, 50)
    for frame in (train, validation):
        frame[TARGET] = np.exp(rng.normal(5, 0.5, len(frame)))

    fit = model_quality.reference_predictions(train, validation, test)

    assert fit.rounds_run == fit.best_rounds + model_quality.REFERENCE_EARLY_STOPPING_ROUNDS
    assert fit.rounds_run < model_quality.REFERENCE_MAX_ROUNDS / 4


def test_reference_prices_an_unseen_category_and_is_deterministic(model_quality):
    rng = np.random.default_rng(3)
    train, validation = listings(rng, 1000), listings(rng, 300)
    test = listings(rng, 100, neighbourhoods=("a", "b", "new"))

    first = model_quality.reference_predictions(train, validation, test)
    second = model_quality.reference_predictions(train, validation, test)

    unseen = test["neighbourhood_cleansed"] == "new"
    assert unseen.any()
    assert np.isfinite(first.prices[unseen]).all() and (first.prices[unseen] > 0).all()
    pd.testing.assert_series_equal(first.prices, second.prices)
