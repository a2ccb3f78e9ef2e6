"""Training the price model: the training-set snapshot and its split, hyperopt tuning with one
nested MLflow run per evaluation, the final fit, metrics on the price scale, and what the
parent MLflow run records (parameters, metrics, plots, the model with signature and example).

Everything here logs into the *active* MLflow run, which in a Dagster run is the one
dagster-mlflow started; nothing here chooses a tracking URI or an experiment.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyspark
from pyspark.ml import PipelineModel
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from mlvp_assets.delta_tables import single_row
from mlvp_assets.ml.evaluation import (
    Evaluation,
    Metrics,
    constant_prediction_metrics,
    evaluate,
    median_price,
    regression_metrics,
)
from mlvp_assets.ml.features import (
    FEATURE_COLUMNS,
    GBT_MIN_INSTANCES_PER_NODE,
    LABEL,
    PREDICTION,
    TARGET,
    XGBOOST_OBJECTIVES,
    ForestParams,
    GBTParams,
    LearnerFamily,
    LearnerParams,
    TargetTransform,
    XGBoostParams,
    build_price_pipeline,
    feature_importances,
    fitted_rounds,
    label_column,
    largest_category_count,
    unscorable_condition,
)
from mlvp_assets.ml.spark_model import log_spark_model
from mlvp_assets.schema import LISTING_ID, PARTITION_COLUMN

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from mlflow.models import ModelSignature
    from mlflow.models.model import ModelInfo

# hyperopt, MLflow and matplotlib (about 4 s of imports) are imported by the functions that use
# them: the training config's defaults live here, and building the definitions reads them.

SPLIT_COLUMN = "split"
TRAIN, VALIDATION, TEST = "train", "validation", "test"
TRAINING_SET_COLUMNS: tuple[str, ...] = (LISTING_ID, PARTITION_COLUMN, *FEATURE_COLUMNS, TARGET, SPLIT_COLUMN)
MODEL_ARTIFACT_PATH = "model"
# The table of (feature, importance) every training run logs; the data-drift report reads it.
FEATURE_IMPORTANCE_ARTIFACT = "feature_importance.csv"
LEARNER = "learner"  # the MLflow parameter (and model-version tag) naming the chosen family
LEARNER_PARAMS = "learner_params"  # the model-version tag with its parameters (JSON)
EARLY_STOPPING_COLUMN = "_early_stopping"
_EARLY_STOPPING_SALT = 7919
# Buckets of the split hash: fine enough that fractions are exact to 0.01 %.
_SPLIT_BUCKETS = 10_000


# --- the training set ---------------------------------------------------------------------


def latest_listings(gold: DataFrame) -> DataFrame:
    """One row per listing, from the latest landing day it appears on.

    A listing appears on many daily partitions with near-identical rows; keeping them all would
    weight listings by how often they were scraped and, split by row, put copies of one listing
    on both sides of the train/test line.
    """
    latest_first = Window.partitionBy(LISTING_ID).orderBy(F.col(PARTITION_COLUMN).desc())
    return (
        gold.withColumn("_rank", F.row_number().over(latest_first)).where(F.col("_rank") == 1).drop("_rank")
    )


def split_bucket(seed: int) -> Column:
    """A listing's place in [0, 1), fixed by its id and the seed: a listing keeps its split as
    gold grows, so a later model is never tested on listings an earlier one trained on."""
    return F.pmod(F.xxhash64(F.col(LISTING_ID), F.lit(seed)), F.lit(_SPLIT_BUCKETS)) / F.lit(
        float(_SPLIT_BUCKETS)
    )


def assign_splits(
    listings: DataFrame, seed: int, test_fraction: float, validation_fraction: float
) -> DataFrame:
    """Add ``split``: ``test_fraction`` of the listings go to test; of the rest,
    ``validation_fraction`` go to validation (for tuning) and the others to train."""
    for name, value in (("test_fraction", test_fraction), ("validation_fraction", validation_fraction)):
        if not 0 < value < 1:
            raise ValueError(f"{name} must be between 0 and 1 (exclusive), got {value}")
    bucket = split_bucket(seed)
    validation_end = test_fraction + (1 - test_fraction) * validation_fraction
    return listings.withColumn(
        SPLIT_COLUMN,
        F.when(bucket < test_fraction, F.lit(TEST))
        .when(bucket < validation_end, F.lit(VALIDATION))
        .otherwise(F.lit(TRAIN)),
    )


def build_training_set(
    gold: DataFrame,
    seed: int,
    test_fraction: float = 0.2,
    validation_fraction: float = 0.2,
    start_date: dt.date | None = None,
    end_date: dt.date | None = None,
) -> DataFrame:
    """The training snapshot of gold: latest row per listing within the optional date window
    (inclusive), the model's columns, and the split."""
    if start_date is not None:
        gold = gold.where(F.col(PARTITION_COLUMN) >= F.lit(start_date))
    if end_date is not None:
        gold = gold.where(F.col(PARTITION_COLUMN) <= F.lit(end_date))
    listings = latest_listings(gold).select(
        *[column for column in TRAINING_SET_COLUMNS if column != SPLIT_COLUMN]
    )
    return assign_splits(listings, seed, test_fraction, validation_fraction)


def split_frames(training_set: DataFrame) -> tuple[DataFrame, DataFrame, DataFrame]:
    """(train, validation, test) rows of a training set."""
    train, validation, test = (
        training_set.where(F.col(SPLIT_COLUMN) == split) for split in (TRAIN, VALIDATION, TEST)
    )
    return train, validation, test


# --- tuning ---------------------------------------------------------------------------------


IntRange = tuple[int, int]
FloatRange = tuple[float, float]


def _checked(label: str, bounds: tuple[float, float]) -> tuple[float, float]:
    low, high = bounds
    if low > high:
        raise ValueError(f"{label}: lower bound {low} above upper bound {high}")
    return low, high


def _integer(label: str, bounds: IntRange) -> object:
    from hyperopt import hp

    low, high = _checked(label, bounds)
    return int(low) if low == high else hp.quniform(label, low, high, 1)


def _real(label: str, bounds: FloatRange, log: bool = False) -> object:
    """A float in ``bounds``; ``log``: drawn evenly on the log scale (rates, weights)."""
    from hyperopt import hp

    low, high = _checked(label, bounds)
    if low == high:
        return low
    return hp.loguniform(label, math.log(low), math.log(high)) if log else hp.uniform(label, low, high)


def _one_of(label: str, values: Sequence[str]) -> object:
    from hyperopt import hp

    if not values:
        raise ValueError(f"{label}: no value to choose from")
    return values[0] if len(values) == 1 else hp.choice(label, list(values))


@dataclasses.dataclass(frozen=True)
class ForestSpace:
    """Inclusive bounds of the random forest's search; equal bounds fix a parameter."""

    num_trees: IntRange = (10, 30)
    max_depth: IntRange = (3, 8)
    min_instances_per_node: IntRange = (1, 5)
    feature_subset_strategies: tuple[str, ...] = ("onethird", "sqrt", "0.5")
    max_bins: IntRange = (40, 64)

    def hyperopt_space(self, prefix: str) -> dict[str, object]:
        return {
            "num_trees": _integer(f"{prefix}.num_trees", self.num_trees),
            "max_depth": _integer(f"{prefix}.max_depth", self.max_depth),
            "min_instances_per_node": _integer(
                f"{prefix}.min_instances_per_node", self.min_instances_per_node
            ),
            "feature_subset_strategy": _one_of(
                f"{prefix}.feature_subset_strategy", self.feature_subset_strategies
            ),
            "max_bins": _integer(f"{prefix}.max_bins", self.max_bins),
        }

    def params_from(self, point: Mapping[str, Any]) -> ForestParams:
        return ForestParams(
            num_trees=int(point["num_trees"]),
            max_depth=int(point["max_depth"]),
            min_instances_per_node=int(point["min_instances_per_node"]),
            feature_subset_strategy=str(point["feature_subset_strategy"]),
            max_bins=int(point["max_bins"]),
        )


@dataclasses.dataclass(frozen=True)
class GBTSpace:
    """Spark's gradient-boosted trees: ``max_iter`` rounds at most (early stopping picks how
    many), the rest searched within inclusive bounds."""

    max_iter: int = 30
    max_depth: IntRange = (3, 5)
    step_size: FloatRange = (0.05, 0.3)
    min_instances_per_node: IntRange = (GBT_MIN_INSTANCES_PER_NODE, 20)
    subsampling_rate: FloatRange = (0.6, 1.0)
    loss_types: tuple[str, ...] = ("absolute", "squared")

    def hyperopt_space(self, prefix: str) -> dict[str, object]:
        return {
            "max_depth": _integer(f"{prefix}.max_depth", self.max_depth),
            "step_size": _real(f"{prefix}.step_size", self.step_size, log=True),
            "min_instances_per_node": _integer(
                f"{prefix}.min_instances_per_node", self.min_instances_per_node
            ),
            "subsampling_rate": _real(f"{prefix}.subsampling_rate", self.subsampling_rate),
            "loss_type": _one_of(f"{prefix}.loss_type", self.loss_types),
        }

    def params_from(self, point: Mapping[str, Any]) -> GBTParams:
        return GBTParams(
            max_iter=self.max_iter,
            max_depth=int(point["max_depth"]),
            step_size=float(point["step_size"]),
            min_instances_per_node=int(point["min_instances_per_node"]),
            subsampling_rate=float(point["subsampling_rate"]),
            loss_type=str(point["loss_type"]),
        )


@dataclasses.dataclass(frozen=True)
class XGBoostSpace:
    """XGBoost: ``n_estimators`` rounds at most (early stopping picks how many), the rest
    searched within inclusive bounds."""

    n_estimators: int = 150
    objectives: tuple[str, ...] = XGBOOST_OBJECTIVES
    max_depth: IntRange = (3, 8)
    learning_rate: FloatRange = (0.03, 0.2)
    min_child_weight: FloatRange = (1.0, 10.0)
    subsample: FloatRange = (0.6, 1.0)
    colsample_bytree: FloatRange = (0.5, 1.0)

    def hyperopt_space(self, prefix: str) -> dict[str, object]:
        return {
            "objective": _one_of(f"{prefix}.objective", self.objectives),
            "max_depth": _integer(f"{prefix}.max_depth", self.max_depth),
            "learning_rate": _real(f"{prefix}.learning_rate", self.learning_rate, log=True),
            "min_child_weight": _real(f"{prefix}.min_child_weight", self.min_child_weight, log=True),
            "subsample": _real(f"{prefix}.subsample", self.subsample),
            "colsample_bytree": _real(f"{prefix}.colsample_bytree", self.colsample_bytree),
        }

    def params_from(self, point: Mapping[str, Any]) -> XGBoostParams:
        return XGBoostParams(
            objective=str(point["objective"]),
            n_estimators=self.n_estimators,
            max_depth=int(point["max_depth"]),
            learning_rate=float(point["learning_rate"]),
            min_child_weight=float(point["min_child_weight"]),
            subsample=float(point["subsample"]),
            colsample_bytree=float(point["colsample_bytree"]),
        )


FAMILY = "family"


@dataclasses.dataclass(frozen=True)
class SearchSpace:
    """The conditional search: hyperopt first chooses a learner family among ``learners``, then
    that family's parameters within its own bounds."""

    learners: tuple[LearnerFamily, ...] = tuple(LearnerFamily)
    random_forest: ForestSpace = ForestSpace()
    gbt: GBTSpace = GBTSpace()
    xgboost: XGBoostSpace = XGBoostSpace()

    def family_space(self, family: LearnerFamily) -> ForestSpace | GBTSpace | XGBoostSpace:
        spaces: dict[LearnerFamily, ForestSpace | GBTSpace | XGBoostSpace] = {
            LearnerFamily.RANDOM_FOREST: self.random_forest,
            LearnerFamily.GBT: self.gbt,
            LearnerFamily.XGBOOST: self.xgboost,
        }
        return spaces[family]

    def hyperopt_space(self) -> object:
        from hyperopt import hp

        if not self.learners:
            raise ValueError("learners: no learner family to search")
        return hp.choice(
            "learner",
            [
                {FAMILY: family.value, **self.family_space(family).hyperopt_space(prefix=family.value)}
                for family in self.learners
            ],
        )

    def params_from(self, point: Mapping[str, Any]) -> LearnerParams:
        """The parameters of a point hyperopt drew (it draws integers as floats)."""
        return self.family_space(LearnerFamily(point[FAMILY])).params_from(point)

    def as_params(self) -> dict[str, str]:
        return {
            "space_learners": ",".join(self.learners),
            **{
                f"space_{family.value}_{field.name}": str(getattr(self.family_space(family), field.name))
                for family in self.learners
                for field in dataclasses.fields(self.family_space(family))
            },
        }


@dataclasses.dataclass(frozen=True)
class TrainingSettings:
    """What a training run may choose: the search, its budget, the seed and the target."""

    space: SearchSpace = SearchSpace()
    max_evals: int = 3
    seed: int = 42
    target_transform: TargetTransform = TargetTransform.LOG1P
    # Cap training prices at this quantile of the training rows (None: no cap). Evaluation
    # always uses every test row at its real price.
    price_cap_quantile: float | None = None
    # The share of the training rows a learner that stops early holds back to watch; never the
    # validation rows, which choose among the trials.
    early_stopping_fraction: float = 0.15

    def as_params(self) -> dict[str, str]:
        return {
            "max_evals": str(self.max_evals),
            "seed": str(self.seed),
            "target_transform": self.target_transform.value,
            "price_cap_quantile": str(self.price_cap_quantile),
            "early_stopping_fraction": str(self.early_stopping_fraction),
            **self.space.as_params(),
        }


@dataclasses.dataclass(frozen=True)
class TrialResult:
    number: int
    params: LearnerParams  # with the rounds early stopping kept, for the learners that stop early
    train: Metrics
    validation: Metrics
    run_id: str


def price_cap_for(rows: DataFrame, quantile: float | None) -> float | None:
    if quantile is None:
        return None
    return float(single_row(rows.agg(F.percentile(TARGET, quantile)))[0])


def fit_price_model(
    rows: DataFrame,
    params: LearnerParams,
    settings: TrainingSettings,
    price_cap: float | None = None,
    early_stopping: bool = False,
) -> PipelineModel:
    """Fit the pipeline on ``rows``; Spark's trees need ``max_bins`` to cover their categories
    (see :meth:`ForestParams.with_max_bins_at_least`). ``early_stopping`` (for a learner that
    has it): hold back :func:`early_stopping_slice` of ``rows`` to decide when to stop."""
    labelled = rows.withColumn(LABEL, label_column(settings.target_transform, price_cap))
    column = None
    if early_stopping and params.early_stopping:
        column = EARLY_STOPPING_COLUMN
        labelled = labelled.withColumn(
            column, early_stopping_slice(settings.seed, settings.early_stopping_fraction)
        )
    return build_price_pipeline(params, settings.target_transform, settings.seed, column).fit(labelled)


def early_stopping_slice(seed: int, fraction: float) -> Column:
    """True for about ``fraction`` of the rows, by listing id: the rows a boosted learner
    watches to stop. Salted apart from the split's hash, which put every one of these rows in
    train in the first place."""
    if not 0 < fraction < 1:
        raise ValueError(f"early_stopping_fraction must be between 0 and 1 (exclusive), got {fraction}")
    return split_bucket(seed + _EARLY_STOPPING_SALT) < F.lit(fraction)


def tune_price_model(
    train: DataFrame, validation: DataFrame, settings: TrainingSettings
) -> list[TrialResult]:
    """hyperopt TPE over the search space, minimising validation MAE; each evaluation is a
    nested MLflow run under the active run with its parameters and train/validation metrics.

    ``Trials``, not ``SparkTrials``: every evaluation fits a Spark ML pipeline from the driver,
    which ``SparkTrials`` (a Python function shipped to executors) cannot do.
    """
    import hyperopt
    import mlflow

    if settings.max_evals < 1:
        raise ValueError(f"max_evals must be at least 1, got {settings.max_evals}")
    price_cap = price_cap_for(train, settings.price_cap_quantile)
    categories = largest_category_count(train)
    results: list[TrialResult] = []

    def objective(point: dict[str, Any]) -> dict[str, object]:
        params = settings.space.params_from(point).with_max_bins_at_least(categories)
        number = len(results) + 1
        with mlflow.start_run(run_name=f"trial-{number:02d}", nested=True) as run:
            model = fit_price_model(train, params, settings, price_cap, early_stopping=True)
            rounds = fitted_rounds(model)
            if rounds is not None:
                params = params.with_rounds(rounds)
            train_metrics = regression_metrics(model.transform(train))
            validation_metrics = regression_metrics(model.transform(validation))
            mlflow.log_params({LEARNER: params.family.value, **params.spark_params(), "trial": number})
            mlflow.log_metrics(
                {**train_metrics.prefixed("train"), **validation_metrics.prefixed("validation")}
            )
        results.append(TrialResult(number, params, train_metrics, validation_metrics, run.info.run_id))
        return {"loss": validation_metrics.mae, "status": hyperopt.STATUS_OK}

    # TPE draws at random until it has n_startup_jobs results (20 by default); scale that down
    # so that a small budget still gets some model-guided draws.
    algorithm = functools.partial(
        hyperopt.tpe.suggest, n_startup_jobs=min(20, max(2, settings.max_evals // 3))
    )
    hyperopt.fmin(
        objective,
        settings.space.hyperopt_space(),
        algo=algorithm,
        max_evals=settings.max_evals,
        trials=hyperopt.Trials(),
        rstate=np.random.default_rng(settings.seed),
        show_progressbar=False,
    )
    return results


def best_trial(trials: Sequence[TrialResult]) -> TrialResult:
    return min(trials, key=lambda trial: trial.validation.mae)


# --- the whole training -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TrainedPriceModel:
    """The final model (refit on train + validation with the best parameters) and its record."""

    model: PipelineModel
    # The best trial's, with the rounds it kept; maxBins raised if train + validation has more categories.
    params: LearnerParams
    settings: TrainingSettings
    trials: list[TrialResult]
    best: TrialResult
    price_cap: float | None
    fit: Metrics  # on the rows it was fitted on (train + validation)
    test: Metrics  # on the test rows the model scores
    test_evaluation: Evaluation  # every figure on those rows: MAE by price band and room type, ...
    test_unscored_rows: int
    baseline_price: float  # the training median
    baseline_test: Metrics  # the median on every test row
    seconds: dict[str, float]


def train_price_model(training_set: DataFrame, settings: TrainingSettings) -> TrainedPriceModel:
    """Tune on train/validation, refit on both with the best parameters, evaluate on test."""
    train, validation, test = split_frames(training_set)
    started = time.perf_counter()
    trials = tune_price_model(train, validation, settings)
    tuned = time.perf_counter()
    best = best_trial(trials)
    fit_rows = train.unionByName(validation)
    price_cap = price_cap_for(fit_rows, settings.price_cap_quantile)
    params = best.params.with_max_bins_at_least(largest_category_count(fit_rows))
    model = fit_price_model(fit_rows, params, settings, price_cap)
    fitted = time.perf_counter()
    baseline_price = median_price(fit_rows)
    test_evaluation = evaluate(model.transform(test))
    return TrainedPriceModel(
        model=model,
        params=params,
        settings=settings,
        trials=trials,
        best=best,
        price_cap=price_cap,
        fit=regression_metrics(model.transform(fit_rows)),
        test=test_evaluation.metrics,
        test_evaluation=test_evaluation,
        test_unscored_rows=test.where(unscorable_condition(model)).count(),
        baseline_price=baseline_price,
        baseline_test=constant_prediction_metrics(test, baseline_price),
        seconds={"tuning_seconds": tuned - started, "final_fit_seconds": fitted - tuned},
    )


# --- what the parent run records ------------------------------------------------------------


def feature_importance_table(model: PipelineModel) -> pd.DataFrame:
    return pd.DataFrame(feature_importances(model), columns=["feature", "importance"])


def feature_importance_figure(table: pd.DataFrame, learner: str) -> Figure:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 7))
    axes = figure.subplots()
    ordered = table.sort_values("importance")
    axes.barh(ordered["feature"], ordered["importance"])
    axes.set_xlabel("importance (share of the total)")
    axes.set_title(f"Feature importance ({learner})")
    figure.tight_layout()
    return figure


def predicted_vs_actual_figure(predictions: pd.DataFrame) -> Figure:
    """Log-log scatter of test predictions against prices, with the line of perfect prediction."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter, StrMethodFormatter

    figure = Figure(figsize=(6, 6))
    axes = figure.subplots()
    axes.scatter(predictions[TARGET], predictions[PREDICTION], s=6, alpha=0.4)
    low = max(1.0, float(min(predictions[TARGET].min(), predictions[PREDICTION].min())))
    high = float(max(predictions[TARGET].max(), predictions[PREDICTION].max()))
    axes.plot([low, high], [low, high], color="black", linewidth=1)
    axes.set_xscale("log")
    axes.set_yscale("log")
    for axis in (axes.xaxis, axes.yaxis):
        axis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        axis.set_minor_formatter(NullFormatter())
    axes.set_xlabel("actual price ($)")
    axes.set_ylabel("predicted price ($)")
    axes.set_title("Test split: predicted vs actual")
    figure.tight_layout()
    return figure


def scored_rows(model: PipelineModel, rows: DataFrame) -> pd.DataFrame:
    return model.transform(rows).select(LISTING_ID, TARGET, PREDICTION).orderBy(LISTING_ID).toPandas()


def model_signature(model: PipelineModel, example_rows: DataFrame) -> tuple[pd.DataFrame, ModelSignature]:
    """An input example (the feature columns only) and the signature: features in, price out."""
    from mlflow.models import infer_signature

    example = example_rows.select(*FEATURE_COLUMNS)
    predictions = model.transform(example).select(PREDICTION).toPandas()[PREDICTION]
    example_pandas = example.toPandas()
    # MLflow documents a pandas Series as a model output; infer_signature's annotation leaves it out.
    signature = infer_signature(example_pandas, predictions)  # type: ignore[arg-type]  # Series: documented
    return example_pandas, signature


def model_pip_requirements() -> list[str]:
    """Given explicitly: otherwise MLflow infers them by loading the model in a subprocess,
    which for a Spark model starts a second JVM and takes many seconds."""
    import mlflow

    return [f"mlflow=={mlflow.__version__}", f"pyspark=={pyspark.__version__}"]


def log_trained_model(
    trained: TrainedPriceModel,
    training_set: DataFrame,
    params: dict[str, object] | None = None,
    tags: dict[str, str] | None = None,
) -> ModelInfo:
    """Record the training in the active run: parameters, metrics, tables, plots and the model."""
    import mlflow

    train, _, test = split_frames(training_set)
    mlflow.set_tags(tags or {})
    mlflow.log_params(
        {
            **trained.settings.as_params(),
            LEARNER: trained.params.family.value,
            **{f"best_{name}": value for name, value in trained.params.spark_params().items()},
            "best_trial": trained.best.number,
            "price_cap": trained.price_cap,
            "baseline_price": trained.baseline_price,
            **(params or {}),
        }
    )
    mlflow.log_metrics(
        {
            **trained.test_evaluation.figures("test"),
            **trained.fit.prefixed("fit"),
            **trained.best.validation.prefixed("best_validation"),
            **trained.best.train.prefixed("best_train"),
            **trained.baseline_test.prefixed("baseline_test"),
            "test_rows": trained.test.rows,
            "test_unscored_rows": trained.test_unscored_rows,
            **trained.seconds,
        }
    )
    importance = feature_importance_table(trained.model)
    mlflow.log_text(importance.to_csv(index=False), FEATURE_IMPORTANCE_ARTIFACT)
    mlflow.log_figure(
        feature_importance_figure(importance, trained.params.family.value), "feature_importance.png"
    )
    predictions = scored_rows(trained.model, test)
    mlflow.log_text(predictions.to_csv(index=False), "test_predictions.csv")
    mlflow.log_figure(predicted_vs_actual_figure(predictions), "predicted_vs_actual.png")
    mlflow.log_text(trials_table(trained.trials).to_csv(index=False), "trials.csv")

    example, signature = model_signature(trained.model, train.limit(5))
    started = time.perf_counter()
    info = log_spark_model(
        trained.model,
        artifact_path=MODEL_ARTIFACT_PATH,
        signature=signature,
        input_example=example,
        pip_requirements=model_pip_requirements(),
    )
    mlflow.log_metric("model_logging_seconds", time.perf_counter() - started)
    return info


def trials_table(trials: Sequence[TrialResult]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "trial": trial.number,
                "run_id": trial.run_id,
                LEARNER: trial.params.family.value,
                **trial.params.spark_params(),
                **trial.train.prefixed("train"),
                **trial.validation.prefixed("validation"),
            }
            for trial in trials
        ]
    )
