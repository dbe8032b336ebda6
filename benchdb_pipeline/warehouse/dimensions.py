"""The dimensions' attribute columns besides key, metadata and fingerprint: what ingestion
stages for them, the store merges (the smallest non-null value wins), the identity
migration copies and the ORM accepts."""

from __future__ import annotations

MODEL_ATTRIBUTES = ("display_name", "model_family", "modality", "source", "version", "parameters_million")
HARDWARE_ATTRIBUTES = (
    "hardware_type",
    "device_name",
    "platform",
    "platform_version",
    "driver_version",
    "memory_gb",
    "compute_units",
    "accelerator_count",
    "host_name",
)
