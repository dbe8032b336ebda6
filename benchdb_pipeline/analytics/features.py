"""The features a performance model learns from: kept apart from the model so the command
line can offer them without loading pandas and scikit-learn."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from benchdb_pipeline.errors import QueryError

if TYPE_CHECKING:
    import pandas as pd

CATEGORICAL = ("model_name", "model_family", "modality", "hardware_type", "device_name", "precision")
NUMERIC = ("parameters_million", "memory_gb", "batch_size", "sequence_length")
FEATURES = (*CATEGORICAL, *NUMERIC)


@dataclass(frozen=True)
class Features:
    """The columns a model learns from: categories one-hot encoded, numbers on a log scale."""

    categorical: tuple[str, ...]
    numeric: tuple[str, ...]

    @property
    def columns(self) -> list[str]:
        return [*self.categorical, *self.numeric]


def features_of(frame: pd.DataFrame, chosen: Sequence[str] | None = None) -> Features:
    """The chosen features (every one by default), numeric ones only where the training data
    has at least one value."""
    chosen = tuple(chosen) if chosen else FEATURES
    unknown = sorted(set(chosen) - set(FEATURES))
    if unknown:
        raise QueryError(
            f"unknown prediction features {', '.join(unknown)}; choose from {', '.join(FEATURES)}"
        )
    return Features(
        tuple(name for name in CATEGORICAL if name in chosen),
        tuple(name for name in NUMERIC if name in chosen and frame[name].notna().any()),
    )
