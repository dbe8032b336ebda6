"""Hardware detection documents: what a machine has, without a benchmark.

``{"cuda": true, "cuda_devices": [{"name", "total_memory", "compute_capability"}],
"cuda_driver_version", "rocm": false, "rocm_error", "rocm_devices": […], "mps": false,
"openvino": true, "openvino_version", "webnn": …, "webgpu": …, "system": {"platform",
"cpu_info", "memory_total"}}``. Each detected device (and the host CPU where ``system``
describes it) becomes a hardware platform; hardware found missing is kept in the run's
metadata (``unavailable``: type → the error given, or null).

Memory sizes are bytes when at least 1 MiB, otherwise GB (detection scripts write either
``total_memory`` as PyTorch reports it, in bytes, or divided down to GB; no device has less
than a mebibyte or more than a pebibyte, so the magnitude tells them apart).
"""

from __future__ import annotations

from collections.abc import Mapping

from benchdb_pipeline.ingest.formats.base import Adapter, Source, is_number, mapping_at, run_record
from benchdb_pipeline.ingest.normalize import Extraction, Problem

_DEVICE_LISTS = {"cuda": "cuda_driver_version", "rocm": "rocm_version"}
_FLAGS = ("cuda", "rocm", "mps", "openvino", "webnn", "webgpu", "qnn")
_MODEL = ("model", "model_name", "model_id")
_MIB = 1 << 20


def _gigabytes(value: object) -> object:
    """A memory size in GB (see the module's note); anything but a number is left for the
    rules to refuse."""
    if is_number(value):
        return value / (1 << 30) if value >= _MIB else value
    return value


def _cpu_name(info: object) -> object:
    """``cpu_info`` is the CPU's name, or py-cpuinfo's dictionary holding it."""
    if isinstance(info, Mapping):
        return info.get("brand_raw") or info.get("brand")
    return info


class HardwareDetection(Adapter):
    name = "hardware_detection"
    shape = '{"cuda": true, "cuda_devices": [{"name", "total_memory"}], "system": {...}}'
    category = "hardware"

    def matches(self, doc: object) -> bool:
        if not isinstance(doc, Mapping) or any(key in doc for key in _MODEL):
            return False
        if any(isinstance(doc.get(f"{hw}_devices"), list) for hw in _DEVICE_LISTS):
            return True
        return isinstance(doc.get("system"), Mapping) and any(isinstance(doc.get(f), bool) for f in _FLAGS)

    def extract(self, doc: Mapping, out: Extraction, source: Source) -> None:
        when = doc.get("timestamp")
        system = mapping_at(doc, "system")
        host = {"platform": system.get("platform"), "host_name": system.get("hostname"), "timestamp": when}
        unavailable = {hw: doc.get(f"{hw}_error") for hw in _FLAGS if doc.get(hw) is False}
        run = out.add_run(
            run_record(
                source,
                "hardware_detection",
                doc,
                started_at=when,
                metadata={"unavailable": unavailable} if unavailable else None,
            )
        )
        listed = set()
        for hw, driver_key in _DEVICE_LISTS.items():
            devices = doc.get(f"{hw}_devices")
            if doc.get(hw) is False or not isinstance(devices, list):
                continue
            listed.add(hw)
            for index, device in enumerate(devices):
                at = f"$.{hw}_devices[{index}]"
                if not isinstance(device, Mapping):
                    out.problems.append(Problem(at, None, "expected a device object"))
                    continue
                described = {k: v for k, v in device.items() if k not in ("name", "total_memory")}
                out.add(
                    "hardware",
                    {
                        **host,
                        "hardware_type": hw,
                        "device_name": device.get("name"),
                        "memory_gb": _gigabytes(device.get("total_memory")),
                        "driver_version": doc.get(driver_key),
                        **described,
                    },
                    at,
                    run=run,
                )
        for hw in _FLAGS:
            if doc.get(hw) is True and hw not in listed:
                version = doc.get(f"{hw}_version")
                out.add(
                    "hardware", {**host, "hardware_type": hw, "driver_version": version}, f"$.{hw}", run=run
                )
        if system:
            cpu = {
                k: v
                for k, v in system.items()
                if k not in ("platform", "hostname", "cpu_info", "memory_total")
            }
            out.add(
                "hardware",
                {
                    **host,
                    "hardware_type": "cpu",
                    "device_name": _cpu_name(system.get("cpu_info")),
                    "memory_gb": _gigabytes(system.get("memory_total")),
                    **cpu,
                },
                "$.system",
                run=run,
            )
