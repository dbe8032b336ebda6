"""What hardware this machine has, as the runner can use it through PyTorch.

A requested platform that is not here is reported with the reason, never measured as
something else. OpenVINO is detected when importable, but the runner measures PyTorch
devices only, and says so.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
import subprocess
from dataclasses import asdict, dataclass, field

PLATFORMS = ("cpu", "cuda", "rocm", "mps", "openvino")


@dataclass
class Platform:
    """One hardware platform as found on this machine."""

    hardware_type: str
    available: bool
    measurable: bool = False
    torch_device: str | None = None
    device_name: str | None = None
    memory_gb: float | None = None
    compute_units: int | None = None
    platform: str | None = None
    platform_version: str | None = None
    driver_version: str | None = None
    reason: str | None = None  # why it is not available or not measurable
    details: dict = field(default_factory=dict)

    def record(self) -> dict:
        """The hardware fields of a result record."""
        fields = (
            "hardware_type",
            "device_name",
            "memory_gb",
            "compute_units",
            "platform",
            "platform_version",
            "driver_version",
        )
        return {key: value for key, value in asdict(self).items() if key in fields}


def _cpu_name() -> str | None:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _memory_gb() -> float | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 2)
    except (ValueError, OSError, AttributeError):
        return None


def _nvidia_driver() -> str | None:
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return out.strip().splitlines()[0] if out.strip() else None


def cpu() -> Platform:
    return Platform(
        "cpu",
        True,
        True,
        "cpu",
        _cpu_name(),
        _memory_gb(),
        os.cpu_count(),
        platform.system(),
        platform.release(),
        details={"machine": platform.machine()},
    )


def _gpu(kind: str) -> Platform:
    import torch

    hip = getattr(torch.version, "hip", None)
    wanted_hip = kind == "rocm"
    if not torch.cuda.is_available() or bool(hip) != wanted_hip:
        built = hip if wanted_hip else torch.version.cuda
        reason = (
            f"PyTorch {torch.__version__} was built without {'ROCm' if wanted_hip else 'CUDA'}"
            if not built
            else f"no {'ROCm' if wanted_hip else 'CUDA'} device is visible"
        )
        return Platform(kind, False, reason=reason)
    props = torch.cuda.get_device_properties(0)
    version = f"ROCm {hip}" if wanted_hip else f"CUDA {torch.version.cuda}"
    return Platform(
        kind,
        True,
        True,
        "cuda:0",
        props.name,
        round(props.total_memory / 2**30, 2),
        props.multi_processor_count,
        platform.system(),
        version,
        None if wanted_hip else _nvidia_driver(),
        details={
            "capability": ".".join(map(str, torch.cuda.get_device_capability(0))),
            "device_count": torch.cuda.device_count(),
            "bf16_supported": torch.cuda.is_bf16_supported(),
        },
    )


def _mps() -> Platform:
    import torch

    if not torch.backends.mps.is_available():
        return Platform("mps", False, reason="Apple's Metal (MPS) backend is not available")
    return Platform(
        "mps",
        True,
        True,
        "mps",
        "Apple GPU (MPS)",
        platform=platform.system(),
        platform_version=platform.mac_ver()[0] or None,
    )


def _openvino() -> Platform:
    if importlib.util.find_spec("openvino") is None:
        return Platform("openvino", False, reason="the openvino package is not installed")
    return Platform(
        "openvino", True, False, reason="OpenVINO is installed, but the runner measures PyTorch devices only"
    )


DETECTORS = {
    "cpu": cpu,
    "cuda": lambda: _gpu("cuda"),
    "rocm": lambda: _gpu("rocm"),
    "mps": _mps,
    "openvino": _openvino,
}


def detect(kinds: list[str] | tuple[str, ...] = PLATFORMS) -> dict[str, Platform]:
    """The named platforms as found here (unknown names raise ValueError)."""
    unknown = [k for k in kinds if k not in DETECTORS]
    if unknown:
        raise ValueError(f"unknown hardware {', '.join(unknown)} (known: {', '.join(PLATFORMS)})")
    return {kind: DETECTORS[kind]() for kind in kinds}
