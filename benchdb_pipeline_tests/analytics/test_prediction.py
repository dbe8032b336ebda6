"""Prediction on data with known structure: throughput ∝ device speed × a batch curve."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from benchdb_pipeline.analytics import prediction
from benchdb_pipeline.errors import QueryError

SPEED = {"cpu": 1.0, "cuda": 12.0, "rocm": 9.0, "mps": 4.0}
SIZES = {f"model-{i}": 10 + 40 * i for i in range(8)}


def known_structure(noise: float = 0.05, seed: int = 5) -> pd.DataFrame:
    rng = random.Random(seed)
    rows = []
    for model, size in SIZES.items():
        for hw, speed in SPEED.items():
            for batch in (1, 2, 4, 8, 16, 32):
                for precision, factor in (("fp32", 1.0), ("fp16", 1.7)):
                    curve = batch**0.8  # sub-linear scaling with batch size
                    rows.append(
                        {
                            "model_name": model,
                            "model_family": "family",
                            "modality": "text",
                            "parameters_million": float(size),
                            "hardware_type": hw,
                            "device_name": f"{hw} device",
                            "memory_gb": 16.0,
                            "batch_size": batch,
                            "sequence_length": 128,
                            "precision": precision,
                            "test_case": "",
                            "results": 1,
                            "target": 5000 * speed * factor * curve / size * rng.gauss(1, noise),
                        }
                    )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def evaluation() -> prediction.Evaluation:
    """Throughput from every feature, which two tests read (an evaluation fits ~115 models)."""
    return prediction.evaluate(known_structure(), "throughput")


def test_grouped_cross_validation_beats_the_naive_baseline(evaluation):
    assert evaluation.configurations == 8 * 4 * 6 * 2
    assert evaluation.beats_baseline, evaluation.summary()
    assert evaluation.mape < 15 and evaluation.r2 > 0.95
    assert "beats both baselines" in evaluation.summary()
    top = list(evaluation.importance)[:3]
    assert "batch_size" in top or "hardware_type" in top


def test_predictions_have_intervals_neighbours_and_provenance(tmp_path):
    frame = known_structure()
    held_out = (
        (frame["model_name"] == "model-3") & (frame["hardware_type"] == "cuda") & (frame["batch_size"] == 8)
    )
    fitted = prediction.fit(frame[~held_out], "throughput")
    truth = frame[held_out]
    predicted = fitted.predict(truth.drop(columns="target"))
    assert (
        (predicted["interval_low"] <= predicted["predicted"])
        & (predicted["predicted"] <= predicted["interval_high"])
    ).all()
    error = (predicted["predicted"] - truth["target"].to_numpy()).abs() / truth["target"].to_numpy()
    assert error.max() < 0.35
    near = fitted.neighbours(truth.drop(columns="target").iloc[0])
    assert len(near) == 3 and (near["hardware_type"] == "cuda").all()
    restored = prediction.PerformanceModel.load(fitted.save(tmp_path / "model.joblib"))
    assert restored.data_hash == fitted.data_hash and len(fitted.data_hash) == 64
    assert restored.version == fitted.version


def test_untested_combinations_are_the_gaps():
    frame = known_structure()
    frame = frame[~((frame["model_name"] == "model-1") & (frame["hardware_type"] == "mps"))]
    gaps = prediction.untested(frame)
    assert set(gaps["model_name"]) == {"model-1"} and set(gaps["hardware_type"]) == {"mps"}
    assert len(gaps) == 6 * 2


def test_too_little_data_is_refused():
    with pytest.raises(QueryError, match="too few"):
        prediction.fit(known_structure().head(3), "throughput")


def test_predict_command(tmp_path):
    from benchdb_pipeline.warehouse import synthetic
    from benchdb_pipeline.warehouse.store import session
    from benchdb_pipeline_tests.test_cli import benchdb

    db = tmp_path / "wh.duckdb"
    with session(db) as con:
        synthetic.fill(con, synthetic.Shape(models=3, platforms=3, runs=1))  # --evaluate fits ~100 models
    result = benchdb(
        "predict",
        "--model",
        "synthetic-model-002",
        "--hardware",
        "cuda",
        "--batch-size",
        "64",
        "--precision",
        "fp16",
        "--include-simulated",
        "--evaluate",
        "--save",
        str(tmp_path / "m.joblib"),
        db=db,
    )
    assert result.returncode == 0, result.stderr
    assert "predicted throughput" in result.stdout and "80 % interval" in result.stdout
    assert "nearest measured configurations" in result.stdout and "grouped cross-validation" in result.stdout
    assert (tmp_path / "m.joblib").exists()
    assert "outside the measured range of this configuration (1–32)" in result.stdout
    measured_only = benchdb(
        "predict", "--model", "synthetic-model-002", "--hardware", "cuda", "--batch-size", "64", db=db
    )
    assert measured_only.returncode == 2 and "--include-simulated" in measured_only.stderr
    # A configuration that was measured is answered with its measurement, not a prediction.
    ask = ("predict", "--model", "synthetic-model-002", "--hardware", "cuda", "--batch-size", "8")
    ask += ("--precision", "fp16", "--include-simulated")
    answer = benchdb(*ask, db=db)
    assert answer.returncode == 0, answer.stderr
    first = answer.stdout.splitlines()[0]
    assert "was measured: throughput" in first and "predicted" not in answer.stdout
    assert "nearest measured" not in answer.stdout
    both = benchdb(*ask, "--also-predict", db=db)
    lines = both.stdout.splitlines()
    assert "was measured" in lines[0]
    assert any("predicted throughput" in line and "% against the measurement" in line for line in lines)


def test_the_features_learned_from_can_be_chosen(evaluation):
    """The old analytics' --prediction-features: the model sees only those columns."""
    frame = known_structure()
    chosen = ("model_family", "hardware_type", "batch_size", "precision")
    fitted = prediction.fit(frame, "throughput", chosen)
    assert fitted.features.categorical == ("model_family", "hardware_type", "precision")
    assert fitted.features.numeric == ("batch_size",)
    without = prediction.evaluate(frame, "throughput", features=chosen)
    assert set(without.importance) == set(chosen)
    # Without the model's identity or size, the models of one family cannot be told apart.
    assert without.mape > evaluation.mape
    with pytest.raises(QueryError, match="unknown prediction features colour"):
        prediction.fit(frame, "throughput", ("batch_size", "colour"))


def test_results_without_a_batch_size_are_learned_from_and_asked_about():
    """The old system's files often name no batch size (nullable Int64 in the frame)."""
    frame = known_structure()
    frame["batch_size"] = frame["batch_size"].astype("Int64")
    frame.loc[frame["model_name"] == "model-1", "batch_size"] = pd.NA
    frame = frame.drop_duplicates(prediction.CONFIGURATION)
    fitted = prediction.fit(frame, "throughput")
    answer = fitted.predict(frame.drop(columns="target").head(40))
    assert answer["predicted"].notna().all() and (answer["interval_low"] < answer["predicted"]).all()
    assert prediction.evaluate(frame, "throughput", folds=3).configurations == len(frame)


def test_a_number_known_for_one_pair_only_is_learned_from():
    """Holding that pair out leaves a training fold where the number is never known."""
    frame = known_structure()
    frame["memory_gb"] = None
    frame.loc[(frame["model_name"] == "model-0") & (frame["hardware_type"] == "cuda"), "memory_gb"] = 80.0
    fitted = prediction.fit(frame, "throughput")
    assert "memory_gb" in fitted.features.numeric
    assert fitted.predict(frame.drop(columns="target").head(5))["predicted"].notna().all()


def test_calibration_errors_are_those_of_each_fits_own_pipeline():
    """Calibration encodes the features once for all its fits. A model measured on one
    device only, its pair held out, is a category that fit never saw, and a number known for
    one pair only is missing from every row of the fit that holds that pair out: the widths
    must be those of fitting each hold-out's own pipeline."""
    frame = known_structure()
    frame = frame[(frame["model_name"] != "model-7") | (frame["hardware_type"] == "cuda")]
    frame["memory_gb"] = None
    frame.loc[(frame["model_name"] == "model-0") & (frame["hardware_type"] == "mps"), "memory_gb"] = 24.0
    frame = frame.reset_index(drop=True)
    features = prediction.features_of(frame)
    errors: dict[str, list[float]] = {kind: [] for kind in prediction.KINDS}
    with threadpool_limits(limits=1):  # as fit() runs them: OpenMP spins beside busy workers
        for out in prediction._hold_outs(frame):
            train, test = frame[~out], frame[out]
            model = prediction._fit_median(train, features, "throughput")
            predicted, reach = prediction._predict(model, features, "throughput", train, test)
            residual = np.abs(np.log(test["target"].to_numpy()) - np.log(predicted)) / reach
            for kind, error in zip(prediction.kinds(train, test), residual, strict=True):
                errors[str(kind)].append(float(error))
        widths = prediction._calibrate(frame, features, "throughput")
    assert errors["unseen pair"] and errors["extrapolation"] and errors["in range"]
    assert widths == pytest.approx(prediction._widths(errors), rel=1e-9)


def test_latency_past_the_largest_measured_batch_grows_with_the_batch():
    """Trees stay flat past the batch sizes they saw. Latency grows with the batch (here a
    fixed cost plus a cost per item) where its value per item levels off: the trees learn
    latency per item, and the batch size multiplies it back."""
    frame = known_structure(noise=0.02)
    frame["target"] = (
        frame["parameters_million"] / frame["hardware_type"].map(SPEED) * (4 + frame["batch_size"])
    )
    beyond = frame["batch_size"] >= 16
    fitted = prediction.fit(frame[~beyond], "latency")
    asked = frame[beyond & (frame["model_name"] == "model-3") & (frame["hardware_type"] == "cuda")]
    answer = fitted.predict(asked.drop(columns="target"))
    assert (answer["kind"] == "extrapolation").all()
    error = (answer["predicted"] - asked["target"]).abs() / asked["target"]
    assert error.max() < 0.1, error.tolist()


def test_a_latency_model_saved_with_another_target_is_refused(tmp_path):
    """Its trees learned latency itself: read as per item, they would be off by the batch
    size. A throughput model's trees learn what they always did, and it loads."""
    for metric in ("latency", "throughput"):
        fitted = prediction.fit(known_structure(), metric)
        fitted.target = 1
        fitted.save(tmp_path / f"{metric}.joblib")
    with pytest.raises(QueryError, match="fit it again"):
        prediction.PerformanceModel.load(tmp_path / "latency.joblib")
    assert prediction.PerformanceModel.load(tmp_path / "throughput.joblib").metric == "throughput"
