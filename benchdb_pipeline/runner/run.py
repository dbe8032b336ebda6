"""Run a benchmark plan and write it as one canonical result document.

The document (``test_run``, ``performance_results``, ``hardware_compatibility``) is the
project's canonical format: it is what CI keeps as an artifact, and what ``--db`` ingests
through the same rules as any other file, in one transaction.
"""

from __future__ import annotations

import logging
import os
import platform
import shlex
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from benchdb_pipeline import __version__
from benchdb_pipeline.config import beside
from benchdb_pipeline.runner import measure as m
from benchdb_pipeline.runner.hardware import PLATFORMS, Platform, detect
from benchdb_pipeline.runner.model_sets import MODEL_SETS, ModelSpec, resolve

if TYPE_CHECKING:  # imported when a run is stored, not for planning one
    from benchdb_pipeline.ingest.pipeline import IngestReport

log = logging.getLogger(__name__)

PRECISIONS = tuple(m.DTYPES)


class RunnerUnavailable(RuntimeError):
    """PyTorch or transformers is not installed (the ``runner`` extra)."""


def require_runtime() -> dict[str, str]:
    """The versions of the runner's libraries, or why it cannot run.

    The runner uses pretrained weights only from the local cache: Hugging Face's hub is put
    offline (unless the environment says otherwise), or every load would first retry the
    network for half a minute.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise RunnerUnavailable(
            f"the runner needs PyTorch and transformers ({exc.name} is not installed): "
            "make install-runner, or pip install torch==2.13.0 (from PyTorch's CPU or CUDA index), "
            "then pip install -e '.[runner]'"
        ) from None
    return {"torch": torch.__version__, "transformers": transformers.__version__}


@dataclass
class Plan:
    """What to measure: every model × hardware × precision × batch size."""

    models: list[ModelSpec]
    hardware: list[str]
    batch_sizes: list[int]
    precisions: list[str]
    iterations: int = 20
    warmup: int = 3
    sequence_length: int = 128

    def configurations(self) -> int:
        return len(self.models) * len(self.hardware) * len(self.precisions) * len(self.batch_sizes)


def make_plan(
    models: Sequence[str],
    models_set: str | None = None,
    hardware: Sequence[str] = (),
    batch_sizes: Sequence[int] = (),
    precisions: Sequence[str] = (),
    iterations: int = 20,
    warmup: int = 3,
    sequence_length: int = 128,
) -> Plan:
    """A plan from user input (CLI or Dagster config); ValueError says what is wrong."""
    if bool(models) == bool(models_set):
        raise ValueError("give either models or a models set")
    if models_set is not None and models_set not in MODEL_SETS:
        raise ValueError(f"unknown models set {models_set!r} (known: {', '.join(MODEL_SETS)})")
    named = list(models) if models else list(MODEL_SETS[models_set or ""])
    hardware, precisions = list(hardware) or ["cpu"], list(precisions) or ["fp32"]
    for values, known, what in ((hardware, PLATFORMS, "hardware"), (precisions, PRECISIONS, "precision")):
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(f"unknown {what} {', '.join(unknown)} (known: {', '.join(known)})")
    if any(b < 1 for b in batch_sizes) or iterations < 1 or warmup < 0 or sequence_length < 1:
        raise ValueError("batch sizes, iterations and sequence length must be ≥ 1, warm-up ≥ 0")
    return Plan(
        resolve(named),
        hardware,
        list(batch_sizes) or [1, 2, 4, 8],
        precisions,
        iterations,
        warmup,
        sequence_length,
    )


@dataclass
class Outcome:
    """The document written and what it holds."""

    document: dict
    measured: int = 0
    not_measured: list[str] = field(default_factory=list)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _git(*args: str) -> str | None:
    try:
        return (
            subprocess.run(
                ["git", *args], capture_output=True, text=True, timeout=5, check=True
            ).stdout.strip()
            or None
        )
    except (OSError, subprocess.SubprocessError):
        return None


def _model_fields(spec: ModelSpec) -> dict:
    return {"model_name": spec.name, "model_family": spec.family, "modality": spec.modality}


def _compatibility(
    spec: ModelSpec,
    hw: Platform,
    precision: str,
    *,
    compatible: bool | None,
    error: str | None = None,
    error_type: str | None = None,
    **metadata,
) -> dict:
    return {
        **_model_fields(spec),
        **hw.record(),
        "is_compatible": compatible,
        "detection_success": hw.available,
        "error_message": error,
        "error_type": error_type,
        "metadata": {"precision": precision, **metadata},
        "timestamp": _now(),
    }


class Runner:
    """Measures a plan; ``progress(description, total)`` makes a per-configuration tick."""

    def __init__(self, plan: Plan, progress: Callable[[str, int], Callable[[], None]] | None = None) -> None:
        self.plan = plan
        self.progress = progress or (lambda description, total: lambda: None)

    def run(self) -> Outcome:
        versions = require_runtime()
        started = _now()
        platforms = detect(self.plan.hardware)
        results: list[dict] = []
        compatibility: list[dict] = []
        outcome = Outcome({})
        for hw in platforms.values():
            for spec in self.plan.models:
                for precision in self.plan.precisions:
                    if not hw.measurable:
                        compatibility.append(
                            _compatibility(
                                spec,
                                hw,
                                precision,
                                compatible=None,
                                error=hw.reason,
                                error_type="platform_not_available" if not hw.available else "not_measurable",
                            )
                        )
                        outcome.not_measured.append(
                            f"{spec.name} on {hw.hardware_type} {precision}: {hw.reason}"
                        )
                        continue
                    self._model_on(spec, hw, precision, results, compatibility, outcome)
        outcome.measured = len(results)
        outcome.document = {
            "test_run": {
                "test_name": "benchdb run",
                "test_type": "performance",
                "started_at": started,
                "completed_at": _now(),
                "success": not outcome.not_measured,
                "command_line": shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]),
                "git_commit": _git("rev-parse", "HEAD"),
                "git_branch": _git("rev-parse", "--abbrev-ref", "HEAD"),
                "is_simulated": False,
                "metadata": {
                    "runner": f"benchdb {__version__}",
                    **versions,
                    "python": platform.python_version(),
                    "host": socket.gethostname(),
                    "plan": {
                        "models": [s.name for s in self.plan.models],
                        "hardware": self.plan.hardware,
                        "batch_sizes": self.plan.batch_sizes,
                        "precisions": self.plan.precisions,
                        "iterations": self.plan.iterations,
                        "warmup": self.plan.warmup,
                        "sequence_length": self.plan.sequence_length,
                    },
                    "hardware_detected": {
                        k: {"available": p.available, "reason": p.reason, **p.details}
                        for k, p in platforms.items()
                    },
                },
            },
            "performance_results": results,
            "hardware_compatibility": compatibility,
        }
        return outcome

    def _model_on(
        self,
        spec: ModelSpec,
        hw: Platform,
        precision: str,
        results: list,
        compatibility: list,
        outcome: Outcome,
    ) -> None:
        """Every batch size of one model on one device in one precision."""
        plan = self.plan
        try:
            model = m.load(spec, hw, precision)
        except Exception as exc:  # noqa: BLE001 — an unsupported precision raises anything
            log.warning("%s on %s in %s: cannot load: %s", spec.name, hw.hardware_type, precision, exc)
            compatibility.append(
                _compatibility(
                    spec, hw, precision, compatible=False, error=str(exc)[:500], error_type=type(exc).__name__
                )
            )
            outcome.not_measured.append(f"{spec.name} on {hw.hardware_type} {precision}: {exc}")
            return
        failures = 0
        for batch in plan.batch_sizes:
            tick = self.progress(
                f"{spec.name} {hw.hardware_type} {precision} batch {batch}", plan.warmup + plan.iterations
            )
            measured_at = _now()
            try:
                result = m.measure(model, batch, plan.sequence_length, plan.iterations, plan.warmup, tick)
            except Exception as exc:  # noqa: BLE001 — out of memory, unsupported kernels, …
                failures += 1
                log.warning(
                    "%s on %s %s batch %d failed: %s", spec.name, hw.hardware_type, precision, batch, exc
                )
                compatibility.append(
                    _compatibility(
                        spec,
                        hw,
                        precision,
                        compatible=False,
                        error=str(exc)[:500],
                        error_type=type(exc).__name__,
                        batch_size=batch,
                    )
                )
                outcome.not_measured.append(
                    f"{spec.name} on {hw.hardware_type} {precision} batch {batch}: {exc}"
                )
                self._release(hw)
                continue
            results.append(self._record(model, hw, batch, result, measured_at))
        if failures < len(plan.batch_sizes):
            compatibility.append(
                _compatibility(
                    spec,
                    hw,
                    precision,
                    compatible=True,
                    weights=model.weights,
                    load_time_ms=round(model.load_time_ms, 3),
                )
            )
        del model
        self._release(hw)

    def _record(
        self, model: m.LoadedModel, hw: Platform, batch: int, result: m.Measurement, measured_at: str
    ) -> dict:
        plan = self.plan
        return {
            **_model_fields(model.spec),
            **hw.record(),
            "num_parameters": model.parameters,
            "batch_size": batch,
            "sequence_length": plan.sequence_length if model.spec.modality == "text" else None,
            "precision": model.precision,
            "latencies_ms": result.latencies_ms,
            "throughput_items_per_second": m.throughput(batch, result.latencies_ms),
            "memory_peak_mb": result.memory_peak_mb,
            "warmup_iterations": plan.warmup,
            "timestamp": measured_at,
            "metrics": {
                "model_load_time_ms": model.load_time_ms,
                "weights": model.weights,
                "weights_reason": model.weights_reason,
                "memory_peak_kind": "allocator peak"
                if model.device.startswith("cuda")
                else "resident memory increase over the level before loading",
                **result.extra,
            },
        }

    @staticmethod
    def _release(hw: Platform) -> None:
        m.release_memory()
        if hw.torch_device and hw.torch_device.startswith("cuda"):
            import torch

            torch.cuda.empty_cache()


def result_path(output_dir: Path) -> Path:
    """A new, unique result file name in ``output_dir``."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    return output_dir / f"benchdb_run_{socket.gethostname()}_{stamp}.json"


def write(document: dict, output_dir: Path) -> Path:
    """Write the document atomically (a hidden temporary name, then renamed)."""
    output_dir.mkdir(parents=True, exist_ok=True)
    path = result_path(output_dir)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
    partial.replace(path)
    log.info("wrote %s (%.0f KB)", path, path.stat().st_size / 1024)
    return path


@dataclass
class Stored:
    """A finished run: the outcome, its result file and, with a database, the ingest."""

    outcome: Outcome
    path: Path
    ingest: IngestReport | None = None


def runs_dir(db: str | Path) -> Path:
    """Where result files of runs go by default: ``runs/`` beside the database, outside the
    watched incoming folder (a run's file is ingested once, by the run that wrote it)."""
    return beside(db) / "runs"


def run_and_store(
    plan: Plan,
    *,
    db: Path | None = None,
    output_dir: Path | None = None,
    progress: Callable[[str, int], Callable[[], None]] | None = None,
) -> Stored:
    """Measure the plan, write its result file (to ``output_dir``, else beside the database
    under ``runs/``) and, with ``db``, ingest that file: one test run, one transaction."""
    if output_dir is not None:
        folder = output_dir
    elif db is not None:
        folder = runs_dir(db)
    else:
        raise ValueError("give a database, an output folder, or both")
    outcome = Runner(plan, progress).run()
    path = write(outcome.document, folder)
    if db is None:
        return Stored(outcome, path)
    from benchdb_pipeline.ingest.pipeline import ingest_files

    return Stored(outcome, path, ingest_files(db, [str(path)], workers=1))
