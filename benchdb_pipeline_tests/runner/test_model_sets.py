"""The runner's models are sized as the checkpoints they are named after."""

from __future__ import annotations

import pytest

from benchdb_pipeline.runner.model_sets import MODEL_SETS, MODELS, resolve
from benchdb_pipeline_tests.conftest import RUNNER_MISSING

torch = pytest.importorskip("torch", reason=RUNNER_MISSING)
transformers = pytest.importorskip(
    "transformers",
    reason=RUNNER_MISSING,
)

# Parameter counts of the published checkpoints' base models (millions, to 0.1 M).
CHECKPOINT_PARAMETERS_M = {
    "prajjwal1/bert-tiny": 4.4,
    "bert-base-uncased": 109.5,
    "distilbert-base-uncased": 66.4,
    "gpt2": 124.4,
    "t5-small": 60.5,
    "google/vit-base-patch16-224": 86.4,
    "openai/whisper-tiny": 37.8,
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_architectures_have_the_checkpoints_sizes(name):
    spec = MODELS[name]
    config = getattr(transformers, spec.config_class)(**spec.config)
    with torch.device("meta"):  # shapes only: no memory, no initialisation cost
        model = transformers.AutoModel.from_config(config)
    parameters = sum(p.numel() for p in model.parameters()) / 1e6
    assert parameters == pytest.approx(CHECKPOINT_PARAMETERS_M[name], abs=0.6)


def test_names_aliases_and_sets_resolve():
    assert [s.name for s in resolve(["vit-base", "BERT-Base-Uncased", "t5-small"])] == [
        "google/vit-base-patch16-224",
        "bert-base-uncased",
        "t5-small",
    ]
    for names in MODEL_SETS.values():
        assert resolve(list(names))
    with pytest.raises(ValueError, match="unknown model 'bert-huge'.*known: prajjwal1/bert-tiny"):
        resolve(["bert-huge"])
