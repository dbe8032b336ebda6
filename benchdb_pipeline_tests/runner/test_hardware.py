"""Hardware detection reports what is here, and why the rest is not."""

from __future__ import annotations

import os

import pytest

from benchdb_pipeline.runner.hardware import PLATFORMS, detect
from benchdb_pipeline_tests.conftest import RUNNER_MISSING

torch = pytest.importorskip("torch", reason=RUNNER_MISSING)


def test_the_cpu_is_always_there_with_its_name_and_cores():
    cpu = detect(["cpu"])["cpu"]
    assert cpu.available and cpu.measurable and cpu.torch_device == "cpu"
    assert cpu.compute_units == os.cpu_count()
    assert cpu.device_name and cpu.memory_gb > 0


def test_every_platform_is_either_usable_or_has_a_reason():
    found = detect()
    assert set(found) == set(PLATFORMS)
    for platform in found.values():
        assert platform.measurable or platform.reason, platform
        if platform.measurable:
            assert platform.torch_device and platform.device_name


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_cuda_without_a_device_says_why():
    cuda = detect(["cuda"])["cuda"]
    assert not cuda.available and ("without CUDA" in cuda.reason or "no CUDA device" in cuda.reason)


def test_unknown_hardware_is_refused():
    with pytest.raises(ValueError, match="unknown hardware tpu"):
        detect(["tpu"])
