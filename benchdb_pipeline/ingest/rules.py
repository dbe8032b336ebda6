"""The one table of field rules: aliases, units, kinds and ranges of every record field.

Adapters hand raw records to ``normalise`` (in ``normalize.py``); nothing else renames a
field or converts a unit. An alias maps to the unit its values carry; ``None`` means "the
unit the record (or adapter) declares, else the column's canonical unit".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from benchdb_pipeline.warehouse.device_names import norm_device_name

# Unit factors to the canonical unit of each dimension.
UNITS: dict[str, dict[str, float]] = {
    "time": {  # to milliseconds
        "ns": 1e-6,
        "nanoseconds": 1e-6,
        "us": 1e-3,
        "µs": 1e-3,
        "μs": 1e-3,
        "microseconds": 1e-3,
        "ms": 1.0,
        "milliseconds": 1.0,
        "s": 1000.0,
        "sec": 1000.0,
        "secs": 1000.0,
        "seconds": 1000.0,
        "min": 60_000.0,
        "minutes": 60_000.0,
    },
    "memory": {  # to megabytes (MiB, as the old system's memory_mb)
        "b": 1 / 1048576,
        "bytes": 1 / 1048576,
        "kb": 1 / 1024,
        "kib": 1 / 1024,
        "mb": 1.0,
        "mib": 1.0,
        "gb": 1024.0,
        "gib": 1024.0,
    },
    "throughput": {  # to items per second
        "items/s": 1.0,
        "items_per_second": 1.0,
        "samples/s": 1.0,
        "it/s": 1.0,
        "1/s": 1.0,
        "items/ms": 1000.0,
        "items/min": 1 / 60,
    },
    "count": {"count": 1.0, "million": 1e6},
}
CANONICAL_UNIT = {"time": "ms", "memory": "mb", "throughput": "items/s", "count": "count"}
# The largest value a measurement can plausibly have, in the canonical unit: above it the
# value is a bug or a placeholder (1e308), refused, never stored.
PLAUSIBLE_MAXIMUM = {"time": 1e9, "memory": 1e9, "throughput": 1e15, "count": 1e13}
# Text: identifiers and labels are short; messages and tracebacks may be long. Either way
# no control characters but tab and line breaks (a NUL or ESC would reach a terminal raw).
TEXT_LIMIT, LONG_TEXT_LIMIT = 1024, 1_000_000
LONG_TEXT = frozenset(
    {
        "error_message",
        "error_traceback",
        "suggested_fix",
        "expected_value",
        "actual_value",
        "message",
        "command_line",
    }
)
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

# Record keys that declare the unit of the dimension's unit-less aliases.
UNIT_KEYS: dict[str, str] = {
    "time_unit": "time",
    "latency_unit": "time",
    "unit": "time",
    "memory_unit": "memory",
    "throughput_unit": "throughput",
}


def unit_factor(dimension: str, unit: str) -> float | None:
    """Factor from ``unit`` to the dimension's canonical unit; None when unknown."""
    return UNITS[dimension].get(unit.strip().lower())


def convert(value: float, dimension: str, unit: str, to_unit: str | None = None) -> float:
    """Convert a value between units of one dimension (to canonical by default)."""
    factor = unit_factor(dimension, unit)
    target = unit_factor(dimension, to_unit or CANONICAL_UNIT[dimension])
    if factor is None or target is None:
        raise ValueError(f"unknown {dimension} unit {unit!r}")
    return value * factor / target


# Value normalisers -------------------------------------------------------------------

_HARDWARE_ALIASES = {
    "gpu_cuda": "cuda",
    "nvidia": "cuda",
    "cuda_gpu": "cuda",
    "amd": "rocm",
    "hip": "rocm",
    "rocm_gpu": "rocm",
    "metal": "mps",
    "apple": "mps",
    "apple_silicon": "mps",
    "ov": "openvino",
    "intel_openvino": "openvino",
    "web_nn": "webnn",
    "web_gpu": "webgpu",
    "qualcomm": "qnn",
    "qnn_htp": "qnn",
}
_PRECISIONS = {
    "fp32": "fp32",
    "float32": "fp32",
    "float": "fp32",
    "f32": "fp32",
    "single": "fp32",
    "fp16": "fp16",
    "float16": "fp16",
    "half": "fp16",
    "f16": "fp16",
    "bf16": "bf16",
    "bfloat16": "bf16",
    "fp64": "fp64",
    "float64": "fp64",
    "double": "fp64",
    "fp8": "fp8",
    "float8": "fp8",
    "e4m3": "fp8_e4m3",
    "e5m2": "fp8_e5m2",
    "int8": "int8",
    "i8": "int8",
    "qint8": "int8",
    "int4": "int4",
    "i4": "int4",
    "uint8": "uint8",
    "mixed": "mixed",
    "amp": "mixed",
    "mixed_precision": "mixed",
}
_STATUSES = {
    "pass": "pass",
    "passed": "pass",
    "success": "pass",
    "succeeded": "pass",
    "ok": "pass",
    "fail": "fail",
    "failed": "fail",
    "failure": "fail",
    "error": "error",
    "errored": "error",
    "crash": "error",
    "crashed": "error",
    "timeout": "error",
    "skip": "skip",
    "skipped": "skip",
    "xfail": "skip",
    "disabled": "skip",
}
_TOKEN = re.compile(r"^[a-z0-9][a-z0-9_.\-]{0,31}$")
_SPACES = re.compile(r"\s+")


def _token(token: str, value: str, what: str) -> str:
    """A short lower-case identifier, or the reason the value is not one."""
    if not _TOKEN.match(token):
        raise ValueError(f"{value!r} is not {what}")
    return token


@functools.lru_cache(maxsize=4096)
def norm_hardware_type(value: str) -> str:
    """cpu, cuda, rocm, mps, openvino, webnn, webgpu, qnn…; 'CUDA:0' → 'cuda'."""
    token = value.strip().lower().replace(" ", "_").replace("-", "_")
    token = token.split(":", 1)[0]
    return _token(_HARDWARE_ALIASES.get(token, token), value, "a hardware type (e.g. cpu, cuda)")


KNOWN_HARDWARE_TYPES = frozenset(
    {
        "cpu",
        "cuda",
        "rocm",
        "mps",
        "openvino",
        "webnn",
        "webgpu",
        "qnn",
        "xpu",
        "tpu",
        "npu",
        "hpu",
        "vulkan",
        "directml",
        "coreml",
        "tensorrt",
        *_HARDWARE_ALIASES,
    }
)
# Device names that say which kind of accelerator they are.
_ACCELERATOR_NAMES = (
    (
        re.compile(
            r"\b(nvidia|tesla|geforce|quadro|rtx|gtx|[ahlbv]100|h200|gh200|b200|l4|l40s?|t4|a10g?)\b", re.I
        ),
        "cuda",
    ),
    (re.compile(r"\b(radeon|instinct|mi[0-9]{2,3}x?)\b", re.I), "rocm"),
    (re.compile(r"\b(tpu v[0-9]\w*)\b", re.I), "tpu"),
)


def hardware_type_of(value: str) -> str | None:
    """The hardware type a value names (``cuda:0`` → cuda), or None for anything else, such
    as a device's model name."""
    try:
        token = norm_hardware_type(value)
    except ValueError:
        return None
    return token if token in KNOWN_HARDWARE_TYPES else None


def accelerator_type(device_name: str) -> str | None:
    """The hardware type an accelerator's model name implies (``NVIDIA A100`` → cuda)."""
    for pattern, kind in _ACCELERATOR_NAMES:
        if pattern.search(device_name):
            return kind
    return None


@functools.lru_cache(maxsize=4096)
def norm_precision(value: str) -> str:
    token = value.strip().lower().replace("-", "_").removeprefix("torch.")
    return _token(_PRECISIONS.get(token, token), value, "a precision (e.g. fp32, fp16, bf16, int8)")


def _vocabulary(words: dict[str, str], what: str):
    """A normaliser of a closed vocabulary: its words map to their canonical word, anything
    else is refused, naming what was expected."""

    @functools.lru_cache(maxsize=4096)
    def normalise(value: str) -> str:
        found = words.get(value.strip().lower())
        if found is None:
            raise ValueError(f"{value!r} is not {what}")
        return found

    return normalise


norm_status = _vocabulary(_STATUSES, "a test status (expected pass, fail, error or skip)")


_MEASUREMENT_STATUSES = {
    **dict.fromkeys(
        ("ok", "completed", "complete", "success", "succeeded", "passed", "pass", "done", "finished"), "ok"
    ),
    **dict.fromkeys(("failed", "fail", "failure", "error", "errored", "crashed", "timeout"), "failed"),
}
# ok or failed: a failed measurement is kept but makes no latest value or baseline.
norm_measurement_status = _vocabulary(_MEASUREMENT_STATUSES, "a measurement status (expected ok or failed)")


@functools.lru_cache(maxsize=4096)
def norm_model_display(value: str) -> str:
    """A model's name as the file spells it (trimmed, inner whitespace as '-'), for display."""
    return _SPACES.sub("-", value.strip())


@functools.lru_cache(maxsize=4096)
def norm_model_name(value: str) -> str:
    """The model's key: hub ids are case-insensitive, so 'BERT-Base-Uncased ' and
    'bert-base-uncased' are one model (shown as ``models.display_name`` spells it)."""
    return norm_model_display(value).lower()


@functools.lru_cache(maxsize=4096)
def norm_label(value: str) -> str:
    """Free text labels (device names, test names): trimmed, inner whitespace collapsed."""
    return _SPACES.sub(" ", value.strip())


@functools.lru_cache(maxsize=4096)
def norm_lower(value: str) -> str:
    return value.lower()


# Rules -------------------------------------------------------------------------------

TEXT, INT, FLOAT, BOOL, JSON, TIMESTAMP, SAMPLES = (
    "text",
    "int",
    "float",
    "bool",
    "json",
    "timestamp",
    "samples",
)


@dataclass(frozen=True)
class Rule:
    """One target column: which input keys feed it, in which unit, within which range."""

    column: str
    kind: str
    aliases: dict[str, str | None] = field(default_factory=dict)
    dimension: str | None = None
    unit: str | None = None  # canonical unit of this column, when not the dimension's
    minimum: float | None = None
    exclusive: bool = False  # minimum is exclusive (value must be greater)
    required: bool = False
    normalise: Callable[[str], str] | None = None  # for text columns
    wide: bool = False  # a whole number of 64 bits (BIGINT), not 32

    def all_aliases(self) -> dict[str, str | None]:
        """The column's own name first (in its canonical unit), then the aliases."""
        own = {self.column: self.unit or (CANONICAL_UNIT[self.dimension] if self.dimension else None)}
        return {**own, **self.aliases}


def _latency(column: str, stat: str, *extra: str) -> Rule:
    aliases: dict[str, str | None] = {
        f"p{stat}_latency_ms": "ms",
        f"latency_p{stat}": None,
        f"p{stat}_latency": None,
        f"p{stat}_ms": "ms",
        f"p{stat}": None,
    }
    aliases.update({name: None for name in extra})
    return Rule(column, FLOAT, aliases, dimension="time", minimum=0)


MODEL_RULES = (
    Rule("model_name", TEXT, {"model": None, "model_id": None}, required=True, normalise=norm_model_display),
    Rule("model_family", TEXT, {"family": None, "model_type": None}, normalise=norm_label),
    Rule("modality", TEXT, {}, normalise=norm_lower),
    Rule("source", TEXT, {"model_source": None}, normalise=norm_label),
    Rule("version", TEXT, {"model_version": None, "revision": None}, normalise=norm_label),
    Rule(
        "parameters_million",
        FLOAT,
        {
            "params_million": "million",
            "num_parameters": "count",
            "parameter_count": "count",
            "num_params": "count",
        },
        dimension="count",
        unit="million",
        minimum=0,
        exclusive=True,
    ),
    Rule("model_metadata", JSON, {}),
)

HARDWARE_RULES = (
    Rule(
        "hardware_type",
        TEXT,
        {"hardware": None, "device_type": None, "backend": None, "device": None},
        required=True,
        normalise=norm_hardware_type,
    ),
    Rule(
        "device_name",
        TEXT,
        {"device_model": None, "gpu_name": None, "cpu_name": None, "processor": None},
        normalise=norm_device_name,
    ),
    Rule("platform", TEXT, {"os": None}, normalise=norm_label),
    Rule("platform_version", TEXT, {"os_version": None, "cuda_version": None}, normalise=norm_label),
    Rule("driver_version", TEXT, {"driver": None}, normalise=norm_label),
    Rule(
        "memory_gb",
        FLOAT,
        {"device_memory_gb": "gb", "hardware_memory_gb": "gb", "total_memory_gb": "gb"},
        dimension="memory",
        unit="gb",
        minimum=0,
        exclusive=True,
    ),
    Rule(
        "compute_units",
        INT,
        {"num_cores": None, "cores": None, "sm_count": None, "num_cpus": None, "cpu_count": None},
        minimum=1,
    ),
    Rule(
        "accelerator_count",
        INT,
        {"gpu_count": None, "num_gpus": None, "device_count": None, "num_accelerators": None},
        minimum=0,
    ),
    Rule("host_name", TEXT, {"hostname": None, "host": None, "node": None}, normalise=norm_label),
    Rule("hardware_metadata", JSON, {}),
)

_MEASURED_AT = Rule(
    "measured_at", TIMESTAMP, {"timestamp": None, "created_at": None, "run_timestamp": None, "datetime": None}
)
_SIMULATED = Rule("is_simulated", BOOL, {"simulated": None, "is_simulation": None})

PERFORMANCE_RULES = (
    MODEL_RULES
    + HARDWARE_RULES
    + (
        Rule("test_case", TEXT, {"task": None, "scenario": None, "benchmark": None}, normalise=norm_label),
        Rule("batch_size", INT, {"batch": None, "bs": None}, minimum=1),
        Rule("sequence_length", INT, {"seq_len": None, "seq_length": None, "sequence_len": None}, minimum=1),
        Rule("precision", TEXT, {"dtype": None, "data_type": None}, normalise=norm_precision),
        Rule(
            "total_time_seconds",
            FLOAT,
            {"total_time": None, "total_time_s": "s", "total_time_ms": "ms", "duration_seconds": "s"},
            dimension="time",
            unit="s",
            minimum=0,
        ),
        Rule(
            "average_latency_ms",
            FLOAT,
            {
                "avg_latency_ms": "ms",
                "latency_ms": "ms",
                "mean_latency_ms": "ms",
                "latency_mean_ms": "ms",
                "latency_avg_ms": "ms",
                "latency_avg": None,
                "latency": None,
                "avg_latency": None,
                "average_latency": None,
                "mean_latency": None,
                "avg_latency_s": "s",
                "latency_s": "s",
                "latency_seconds": "s",
                "avg_latency_seconds": "s",
                "latency_us": "us",
                "avg_latency_us": "us",
            },
            dimension="time",
            minimum=0,
        ),
        _latency("latency_p50_ms", "50", "median_latency_ms", "latency_median_ms"),
        _latency("latency_p90_ms", "90"),
        _latency("latency_p95_ms", "95"),
        _latency("latency_p99_ms", "99"),
        Rule(
            "throughput_items_per_second",
            FLOAT,
            {
                "throughput": None,
                "items_per_second": "items/s",
                "samples_per_second": "items/s",
                "throughput_per_second": "items/s",
                "throughput_items_per_sec": "items/s",
            },
            dimension="throughput",
            minimum=0,
            exclusive=True,
        ),
        Rule(
            "memory_peak_mb",
            FLOAT,
            {
                "memory_mb": "mb",
                "memory": None,
                "memory_peak": None,
                "peak_memory_mb": "mb",
                "memory_usage_mb": "mb",
                "max_memory_mb": "mb",
                "memory_peak_gb": "gb",
                "memory_peak_bytes": "b",
                "peak_memory_bytes": "b",
                "max_memory_allocated": "b",
            },
            dimension="memory",
            minimum=0,
        ),
        Rule(
            "iterations", INT, {"num_iterations": None, "iters": None, "num_runs": None}, minimum=1, wide=True
        ),
        Rule("warmup_iterations", INT, {"warmup": None, "warmup_runs": None, "num_warmup": None}, minimum=0),
        Rule(
            "samples",
            SAMPLES,
            {
                "latencies_ms": "ms",
                "latency_samples_ms": "ms",
                "samples_ms": "ms",
                "latencies": None,
                "latencies_s": "s",
            },
            dimension="time",
            minimum=0,
        ),
        Rule("metrics", JSON, {"extra_metrics": None}),
        Rule("status", TEXT, {}, normalise=norm_measurement_status),
        _MEASURED_AT,
        _SIMULATED,
    )
)

COMPATIBILITY_RULES = (
    replace(MODEL_RULES[0], required=False),
    *MODEL_RULES[1:],
    *HARDWARE_RULES,
    Rule("is_compatible", BOOL, {"compatible": None, "supported": None}),
    Rule("detection_success", BOOL, {"detected": None, "available": None}),
    Rule("initialization_success", BOOL, {"initialized": None}),
    Rule("error_message", TEXT, {"error": None}),
    Rule("error_type", TEXT, {}),
    Rule("suggested_fix", TEXT, {"fix": None, "suggestion": None}),
    Rule("compatibility_score", FLOAT, {"score": None}),
    Rule("metadata", JSON, {}),
    _MEASURED_AT,
    _SIMULATED,
)

INTEGRATION_RULES = (
    COMPATIBILITY_RULES[0],
    *MODEL_RULES[1:],
    *(replace(rule, required=False) for rule in HARDWARE_RULES),
    Rule("test_module", TEXT, {"module": None, "suite": None}, required=True, normalise=norm_label),
    Rule("test_class", TEXT, {"class": None, "classname": None}, normalise=norm_label),
    Rule("test_name", TEXT, {"name": None, "test": None}, required=True, normalise=norm_label),
    Rule("status", TEXT, {"outcome": None, "result": None}, required=True, normalise=norm_status),
    Rule(
        "execution_time_seconds",
        FLOAT,
        {"duration": None, "elapsed_time": None, "execution_time": None, "duration_ms": "ms"},
        dimension="time",
        unit="s",
        minimum=0,
    ),
    Rule("error_message", TEXT, {"error": None}),
    Rule("error_traceback", TEXT, {"traceback": None}),
    Rule("assertions", JSON, {}),
    Rule("metadata", JSON, {}),
    _MEASURED_AT,
    _SIMULATED,
)

ASSERTION_RULES = (
    Rule("assertion_name", TEXT, {"name": None, "assertion": None}, required=True),
    Rule("passed", BOOL, {"success": None, "ok": None}, required=True),
    Rule("expected_value", TEXT, {"expected": None}),
    Rule("actual_value", TEXT, {"actual": None}),
    Rule("message", TEXT, {"msg": None}),
)

WEB_PLATFORM_RULES = (
    MODEL_RULES
    + HARDWARE_RULES
    + (
        Rule("browser", TEXT, {}, normalise=norm_label),
        Rule("browser_version", TEXT, {}, normalise=norm_label),
        Rule("test_file", TEXT, {}),
        Rule("success", BOOL, {}),
        Rule("implementation_type", TEXT, {}),
        Rule("is_simulation", BOOL, {}),
        Rule("load_time_ms", FLOAT, {"load_time": None}, dimension="time", minimum=0),
        Rule(
            "initialization_time_ms",
            FLOAT,
            {"initialization_time": None, "init_time_ms": "ms"},
            dimension="time",
            minimum=0,
        ),
        Rule("inference_time_ms", FLOAT, {"inference_time": None}, dimension="time", minimum=0),
        Rule("total_time_ms", FLOAT, {"total_time": None}, dimension="time", minimum=0),
        Rule(
            "shader_compilation_time_ms",
            FLOAT,
            {"shader_compilation_time": None},
            dimension="time",
            minimum=0,
        ),
        Rule("memory_usage_mb", FLOAT, {"memory_mb": "mb", "memory": None}, dimension="memory", minimum=0),
        Rule(
            "throughput_items_per_second",
            FLOAT,
            {"throughput": None},
            dimension="throughput",
            minimum=0,
            exclusive=True,
        ),
        Rule("error_message", TEXT, {"error": None}),
        Rule("metrics", JSON, {}),
        _MEASURED_AT,
        _SIMULATED,
    )
)

RUN_RULES = (
    Rule("test_name", TEXT, {"name": None}, normalise=norm_label),
    Rule("test_type", TEXT, {"type": None}, normalise=norm_lower),
    Rule("started_at", TIMESTAMP, {"start_time": None, "timestamp": None}),
    Rule("completed_at", TIMESTAMP, {"end_time": None}),
    Rule(
        "execution_time_seconds",
        FLOAT,
        {"duration": None, "elapsed_time": None},
        dimension="time",
        unit="s",
        minimum=0,
    ),
    Rule("success", BOOL, {}),
    Rule("git_commit", TEXT, {"commit": None, "commit_sha": None, "sha": None}),
    Rule("git_branch", TEXT, {"branch": None, "ref": None}),
    Rule("command_line", TEXT, {"command": None, "cmd": None}),
    Rule("metadata", JSON, {}),
    _SIMULATED,
)

# The column that receives a record's unrecognised keys, per record kind (nothing is lost).
OVERFLOW_COLUMN = {
    "performance": "metrics",
    "compatibility": "metadata",
    "integration": "metadata",
    "assertion": None,
    "web_platform": "metrics",
    "hardware": "hardware_metadata",
    "run": "metadata",
}
RULES = {
    "performance": PERFORMANCE_RULES,
    "compatibility": COMPATIBILITY_RULES,
    "integration": INTEGRATION_RULES,
    "assertion": ASSERTION_RULES,
    "web_platform": WEB_PLATFORM_RULES,
    # A machine described on its own (a hardware detection document): a platform, no fact.
    "hardware": HARDWARE_RULES + (_MEASURED_AT, _SIMULATED),
    "run": RUN_RULES,
}
