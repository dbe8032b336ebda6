"""Format adapters, tried in order; the first whose structure matches reads the file."""

from __future__ import annotations

from benchdb_pipeline.ingest.formats.base import Adapter, Source
from benchdb_pipeline.ingest.formats.benchmark_summary import BenchmarkSummary
from benchdb_pipeline.ingest.formats.canonical import Document, RowList
from benchdb_pipeline.ingest.formats.compat_matrix import CompatibilityMatrix
from benchdb_pipeline.ingest.formats.compat_report import CompatibilityReport
from benchdb_pipeline.ingest.formats.critical_tests import CriticalModelTests
from benchdb_pipeline.ingest.formats.direct_benchmark import DirectBenchmark
from benchdb_pipeline.ingest.formats.google_benchmark import GoogleBenchmark
from benchdb_pipeline.ingest.formats.hardware_detection import HardwareDetection
from benchdb_pipeline.ingest.formats.hyperfine import Hyperfine
from benchdb_pipeline.ingest.formats.model_benchmarks import ModelBenchmarks
from benchdb_pipeline.ingest.formats.pytest_benchmark import PytestBenchmark
from benchdb_pipeline.ingest.formats.skill_test import SkillTest
from benchdb_pipeline.ingest.formats.web_platform import WebPlatformResult

# Most specific structures first; the canonical forms last.
ADAPTERS: tuple[Adapter, ...] = (
    PytestBenchmark(),
    GoogleBenchmark(),
    Hyperfine(),
    CriticalModelTests(),
    CompatibilityMatrix(),
    BenchmarkSummary(),
    DirectBenchmark(),
    ModelBenchmarks(),
    WebPlatformResult(),
    SkillTest(),
    Document(),
    CompatibilityReport(),
    HardwareDetection(),
    RowList(),
)


# The ledger categories of files: what ``benchdb ingest --categories`` chooses from.
CATEGORIES: tuple[str, ...] = tuple(sorted({adapter.category for adapter in ADAPTERS}))


def detect(doc: object) -> Adapter | None:
    """The adapter for a parsed document, judged by its structure alone."""
    for adapter in ADAPTERS:
        if adapter.matches(doc):
            return adapter
    return None


__all__ = ["ADAPTERS", "CATEGORIES", "Adapter", "Source", "detect"]
