"""Performance prediction for configurations nobody has measured.

One scikit-learn pipeline per metric: categorical features one-hot encoded, numeric ones on a
log scale (gradient boosting handles missing values), the target on a log scale and per
item of the batch (latency over the batch size, which levels off as throughput does). Trees
do not extrapolate, so past the measured batch sizes of a configuration (same model, device,
precision, sequence length and test case) the prediction follows that configuration's own
batch curve: the geometric mean of the trees' flat edge and the power law through that
configuration's two measured points nearest the edge.

Intervals are conformal: the model is cross-validated on its own training data, grouped by
configuration and, separately, by model x device pair, and each held-out error is filed
under the kind of question it answered (``in range``, ``extrapolation``, ``unseen pair``).
An 80 % interval is the prediction times and divided by the 80th percentile of that kind's
errors (on the log scale), so it holds its prediction by construction and covers about 80 %
of truths of its kind. ``evaluate`` measures that coverage on folds the model never saw,
against two baselines: the same configuration at the nearest measured batch size, and a
power law through all of that configuration's batch sizes.

Training data: the median of every measured configuration (simulated runs excluded unless
asked for), from the warehouse's own tables, in a fixed order.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
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
# A configuration's batch curve: everything that fixes it but the batch size.
CURVE = ["model_name", "hardware_type", "device_name", "precision", "sequence_length", "test_case"]
PAIR = ["model_name", "hardware_type", "device_name"]
KINDS = ("in range", "extrapolation", "new configuration", "unseen pair")
COVERAGE = 0.8
# Calibration: in how many groups configurations are trimmed (batch sizes left out), left
# out whole, and model x device pairs left out whole.
BATCH_FOLDS, CONFIGURATION_FOLDS, PAIR_FOLDS = 5, 3, 14


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
        GROUP BY ALL ORDER BY ALL""",
        [include_simulated],
    ).df()


P = ParamSpec("P")
R = TypeVar("R")


def _one_thread(function: Callable[P, R]) -> Callable[P, R]:
    """Gradient boosting (OpenMP) and the baselines' fits (BLAS) in one thread: on a few
    hundred configurations more save nothing, and beside other busy processes (Dagster
    steps, CI) their spin-waits made an evaluation 4-10x slower (8 s in one thread; 45 s in
    two beside two busy cores)."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            return function(*args, **kwargs)

    return wrapper


def _encoder(features: Features):
    """Categories one-hot encoded (an unknown one: all zeros), numbers as they are."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    return ColumnTransformer(
        [
            (
                "categories",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False, min_frequency=1),
                list(features.categorical),
            ),
            ("numbers", "passthrough", list(features.numeric)),
        ]
    )


def _boosting():
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(
        max_iter=100, learning_rate=0.2, max_leaf_nodes=15, min_samples_leaf=5, random_state=0
    )


def _pipeline(features: Features):
    from sklearn.pipeline import Pipeline

    return Pipeline([("features", _encoder(features)), ("model", _boosting())])


def _log_features(frame: pd.DataFrame, features: Features) -> pd.DataFrame:
    columns = frame[features.columns].copy()
    for name in features.numeric:
        columns[name] = np.log2(columns[name].astype(float))
    for name in features.categorical:
        columns[name] = columns[name].fillna("").astype(str)
    return columns


def _per_item(frame: pd.DataFrame, metric: str) -> np.ndarray:
    """What the trees learn is the metric per item of the batch: latency over the batch size
    (no batch size: 1). Latency grows with the batch where throughput levels off, and trees
    stay flat past the largest batch they saw; per item, both metrics level off."""
    if metric != "latency":
        return np.ones(len(frame))
    return frame["batch_size"].astype(float).fillna(1.0).to_numpy()


def _label(frame: pd.DataFrame, metric: str) -> np.ndarray:
    """The trees' target: the log of the metric per item of the batch."""
    return np.log(frame["target"].to_numpy(float) / _per_item(frame, metric))


def _fit_median(train: pd.DataFrame, features: Features, metric: str):
    """The fitted pipeline. A numeric feature with no value in ``train`` is a constant there
    (0): it carries nothing, and the boosting's binning rejects a column with no values."""
    columns = _log_features(train, features)
    empty = [name for name in features.numeric if columns[name].isna().all()]
    columns[empty] = 0.0
    return _pipeline(features).fit(columns, _label(train, metric))


Curve = tuple[np.ndarray, np.ndarray]  # a configuration's batch sizes (ascending) and targets


def _curves(train: pd.DataFrame) -> dict[tuple, Curve]:
    """Each configuration's measured batch sizes, in order, with their targets."""
    batches, targets = train["batch_size"].astype(float).to_numpy(), train["target"].to_numpy(float)
    measured = np.flatnonzero(~np.isnan(batches))
    keys = _keys(train)
    rows: dict[tuple, list[int]] = {}
    for position in measured[np.argsort(batches[measured], kind="stable")]:
        rows.setdefault(keys[position], []).append(position)
    return {key: (batches[r], targets[r]) for key, r in rows.items()}


def _queries(curves: dict[tuple, Curve], test: pd.DataFrame) -> list[tuple[Curve | None, float]]:
    """Each query's configuration curve (of ``_curves(train)``) and batch size; no curve (None)
    when the configuration was never measured or the query has no batch size (NaN)."""
    return [
        (None, math.nan) if pd.isna(batch) else (curves.get(key), float(batch))
        for key, batch in zip(_keys(test), test["batch_size"], strict=True)
    ]


def nearest_batch(train: pd.DataFrame, test: pd.DataFrame, metric: str) -> np.ndarray:
    """Baseline: the same configuration (same precision) at the nearest measured batch size,
    scaled by batch size for latency; the training median where it was never measured."""
    out = np.full(len(test), float(train["target"].median()))
    for i, (curve, batch) in enumerate(_queries(_curves(train), test)):
        if curve is not None:
            near = int(np.abs(np.log2(curve[0]) - math.log2(batch)).argmin())
            out[i] = curve[1][near] * (batch / curve[0][near] if metric == "latency" else 1.0)
    return out


def power_law(train: pd.DataFrame, test: pd.DataFrame, metric: str) -> np.ndarray:
    """Baseline: a power law (a line on log-log axes) through all of the configuration's
    measured batch sizes; the nearest batch where it has fewer than two."""
    out = nearest_batch(train, test, metric)
    for i, (curve, batch) in enumerate(_queries(_curves(train), test)):
        if curve is not None and len(curve[0]) >= 2:
            slope, intercept = np.polyfit(np.log(curve[0]), np.log(curve[1]), 1)
            out[i] = math.exp(intercept + slope * math.log(batch))
    return out


def _keys(frame: pd.DataFrame) -> list[tuple]:
    """Each row's configuration, missing values as None (NaN equals nothing, not even NaN).
    Column by column in numpy: the calibration asks for it hundreds of times a fit."""
    columns = []
    for name in CURVE:
        values = frame[name].to_numpy(object, copy=True)
        values[frame[name].isna().to_numpy()] = None
        columns.append(values.tolist())
    return list(zip(*columns, strict=True))


def kinds(train: pd.DataFrame, queries: pd.DataFrame, curves: dict[tuple, Curve] | None = None) -> np.ndarray:
    """What each query asks of the training data: a model x device pair never measured, a
    configuration (precision, sequence length, test case) of a measured pair never measured,
    a batch size past its configuration's measured ones, or one inside them. ``curves``:
    ``_curves(train)``, when the caller has it."""
    pairs = set(train[PAIR].itertuples(index=False, name=None))
    out = []
    asked = _queries(_curves(train) if curves is None else curves, queries)
    for pair, (curve, batch) in zip(queries[PAIR].itertuples(index=False, name=None), asked, strict=True):
        if pair not in pairs:
            out.append("unseen pair")
        elif curve is None:
            out.append("new configuration")
        else:
            out.append("in range" if curve[0][0] <= batch <= curve[0][-1] else "extrapolation")
    return np.asarray(out)


def _predict(
    model: Any,
    features: Features,
    metric: str,
    train: pd.DataFrame,
    queries: pd.DataFrame,
    curves: dict[tuple, Curve] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The model's predictions, and how many doublings of batch size each lies past its
    configuration's measured ones (1 inside them): see ``_along_curves``."""
    trees = model.predict(_log_features(queries, features))
    return _along_curves(trees, metric, train, queries, curves)


def _along_curves(
    trees: np.ndarray,
    metric: str,
    train: pd.DataFrame,
    queries: pd.DataFrame,
    curves: dict[tuple, Curve] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The trees' answers (log of the metric per item) as predictions, and each one's reach
    past its configuration's measured batch sizes. Between two measured batch sizes, and past
    the edge, the prediction is the geometric mean of the trees' and the configuration's own
    batch curve: a power law through the two measured points around it, or nearest that edge
    (trees stay flat past the edge). That beat either alone and a power law through the
    whole curve (see benchmarks/prediction_bench.py)."""
    predicted = np.exp(trees) * _per_item(queries, metric)
    reach = np.ones(len(queries))
    for i, (curve, batch) in enumerate(_queries(_curves(train) if curves is None else curves, queries)):
        if curve is None:
            continue
        sizes, targets = curve
        if sizes[0] < batch < sizes[-1]:
            after = int(np.searchsorted(sizes, batch))
            if sizes[after] == batch:
                continue
            pair = slice(after - 1, after + 1)
        elif batch in (sizes[0], sizes[-1]):
            continue
        else:
            above = batch > sizes[-1]
            reach[i] = max(1.0, abs(math.log2(batch / sizes[-1 if above else 0])))
            if len(sizes) < 2:
                continue
            pair = slice(-2, None) if above else slice(0, 2)
        x, y = np.log(sizes[pair]), np.log(targets[pair])
        curve_value = math.exp(y[0] + (y[1] - y[0]) * (math.log(batch) - x[0]) / (x[1] - x[0]))
        predicted[i] = math.sqrt(curve_value * predicted[i])
    return predicted, reach


def _hold_outs(frame: pd.DataFrame) -> list[np.ndarray]:
    """The rows each calibration fit leaves out. Each hold-out looks like its kind of question
    and leaves the rest of the data as it is: a configuration's largest batch size and every
    fourth of its inner ones, a different fourth from one configuration to the next
    (extrapolation and in range), whole configurations (new configuration), whole model x
    device pairs (unseen pair), each in its number of groups (``*_FOLDS``): one fit per group.
    The fewer left out per fit, the closer the errors come to those of the model fitted on
    everything: in benchmarks/prediction_bench.py unseen pairs' intervals covered 96 % with a
    third of the pairs left out per fit, 86.5 % with a seventh, 83.6 % with a fourteenth and
    82.7 % with a twentieth (64 seeds, ± 3)."""
    from sklearn.model_selection import GroupKFold

    curve_ids = pd.util.hash_pandas_object(frame[CURVE], index=False).to_numpy()
    by_curve = frame.groupby(curve_ids)["batch_size"]
    rank, size, number = (
        by_curve.rank(method="first", ascending=False).to_numpy(),
        by_curve.transform("size").to_numpy(),
        by_curve.ngroup().to_numpy(),
    )
    inner = (rank > 1) & (rank < size) & ((rank + number) % 4 == 0)
    edge = (rank == 1) & (size >= 3)
    everything = np.ones(len(frame), bool)
    pair_ids = pd.util.hash_pandas_object(frame[PAIR], index=False).to_numpy()
    held_out: list[np.ndarray] = []
    for groups, part, folds in (
        (curve_ids, edge | inner, BATCH_FOLDS),
        (curve_ids, everything, CONFIGURATION_FOLDS),
        (pair_ids, everything, PAIR_FOLDS),
    ):
        distinct = len(np.unique(groups))
        if distinct < 2:
            continue
        for _train, test in GroupKFold(n_splits=min(folds, distinct)).split(frame, groups=groups):
            out = np.isin(np.arange(len(frame)), test) & part
            if out.any() and len(frame) - out.sum() >= 5:
                held_out.append(out)
    return held_out


def _calibrate(frame: pd.DataFrame, features: Features, metric: str) -> dict[str, float]:
    """The half-width (log scale) of an 80 % interval for each kind of query, from the errors
    of fits that left rows out (``_hold_outs``); extrapolation errors per doubling past the
    edge, so an interval widens with its reach."""
    # Encoded once for every fit: a category absent from a fit's rows is a column of zeros
    # there, which no tree splits on, as the fit's own encoder would ignore it.
    encoded = _encoder(features).fit_transform(_log_features(frame, features))
    label = _label(frame, metric)
    numbers = slice(encoded.shape[1] - len(features.numeric), encoded.shape[1])
    errors: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for out in _hold_outs(frame):
        train, test = frame[~out], frame[out]
        rows = encoded[~out]
        numeric = rows[:, numbers]  # a view of rows
        numeric[:, np.isnan(numeric).all(axis=0)] = 0.0  # no value in these rows: as _fit_median
        trees = _boosting().fit(rows, label[~out]).predict(encoded[out])
        curves = _curves(train)
        predicted, reach = _along_curves(trees, metric, train, test, curves)
        residual = np.abs(np.log(test["target"].to_numpy()) - np.log(predicted)) / reach
        for kind, error in zip(kinds(train, test, curves), residual, strict=True):
            errors[str(kind)].append(float(error))
    return _widths(errors)


def _widths(errors: dict[str, list[float]]) -> dict[str, float]:
    """Each kind's conformal half-width; a kind with fewer than 20 errors takes all the
    others'."""
    pooled = [e for kind in KINDS for e in errors[kind]]
    return {kind: _conformal(errors[kind] if len(errors[kind]) >= 20 else pooled) for kind in KINDS}


def _conformal(errors: list[float]) -> float:
    """The split-conformal quantile: the ceil((n + 1) x 80 %)-th smallest error."""
    if not errors:
        return math.inf
    ordered = sorted(errors)
    return ordered[min(len(ordered), math.ceil((len(ordered) + 1) * COVERAGE)) - 1]


@dataclass
class Evaluation:
    metric: str
    configurations: int
    folds: int
    mape: float
    r2: float
    coverage: float  # share of held-out truths inside their 80 % interval
    naive_mape: float  # the better baseline's: nearest batch or power law
    naive: str
    # kind -> held-out configurations, MAPE, coverage, nearest-batch MAPE, power-law MAPE
    by_kind: dict[str, tuple[int, float, float, float, float]] = field(default_factory=dict)
    importance: dict[str, float] = field(default_factory=dict)

    @property
    def beats_baseline(self) -> bool:
        return self.mape < self.naive_mape

    def summary(self) -> str:
        verdict = (
            "beats both baselines"
            if self.beats_baseline
            else f"does NOT beat the {self.naive} baseline: prefer measured neighbours"
        )
        kinds = "; ".join(
            f"{kind} ({n}): MAPE {mape:.1f} %, interval covers {coverage:.0%} "
            f"(nearest batch {near:.1f} %, power law {law:.1f} %)"
            for kind, (n, mape, coverage, near, law) in self.by_kind.items()
        )
        return (
            f"{self.metric}: {self.configurations} configurations, {self.folds}-fold grouped "
            f"cross-validation: MAPE {self.mape:.1f} % ({self.naive} baseline {self.naive_mape:.1f} %), "
            f"R² {self.r2:.3f}, 80 % intervals cover {self.coverage:.0%} of held-out truths; "
            f"the model {verdict}. By kind: {kinds}."
        )


@_one_thread
def evaluate(
    frame: pd.DataFrame,
    metric: str,
    folds: int = 5,
    features: Sequence[str] | None = None,
    step: Step = silent,
) -> Evaluation:
    """Grouped cross-validation (intervals calibrated on each training fold alone) against
    the two baselines, by kind of question, and permutation importance; ``step`` hears of
    each fold as it starts (long on a big warehouse)."""
    from sklearn.inspection import permutation_importance
    from sklearn.metrics import r2_score
    from sklearn.model_selection import GroupKFold

    if len(frame) < 2 * folds:
        raise QueryError(f"{len(frame)} measured configurations are too few to evaluate a model")
    groups = pd.util.hash_pandas_object(frame[CONFIGURATION], index=False)
    used = features_of(frame, features)
    parts = []
    importance = pd.Series(0.0, index=used.columns)
    for fold, (train_index, test_index) in enumerate(
        GroupKFold(n_splits=folds).split(frame, groups=groups), 1
    ):
        step(f"{metric}: cross-validation fold {fold} of {folds} ({len(frame)} configurations)")
        train, test = frame.iloc[train_index], frame.iloc[test_index]
        fitted = fit(train, metric, features)
        answer = fitted.predict(test)
        parts.append(
            pd.DataFrame(
                {
                    "truth": test["target"].to_numpy(),
                    "predicted": answer["predicted"].to_numpy(),
                    "covered": (answer["interval_low"] <= test["target"])
                    & (test["target"] <= answer["interval_high"]),
                    "kind": answer["kind"].to_numpy(),
                    "nearest": nearest_batch(train, test, metric),
                    "law": power_law(train, test, metric),
                }
            )
        )
        scores = permutation_importance(
            fitted.median, _log_features(test, used), _label(test, metric), n_repeats=3, random_state=0
        )
        importance += pd.Series(scores.importances_mean, index=used.columns) / folds
    held = pd.concat(parts, ignore_index=True)

    def mape(column: str, rows: pd.DataFrame = held) -> float:
        return float(100 * np.mean(np.abs(rows[column] - rows["truth"]) / rows["truth"]))

    naive = min(("nearest batch", mape("nearest")), ("power law", mape("law")), key=lambda b: b[1])
    return Evaluation(
        metric=metric,
        configurations=len(frame),
        folds=folds,
        mape=mape("predicted"),
        r2=float(r2_score(np.log(held["truth"]), np.log(held["predicted"]))),
        coverage=float(held["covered"].mean()),
        naive_mape=naive[1],
        naive=naive[0],
        by_kind={
            kind: (
                len(rows),
                mape("predicted", rows),
                float(rows["covered"].mean()),
                mape("nearest", rows),
                mape("law", rows),
            )
            for kind in KINDS
            if len(rows := held[held["kind"] == kind])
        },
        importance={str(k): v for k, v in importance.sort_values(ascending=False).round(4).items()},
    )


@dataclass
class PerformanceModel:
    """A fitted model for one metric, its interval widths, and what it was trained on."""

    metric: str
    median: Any  # the fitted scikit-learn pipeline
    widths: dict[str, float]  # kind of query -> half-width of its 80 % interval, log scale
    training: pd.DataFrame
    data_hash: str
    features: Features
    version: str = __version__
    # What a latency model's trees learn: 2, latency per item of the batch; 1, latency itself.
    target: int = 2

    @functools.cached_property
    def curves(self) -> dict[tuple, Curve]:
        """The training data's batch curves, worked out once per model."""
        return _curves(self.training)

    def predict(self, queries: pd.DataFrame) -> pd.DataFrame:
        """Each query's prediction, its 80 % interval and its kind (see ``kinds``)."""
        out = queries.copy()
        out["predicted"], reach = _predict(
            self.median, self.features, self.metric, self.training, queries, self.curves
        )
        out["kind"] = kinds(self.training, queries, self.curves)
        width = np.exp(out["kind"].map(self.widths).to_numpy(float) * reach)
        out["interval_low"] = out["predicted"] / width
        out["interval_high"] = out["predicted"] * width
        return out

    def predict_with_neighbours(self, queries: pd.DataFrame, k: int = 3) -> pd.DataFrame:
        """Predictions with, for each, its nearest measured configurations as text."""
        out = self.predict(queries)
        distances = _Distances(self.training)
        columns = self.training[["model_name", "hardware_type", "batch_size", "precision", "target"]]
        out["nearest_measured"] = [
            "; ".join(
                f"{model} {hardware} batch {batch:g} {precision}: {target:.4g}"
                for model, hardware, batch, precision, target in columns.take(
                    distances.nearest(query, k)
                ).itertuples(index=False, name=None)
            )
            for query in queries[list(_Distances.ASKED)].to_dict("records")
        ]
        return out

    def neighbours(self, query: pd.Series, k: int = 3) -> pd.DataFrame:
        """The measured configurations nearest to a query: same hardware type first, then
        closest batch size and model size."""
        columns = ["model_name", "hardware_type", "device_name", "batch_size", "precision", "target"]
        return self.training[columns].take(_Distances(self.training).nearest(query, k))

    def save(self, path: str | Path) -> Path:
        import joblib

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(self, path)
        return path

    @staticmethod
    def load(path: str | Path) -> PerformanceModel:
        """A saved model; a latency model whose trees learned another target than this version
        predicts from is refused (its predictions would be off by the batch size)."""
        import joblib

        model = joblib.load(path)
        if model.metric == "latency" and getattr(model, "target", 1) != PerformanceModel.target:
            raise QueryError(
                f"{path}: a model saved by benchdb {model.version}, whose trees learned "
                "latency itself, not per item of the batch: fit it again (benchdb predict "
                "--save, or materialize performance_model)"
            )
        return model


class _Distances:
    """How far each measured configuration lies from a query: a different hardware type 4, a
    different model 2, a different precision 1, plus the batch sizes' distance in doublings
    (4 where either is missing). Each term is worked out once per value asked about: a
    report asks about hundreds of configurations of a few models, devices and precisions."""

    ASKED = ("hardware_type", "model_name", "precision", "batch_size")
    WEIGHTS = {"hardware_type": 4.0, "model_name": 2.0, "precision": 1.0}

    def __init__(self, training: pd.DataFrame) -> None:
        self.training = training
        self.batches = np.log2(training["batch_size"].astype(float))
        self.terms: dict[tuple[str, object], np.ndarray] = {}

    def _term(self, column: str, value: Any) -> np.ndarray:
        term = self.terms.get((column, value))
        if term is None:
            if column == "batch_size":
                term = (self.batches - np.log2(float(value))).abs().fillna(4).to_numpy()
            else:
                term = (self.training[column] != value).to_numpy() * self.WEIGHTS[column]
            self.terms[(column, value)] = term
        return term

    def nearest(self, query: Mapping[str, Any] | pd.Series, k: int) -> np.ndarray:
        """The positions of the ``k`` nearest, nearest first (ties in the training's order)."""
        distance = sum(self._term(column, query[column]) for column in self.ASKED)
        return np.argsort(distance, kind="stable")[:k]


@_one_thread
def fit(frame: pd.DataFrame, metric: str, features: Sequence[str] | None = None) -> PerformanceModel:
    if len(frame) < 5:
        raise QueryError(f"{len(frame)} measured configurations are too few to fit a model")
    frame = frame.sort_values([*CONFIGURATION, "target"]).reset_index(drop=True)  # any order in, one out
    used = features_of(frame, features)
    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()
    return PerformanceModel(
        metric=metric,
        median=_fit_median(frame, used, metric),
        widths=_calibrate(frame, used, metric),
        training=frame,
        data_hash=digest,
        features=used,
    )


def question(
    frame: pd.DataFrame,
    model_name: str,
    hardware: str,
    device: str | None,
    batch_size: int,
    precision: str,
    sequence_length: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The query row for a configuration (names normalised as ingestion does; the model's
    and platform's attributes from their measured results) and the configuration's batch
    curve (its measured results at other batch sizes). Unless given, the sequence length and
    test case are those of that curve, else the usual ones."""
    from benchdb_pipeline.ingest.rules import norm_hardware_type, norm_model_name, norm_precision
    from benchdb_pipeline.warehouse.device_names import norm_device_name

    model_name, hardware, precision = (
        norm_model_name(model_name),
        norm_hardware_type(hardware),
        norm_precision(precision),
    )
    device = norm_device_name(device) if device else None
    models = frame[frame["model_name"] == model_name]
    platforms = frame[
        (frame["hardware_type"] == hardware) & ((frame["device_name"] == device) if device else True)
    ]
    if models.empty or platforms.empty:
        missing = f"model {model_name}" if models.empty else f"hardware {hardware}"
        raise QueryError(
            f"{missing} has no measured results to describe it; predictions need "
            "its family and size, or the platform's"
        )
    platform = platforms.iloc[0]
    curve = frame[
        (frame["model_name"] == model_name)
        & (frame["device_name"] == platform["device_name"])
        & (frame["precision"] == precision)
    ]
    usual = curve if not curve.empty else frame
    query = pd.DataFrame(
        [
            {
                **models.iloc[0][["model_name", "model_family", "modality", "parameters_million"]].to_dict(),
                **platform[["hardware_type", "device_name", "memory_gb"]].to_dict(),
                "batch_size": batch_size,
                "precision": precision,
                "test_case": usual["test_case"].mode().iloc[0] if not curve.empty else "",
                "sequence_length": sequence_length
                or (
                    usual["sequence_length"].mode().iloc[0]
                    if usual["sequence_length"].notna().any()
                    else None
                ),
            }
        ]
    )
    return query, curve


def measured(
    frame: pd.DataFrame, query: pd.Series, *, device: str | None = None, sequence_length: int | None = None
) -> pd.DataFrame:
    """The measured configurations a query names (its device, as a user spells it, and
    sequence length when given),
    each with the median of its results: a measurement answers better than a prediction."""
    same = (
        (frame["model_name"] == query["model_name"])
        & (frame["hardware_type"] == query["hardware_type"])
        & (frame["batch_size"] == query["batch_size"])
        & (frame["precision"] == query["precision"])
    )
    if device:
        from benchdb_pipeline.warehouse.device_names import norm_device_name

        same &= frame["device_name"] == norm_device_name(device)
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
