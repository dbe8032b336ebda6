"""The models the runner can build, and named sets of them.

Each model is built from its architecture configuration, sized as the named checkpoint.
Pretrained weights are used when they are in the local Hugging Face cache; otherwise the
weights are randomly initialised (there is no network here), which the run records: speed
depends on the architecture, not on the values of the weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ModelSpec:
    """A checkpoint's architecture: its transformers config class and the sizes that differ
    from that class's defaults, and what its inputs look like."""

    name: str
    family: str
    modality: str  # text | vision | audio
    config_class: str
    config: dict = field(default_factory=dict)
    decoder_inputs: bool = False  # encoder-decoder: needs decoder_input_ids


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            "prajjwal1/bert-tiny",
            "bert",
            "text",
            "BertConfig",
            {"hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 512},
        ),
        ModelSpec("bert-base-uncased", "bert", "text", "BertConfig"),
        ModelSpec("distilbert-base-uncased", "distilbert", "text", "DistilBertConfig"),
        ModelSpec("gpt2", "gpt2", "text", "GPT2Config"),
        ModelSpec("t5-small", "t5", "text", "T5Config", decoder_inputs=True),
        ModelSpec("google/vit-base-patch16-224", "vit", "vision", "ViTConfig"),
        ModelSpec(
            "openai/whisper-tiny",
            "whisper",
            "audio",
            "WhisperConfig",
            {
                "d_model": 384,
                "encoder_layers": 4,
                "decoder_layers": 4,
                "encoder_attention_heads": 6,
                "decoder_attention_heads": 6,
                "encoder_ffn_dim": 1536,
                "decoder_ffn_dim": 1536,
                "num_mel_bins": 80,
            },
            decoder_inputs=True,
        ),
    )
}

# Short names people use for the same checkpoints.
ALIASES = {
    "bert-tiny": "prajjwal1/bert-tiny",
    "vit-base": "google/vit-base-patch16-224",
    "whisper-tiny": "openai/whisper-tiny",
    "distilbert": "distilbert-base-uncased",
}

MODEL_SETS: dict[str, tuple[str, ...]] = {
    "small": ("prajjwal1/bert-tiny", "t5-small", "openai/whisper-tiny"),
    "key": ("bert-base-uncased", "t5-small", "gpt2", "google/vit-base-patch16-224", "openai/whisper-tiny"),
}


def resolve(names: list[str]) -> list[ModelSpec]:
    """The specs for model names or aliases; unknown names raise with the known ones."""
    specs = []
    for name in names:
        key = ALIASES.get(name.strip().lower(), name.strip().lower())
        if key not in MODELS:
            known = ", ".join([*MODELS, *ALIASES])
            raise ValueError(f"unknown model {name!r} (known: {known})")
        specs.append(MODELS[key])
    return specs
