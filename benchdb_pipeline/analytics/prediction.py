"""Performance prediction for configurations nobody has measured.

One scikit-learn pipeline per metric: categorical features one-hot encoded, numeric ones as
they are (gradient boosting handles missing values), the target on a log scale; a median model
and two quantile models (10 % and 90 %) give each prediction an 80 % interval. It is judged by
grouped cross-validation (a configuration is never in both training and test folds) against a
naive baseline: the same model on the same hardware at the nearest measured batch size, scaled
by batch size. The report says plainly when the model does not beat that baseline.

Training data: the median of every measured configuration (simulated runs excluded unless
asked for), from the warehouse's own tables.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import duckdb
import numpy as np
import pandas as pd

from benchdb_pipeline import __version__
from benchdb_pipeline.analytics.features import Features, features_of
from benchdb_pipeline.analytics.steps import Step, silent
from benchdb_pipeline.errors import QueryError
from benchdb_pipeline.reports.filters import METRICS

CONFIGURATION = [
    "model_name",
    "hardware_type",
    "device_name",
    "batch_size",
    "sequence_length",
    "precision",
    "test_case",
]
QUANTILES = (0.1, 0.9)


def training_frame(
    con: duckdb.DuckDBPyConnection, metric: str, include_simulated: bool = False
) -> pd.DataFrame:
    """One row per measured configuration: its features and the median of the metric."""
    column = METRICS[metric].column
    return con.execute(
        f"""
        SELECT m.model_name, m.model_family, m.modality, m.parameters_million,
               h.hardware_type, coalesce(h.device_name, '') AS device_name, h.memory_gb,
               p.batch_size, p.sequence_length, coalesce(p.precision, '') AS precision,
               coalesce(p.test_case, '') AS test_case, median(p.{column}) AS target,
               count(*) AS results
        FROM performance_results p JOIN models m USING (model_id)
        JOIN hardware_platforms h USING (hardware_id) JOIN test_runs r USING (run_id)
        WHERE p.{column} > 0 AND (? OR NOT r.is_simulated)
        GROUP BY ALL""",
        [include_simulated],
    ).df()


P = ParamSpec("P")
R = TypeVar("R")


def _one_thread(function: Callable[P, R]) -> Callable[P, R]:
    """Gradient boosting without its OpenMP threads: on a few hundred configurations they
    save nothing, and beside other busy processes (Dagster steps, CI) their spin-waits made
    an evaluation 4-10x slower (8 s in one thread; 45 s in two beside two busy cores)."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="openmp"):
            return function(*args, **kwargs)

    return wrapper


def _pipeline(features: Features, loss: str = "squared_error", quantile: float | None = None):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    features = ColumnTransformer(
        [
            (
                "categories",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False, min_frequency=1),
                list(features.categorical),
            ),
            ("numbers", "passthrough", list(features.numeric)),
        ]
    )
    options = {"loss": loss, "max_iter": 300, "learning_rate": 0.08, "min_samples_leaf": 5, "random_state": 0}
    if quantile is not None:
        options["quantile"] = quantile
    return Pipeline([("features", features), ("model", HistGradientBoostingRegressor(**options))])


def _log_features(frame: pd.DataFrame, features: Features) -> pd.DataFrame:
    columns = frame[features.columns].copy()
    for name in features.numeric:
        columns[name] = np.log2(columns[name].astype(float))
    for name in features.categorical:
        columns[name] = columns[name].fillna("").astype(str)
    return columns


def naive_baseline(train: pd.DataFrame, test: pd.DataFrame, metric: str) -> np.ndarray:
    """Same model and hardware at the nearest measured batch size, scaled by batch size
    (latency grows with the batch, throughput and memory are carried over); the training
    median where that model never ran on that hardware."""
    fallback = float(train["target"].median())
    known = train.dropna(subset=["batch_size"]).groupby(["model_name", "hardware_type", "device_name"])
    groups = {key: group for key, group in known}
    predictions = []
    row: Any  # a row of the frame, one attribute per column
    for row in test.itertuples():
        group = groups.get((row.model_name, row.hardware_type, row.device_name))
        if group is None or pd.isna(row.batch_size):
            predictions.append(fallback)
            continue
        nearest = group.iloc[(np.log2(group["batch_size"]) - np.log2(row.batch_size)).abs().argmin()]
        scale = row.batch_size / nearest["batch_size"] if metric == "latency" else 1.0
        predictions.append(float(nearest["target"]) * scale)
    return np.asarray(predictions)


@dataclass
class Evaluation:
    metric: str
    configurations: int
    folds: int
    mape: float
    r2: float
    naive_mape: float
    naive_r2: float
    importance: dict[str, float] = field(default_factory=dict)

    @property
    def beats_baseline(self) -> bool:
        return self.mape < self.naive_mape

    def summary(self) -> str:
        verdict = (
            "beats the naive baseline"
            if self.beats_baseline
            else "does NOT beat the naive baseline: prefer measured neighbours"
        )
        return (
            f"{self.metric}: {self.configurations} configurations, {self.folds}-fold grouped "
            f"cross-validation: MAPE {self.mape:.1f} % (naive {self.naive_mape:.1f} %), "
            f"R² {self.r2:.3f} (naive {self.naive_r2:.3f}); the model {verdict}."
        )


@_one_thread
def evaluate(
    frame: pd.DataFrame,
    metric: str,
    folds: int = 5,
    features: Sequence[str] | None = None,
    step: Step = silent,
) -> Evaluation:
    """Grouped cross-validation against the naive baseline, and permutation importance;
    ``step`` hears of each fold as it starts (long on a big warehouse)."""
    from sklearn.inspection import permutation_importance
    from sklearn.metrics import mean_absolute_percentage_error, r2_score
    from sklearn.model_selection import GroupKFold

    if len(frame) < 2 * folds:
        raise QueryError(f"{len(frame)} measured configurations are too few to evaluate a model")
    groups = pd.util.hash_pandas_object(frame[CONFIGURATION], index=False)
    used = features_of(frame, features)
    truth, predicted, naive = [], [], []
    importance = pd.Series(0.0, index=used.columns)
    splits = GroupKFold(n_splits=folds).split(frame, groups=groups)
    for fold, (train_index, test_index) in enumerate(splits, start=1):
        step(f"{metric}: cross-validation fold {fold} of {folds} ({len(frame)} configurations)")
        train, test = frame.iloc[train_index], frame.iloc[test_index]
        model = _pipeline(used).fit(_log_features(train, used), np.log(train["target"]))
        truth.append(test["target"].to_numpy())
        predicted.append(np.exp(model.predict(_log_features(test, used))))
        naive.append(naive_baseline(train, test, metric))
        scores = permutation_importance(
            model, _log_features(test, used), np.log(test["target"]), n_repeats=3, random_state=0
        )
        importance += pd.Series(scores.importances_mean, index=used.columns) / folds
    y, p, n = np.concatenate(truth), np.concatenate(predicted), np.concatenate(naive)
    return Evaluation(
        metric=metric,
        configurations=len(frame),
        folds=folds,
        mape=100 * mean_absolute_percentage_error(y, p),
        r2=r2_score(np.log(y), np.log(p)),
        naive_mape=100 * mean_absolute_percentage_error(y, n),
        naive_r2=r2_score(np.log(y), np.log(n)),
        importance={str(k): v for k, v in importance.sort_values(ascending=False).round(4).items()},
    )


@dataclass
class PerformanceModel:
    """Fitted models for one metric, with what they were trained on."""

    metric: str
    median: Any  # fitted scikit-learn pipelines: the median and the interval's quantiles
    low: Any
    high: Any
    training: pd.DataFrame
    data_hash: str
    features: Features
    version: str = __version__

    def predict(self, queries: pd.DataFrame) -> pd.DataFrame:
        features = _log_features(queries, self.features)
        out = queries.copy()
        out["predicted"] = np.exp(self.median.predict(features))
        low, high = np.exp(self.low.predict(features)), np.exp(self.high.predict(features))
        out["interval_low"] = np.minimum(low, out["predicted"])
        out["interval_high"] = np.maximum(high, out["predicted"])
        return out

    def predict_with_neighbours(self, queries: pd.DataFrame, k: int = 3) -> pd.DataFrame:
        """Predictions with, for each, its nearest measured configurations as text."""
        out = self.predict(queries)
        out["nearest_measured"] = [
            "; ".join(
                f"{r.model_name} {r.hardware_type} batch {r.batch_size:g} {r.precision}: {r.target:.4g}"
                for r in self.neighbours(query, k).itertuples()
            )
            for _, query in queries.iterrows()
        ]
        return out

    def neighbours(self, query: pd.Series, k: int = 3) -> pd.DataFrame:
        """The measured configurations nearest to a query: same hardware type first, then
        closest batch size and model size."""
        t = self.training
        distance = (
            (t["hardware_type"] != query["hardware_type"]) * 4.0
            + (t["model_name"] != query["model_name"]) * 2.0
            + (t["precision"] != query["precision"]) * 1.0
            + (np.log2(t["batch_size"].astype(float)) - np.log2(float(query["batch_size"]))).abs().fillna(4)
        )
        columns = ["model_name", "hardware_type", "device_name", "batch_size", "precision", "target"]
        return t.assign(distance=distance).nsmallest(k, "distance")[columns]

    def save(self, path: str | Path) -> Path:
        import joblib

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(self, path)
        return path

    @staticmethod
    def load(path: str | Path) -> PerformanceModel:
        import joblib

        return joblib.load(path)


@_one_thread
def fit(frame: pd.DataFrame, metric: str, features: Sequence[str] | None = None) -> PerformanceModel:
    if len(frame) < 5:
        raise QueryError(f"{len(frame)} measured configurations are too few to fit a model")
    used = features_of(frame, features)
    columns, target = _log_features(frame, used), np.log(frame["target"])
    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()
    return PerformanceModel(
        metric=metric,
        median=_pipeline(used).fit(columns, target),
        low=_pipeline(used, "quantile", QUANTILES[0]).fit(columns, target),
        high=_pipeline(used, "quantile", QUANTILES[1]).fit(columns, target),
        training=frame.reset_index(drop=True),
        data_hash=digest,
        features=used,
    )


def measured(
    frame: pd.DataFrame, query: pd.Series, *, device: str | None = None, sequence_length: int | None = None
) -> pd.DataFrame:
    """The measured configurations a query names (its device and sequence length when given),
    each with the median of its results: a measurement answers better than a prediction."""
    same = (
        (frame["model_name"] == query["model_name"])
        & (frame["hardware_type"] == query["hardware_type"])
        & (frame["batch_size"] == query["batch_size"])
        & (frame["precision"] == query["precision"])
    )
    if device:
        same &= frame["device_name"] == device
    if sequence_length:
        same &= frame["sequence_length"] == sequence_length
    columns = [*CONFIGURATION, "results", "target"]
    return frame.loc[same, columns].sort_values("results", ascending=False).reset_index(drop=True)


def untested(frame: pd.DataFrame, limit: int = 500) -> pd.DataFrame:
    """Model × hardware × batch size × precision combinations with no measurement, built from
    the models, platforms, batch sizes and precisions the warehouse has seen."""
    models = frame.groupby("model_name")[["model_family", "modality", "parameters_million"]].first()
    platforms = frame.groupby(["hardware_type", "device_name"])[["memory_gb"]].first().reset_index()
    grid = (
        models.reset_index()
        .merge(platforms, how="cross")
        .merge(pd.DataFrame({"batch_size": sorted(frame["batch_size"].dropna().unique())}), how="cross")
        .merge(pd.DataFrame({"precision": sorted(frame["precision"].unique())}), how="cross")
    )
    grid["sequence_length"] = frame["sequence_length"].median()
    grid["test_case"] = ""
    measured = frame[
        ["model_name", "hardware_type", "device_name", "batch_size", "precision"]
    ].drop_duplicates()
    grid = grid.merge(measured, how="left", indicator=True)
    return grid[grid["_merge"] == "left_only"].drop(columns="_merge").head(limit).reset_index(drop=True)
