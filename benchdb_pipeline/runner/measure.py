"""Measure one model on one device: load, warm up, time each iteration, track memory.

Latencies are wall-clock per iteration, synchronised with the device after each forward
pass, so they cover the work and not just its launch. Peak memory is the allocator's peak
on a GPU (weights and activations), and on the CPU the increase of the process's resident
memory over its level before the model was loaded, sampled every few milliseconds.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchdb_pipeline.runner.hardware import Platform
from benchdb_pipeline.runner.model_sets import ModelSpec

DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}
VISION_SIZE = 224
AUDIO_FRAMES = 3000  # Whisper's fixed 30 s window of mel frames
_PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20


def rss_mb(pid: int | str = "self") -> float:
    """A process's resident memory now (this one's by default), in MB (Linux); 0 where
    unknown or gone."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * _PAGE_MB
    except (OSError, ValueError, IndexError):
        return 0.0


def child_processes(pid: int) -> list[int]:
    """The processes any thread of ``pid`` started and that still run (Linux)."""
    children: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return children
    for task in tasks:
        try:
            children.extend(int(child) for child in (task / "children").read_text().split())
        except OSError:
            continue
    return children


def release_memory() -> None:
    """Collect garbage and hand freed heap memory back to the OS (glibc), so that the next
    model's resident-memory baseline does not include the last one's leftovers."""
    gc.collect()
    libc = ctypes.util.find_library("c")
    if libc:
        trim = getattr(ctypes.CDLL(libc), "malloc_trim", None)
        if trim is not None:
            trim(0)


class RssPeak:
    """Samples resident memory in a thread while in use; ``peak`` is the highest seen."""

    def __init__(self, interval_s: float = 0.002) -> None:
        self.interval_s, self.peak = interval_s, rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.peak = max(self.peak, rss_mb())

    def __enter__(self) -> RssPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


@dataclass
class LoadedModel:
    """A model on its device in its precision, and how it got there."""

    spec: ModelSpec
    module: Any  # a torch.nn.Module (torch is imported only when measuring)
    device: str
    precision: str
    load_time_ms: float
    parameters: int
    weights: str  # "pretrained (local cache)" or "random initialisation"
    weights_reason: str | None
    baseline_rss_mb: float


@dataclass
class Measurement:
    latencies_ms: list[float]
    memory_peak_mb: float | None
    extra: dict = field(default_factory=dict)


def synchronize(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize(device)
    elif device == "mps":
        torch.mps.synchronize()


def load(spec: ModelSpec, hardware: Platform, precision: str) -> LoadedModel:
    """Build the model (pretrained from the local cache, else randomly initialised) and move
    it to the device in the given precision; raises on an unsupported precision."""
    import torch
    import transformers

    dtype = getattr(torch, DTYPES[precision])
    device = hardware.torch_device
    if device is None:
        raise RuntimeError(f"{hardware.hardware_type} cannot be measured here: {hardware.reason}")
    if device.startswith("cuda") and precision == "bf16" and not torch.cuda.is_bf16_supported():
        raise RuntimeError(f"{hardware.device_name} does not support bfloat16")
    release_memory()
    baseline = rss_mb()
    started = time.perf_counter()
    try:
        module = transformers.AutoModel.from_pretrained(spec.name, local_files_only=True)
        weights, reason = "pretrained (local cache)", None
    except (OSError, ValueError) as exc:
        reason = f"pretrained weights not in the local cache: {str(exc).splitlines()[0][:200]}"
        started = time.perf_counter()  # the failed lookup is not part of loading
        config = getattr(transformers, spec.config_class)(**spec.config)
        torch.manual_seed(0)
        module = transformers.AutoModel.from_config(config)
        weights = "random initialisation"
    module = module.to(device=device, dtype=dtype).eval()
    synchronize(device)
    load_ms = (time.perf_counter() - started) * 1000
    parameters = sum(p.numel() for p in module.parameters())
    return LoadedModel(spec, module, device, precision, load_ms, parameters, weights, reason, baseline)


def inputs(model: LoadedModel, batch_size: int, sequence_length: int) -> dict:
    """Deterministic inputs of the model's modality (token ids, pixels or mel features)."""
    import torch

    spec, config = model.spec, model.module.config
    generator = torch.Generator().manual_seed(batch_size * 1000 + sequence_length)
    dtype = next(model.module.parameters()).dtype
    if spec.modality == "vision":
        pixels = torch.randn(batch_size, 3, VISION_SIZE, VISION_SIZE, generator=generator)
        batch = {"pixel_values": pixels.to(dtype)}
    elif spec.modality == "audio":
        features = torch.randn(batch_size, config.num_mel_bins, AUDIO_FRAMES, generator=generator)
        batch = {"input_features": features.to(dtype)}
    else:
        ids = torch.randint(0, config.vocab_size, (batch_size, sequence_length), generator=generator)
        batch = {"input_ids": ids}
    if spec.decoder_inputs:
        batch["decoder_input_ids"] = torch.randint(
            0, config.vocab_size, (batch_size, sequence_length), generator=generator
        )
    return {name: tensor.to(model.device) for name, tensor in batch.items()}


def measure(
    model: LoadedModel,
    batch_size: int,
    sequence_length: int,
    iterations: int,
    warmup: int,
    tick: Callable[[], None] = lambda: None,
) -> Measurement:
    """Run warm-up then timed iterations; ``tick`` is called after each (for progress)."""
    import torch

    device = model.device
    feed = inputs(model, batch_size, sequence_length)
    gpu = device.startswith("cuda")
    if gpu:
        torch.cuda.reset_peak_memory_stats(device)
    latencies: list[float] = []
    with torch.inference_mode(), RssPeak() as rss:
        for _ in range(warmup):
            model.module(**feed)
            synchronize(device)
            tick()
        for _ in range(iterations):
            started = time.perf_counter()
            model.module(**feed)
            synchronize(device)
            latencies.append((time.perf_counter() - started) * 1000)
            tick()
    if gpu:
        peak = torch.cuda.max_memory_allocated(device) / 2**20
    elif device == "cpu":
        peak = max(rss.peak - model.baseline_rss_mb, 0.0)
    else:
        peak = None  # MPS has no allocator peak to read
    return Measurement(latencies, peak, {"cpu_rss_peak_mb": round(rss.peak, 1)})


def throughput(batch_size: int, latencies_ms: list[float]) -> float:
    """Items per second over the timed iterations."""
    return batch_size * len(latencies_ms) / (math.fsum(latencies_ms) / 1000)
