"""The Dagster layer: assets, checks, sensors, jobs and resources, each a thin call into
the domain packages. Assembled by ``benchdb_pipeline.definitions``."""
