"""Format adapters, tried in order; the first whose structure matches reads the file."""

from __future__ import annotations

from benchdb_pipeline.config import formats_dir
from benchdb_pipeline.ingest.formats import declared
from benchdb_pipeline.ingest.formats.asv import ASVResults, ASVSupport
from benchdb_pipeline.ingest.formats.base import Adapter, Source, TextAdapter
from benchdb_pipeline.ingest.formats.benchmark_summary import BenchmarkSummary
from benchdb_pipeline.ingest.formats.benchmarkdotnet import BenchmarkDotNet
from benchdb_pipeline.ingest.formats.bmf import BencherMetricFormat
from benchdb_pipeline.ingest.formats.canonical import Document, RowList
from benchdb_pipeline.ingest.formats.catch2 import Catch2XML
from benchdb_pipeline.ingest.formats.compat_matrix import CompatibilityMatrix
from benchdb_pipeline.ingest.formats.compat_report import CompatibilityReport
from benchdb_pipeline.ingest.formats.critical_tests import CriticalModelTests
from benchdb_pipeline.ingest.formats.custom_json import CustomBenchmarkJSON
from benchdb_pipeline.ingest.formats.direct_benchmark import DirectBenchmark
from benchdb_pipeline.ingest.formats.go_bench import GoBench
from benchdb_pipeline.ingest.formats.google_benchmark import GoogleBenchmark
from benchdb_pipeline.ingest.formats.hardware_detection import HardwareDetection
from benchdb_pipeline.ingest.formats.hyperfine import Hyperfine
from benchdb_pipeline.ingest.formats.jmh import JMH
from benchdb_pipeline.ingest.formats.mlperf import MLPerfLog, MLPerfSummary, MLPerfSystem, MLPerfTrace
from benchdb_pipeline.ingest.formats.model_benchmarks import ModelBenchmarks
from benchdb_pipeline.ingest.formats.optimum_benchmark import OptimumBenchmark
from benchdb_pipeline.ingest.formats.pyperf import Pyperf
from benchdb_pipeline.ingest.formats.pytest_benchmark import PytestBenchmark
from benchdb_pipeline.ingest.formats.rust_bench import CargoCriterion, CargoCriterionLines, LibtestBench
from benchdb_pipeline.ingest.formats.skill_test import SkillTest
from benchdb_pipeline.ingest.formats.vitest import VitestBench
from benchdb_pipeline.ingest.formats.web_platform import WebPlatformResult

# Most specific structures first; the canonical forms last.
ADAPTERS: tuple[Adapter, ...] = (
    PytestBenchmark(),
    GoogleBenchmark(),
    Hyperfine(),
    Pyperf(),
    BenchmarkDotNet(),
    JMH(),
    CustomBenchmarkJSON(),
    MLPerfSystem(),
    MLPerfLog(),
    ASVResults(),
    ASVSupport(),
    OptimumBenchmark(),
    CargoCriterion(),
    VitestBench(),
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
    BencherMetricFormat(),  # any object of objects of {value}: last, as the loosest shape
)


# Formats written as text, tried when a file is not JSON.
TEXT_ADAPTERS: tuple[TextAdapter, ...] = (
    GoBench(),
    LibtestBench(),
    CargoCriterionLines(),
    Catch2XML(),
    MLPerfSummary(),
    MLPerfTrace(),
)
TEXT_FORMATS = ", ".join(adapter.name for adapter in TEXT_ADAPTERS)
TEXT_HEAD_BYTES = 64 * 1024  # what a folder scan reads of a text file to tell its format

# The ledger categories of files: what ``benchdb ingest --categories`` chooses from.
CATEGORIES: tuple[str, ...] = tuple(sorted({adapter.category for adapter in (*ADAPTERS, *TEXT_ADAPTERS)}))


def detect(doc: object) -> Adapter | None:
    """The adapter for a parsed document, judged by its structure alone: the declared
    mappings first (``benchdb formats add``), then the built-in formats."""
    for adapter in (*declared.current(formats_dir()), *ADAPTERS):
        if adapter.matches(doc):
            return adapter
    return None


def _text(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def detect_text(data: bytes) -> tuple[TextAdapter, object] | None:
    """The text adapter that reads ``data`` and what it read; None when none does (or the
    bytes are not UTF-8 text)."""
    text = _text(data)
    if text is None:
        return None
    for adapter in TEXT_ADAPTERS:
        doc = adapter.parse_text(text)
        if doc is not None:
            return adapter, doc
    return None


def text_format_of(head: bytes) -> str | None:
    """The text format the start of a file looks like (a cheap test, for folder scans)."""
    text = head.decode("utf-8", errors="ignore")
    return next((adapter.name for adapter in TEXT_ADAPTERS if adapter.recognises(text)), None)


__all__ = [
    "ADAPTERS",
    "CATEGORIES",
    "TEXT_ADAPTERS",
    "TEXT_FORMATS",
    "Adapter",
    "Source",
    "detect",
    "detect_text",
    "text_format_of",
]
