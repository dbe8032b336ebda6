"""The benchmark runner as an asset: measure, then write the result file beside the
warehouse under ``runs/`` (as `benchdb run` does), outside the watched incoming folder, so no
sensor run follows; in benchmark_job ``raw_result_files`` lists exactly that file.

The file is the only link: ingestion does not depend on the runner (materializing it never
asks for a measurement), so the order in benchmark_job comes from the runner's priority, which
the in-process executor honours. It is not in the warehouse pool: it writes a file, not the
database.
"""

import dagster as dg
from pydantic import Field

from benchdb_pipeline.defs.ingestion import RESULT_FILE
from benchdb_pipeline.defs.resources import WarehouseResource
from benchdb_pipeline.ingest.normalize import percentile
from benchdb_pipeline.reports.render import render


class BenchmarkConfig(dg.Config):
    """What to measure (the same choices as `benchdb run`)."""

    models: list[str] = Field(default_factory=list, description="Model names or aliases.")
    models_set: str | None = Field(default=None, description="A named set instead: small or key.")
    hardware: list[str] = Field(
        default_factory=lambda: ["cpu"], description="cpu, cuda, rocm, mps, openvino."
    )
    batch_sizes: list[int] = Field(default_factory=lambda: [1, 2, 4, 8])
    precisions: list[str] = Field(default_factory=lambda: ["fp32"], description="fp32, fp16, bf16.")
    iterations: int = Field(default=20, description="Timed iterations per configuration.")
    warmup: int = Field(default=3, description="Warm-up iterations per configuration.")
    sequence_length: int = Field(default=128, description="Tokens per input of text models.")


# Higher than every other step of its job (the default is 0): measured before files are listed.
RUNS_FIRST = {"dagster/priority": "1"}


@dg.asset(group_name="raw_files", kinds={"pytorch"}, op_tags=RUNS_FIRST)
def benchmark_results(
    context: dg.AssetExecutionContext, config: BenchmarkConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Real measurements of the configured models on this machine, as one result file."""
    from benchdb_pipeline.runner.run import Runner, RunnerUnavailable, make_plan, runs_dir, write

    try:
        plan = make_plan(
            config.models,
            config.models_set,
            config.hardware,
            config.batch_sizes,
            config.precisions,
            config.iterations,
            config.warmup,
            config.sequence_length,
        )
        outcome = Runner(plan).run()
    except (ValueError, RunnerUnavailable) as exc:
        raise dg.Failure(str(exc)) from None
    path = write(outcome.document, runs_dir(warehouse.address))
    for reason in outcome.not_measured:
        context.log.warning("not measured: %s", reason)
    context.log.info("measured %d configurations into %s", outcome.measured, path)
    rows = [
        (
            r["model_name"],
            r["hardware_type"],
            r["precision"],
            r["batch_size"],
            round(percentile(sorted(r["latencies_ms"]), 0.5), 3),
            round(r["throughput_items_per_second"], 2),
        )
        for r in outcome.document["performance_results"]
    ]
    return dg.MaterializeResult(
        metadata={
            RESULT_FILE: dg.MetadataValue.path(str(path)),
            "configurations measured": outcome.measured,
            "not measured": len(outcome.not_measured),
            "results": dg.MetadataValue.md(
                render(["model", "hardware", "precision", "batch", "median ms", "items/s"], rows, "markdown")
                if rows
                else "_nothing measured_"
            ),
        }
    )
