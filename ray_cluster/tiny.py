"""Tiny random-weight SD 1.5-class and SDXL-class pipelines, built offline for tests and the demo.

Their images are noise: they exist so that the code path a real model takes (``from_pretrained``
on a saved folder, LoRA training, batched generation) runs in seconds on a CPU.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from diffusers import (
    AutoencoderKL,
    DDIMScheduler,
    EulerDiscreteScheduler,
    StableDiffusionPipeline,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

TINY_SD = "tiny-sd"
TINY_SDXL = "tiny-sdxl"
TINY_MODELS = (TINY_SD, TINY_SDXL)
# A few thousand merges cover ordinary English words; the full CLIP list (48,894) would
# make the tiny text encoder's embedding table dominate the model's size.
TINY_MERGES = 4000
_BUILD_VERSION = "1"


def _bytes_to_unicode() -> dict[int, str]:
    """CLIP's reversible byte-to-printable-character map (from openai/CLIP simple_tokenizer.py)."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    codes = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in codes), strict=True))


def _bpe_file() -> Path:
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("open-clip-torch is needed (installed with --no-deps) for its BPE vocabulary")
    return Path(next(iter(spec.submodule_search_locations))) / "bpe_simple_vocab_16e6.txt.gz"


def write_clip_tokenizer(folder: Path, merges_count: int = TINY_MERGES) -> int:
    """Write vocab.json/merges.txt/tokenizer config of truncated CLIP BPE; return vocab size."""
    with gzip.open(_bpe_file(), "rt", encoding="utf-8") as bpe:
        lines = bpe.read().split("\n")
    merges = [tuple(line.split()) for line in lines[1 : merges_count + 1]]
    symbols = list(_bytes_to_unicode().values())
    vocab_list = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges]
    vocab_list += ["<|startoftext|>", "<|endoftext|>"]
    vocab = {token: index for index, token in enumerate(vocab_list)}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    merges_text = "#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n"
    (folder / "merges.txt").write_text(merges_text, encoding="utf-8")
    config = {
        "tokenizer_class": "CLIPTokenizer",
        "model_max_length": 77,
        "bos_token": "<|startoftext|>",
        "eos_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>",
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return len(vocab)


def _load_tokenizer(folder: Path) -> Any:
    # transformers 5 ignores vocab_file/merges_file arguments; from_pretrained reads the folder.
    return CLIPTokenizer.from_pretrained(str(folder), model_max_length=77)


def _text_config(vocab_size: int, tokenizer: Any, projection_dim: int = 32) -> Any:
    return CLIPTextConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=37,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=77,
        projection_dim=projection_dim,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )


def _vae() -> Any:
    return AutoencoderKL(
        block_out_channels=(32, 64),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        sample_size=64,
    )


def build_tiny_pipeline(name: str, seed: int = 0) -> Any:
    """Build a tiny pipeline with seeded random weights (shaped like diffusers' test dummies)."""
    if name not in TINY_MODELS:
        raise ValueError(f"unknown tiny model {name!r}; choose one of {', '.join(TINY_MODELS)}")
    with tempfile.TemporaryDirectory() as scratch:
        size = write_clip_tokenizer(Path(scratch))
        tokenizer = _load_tokenizer(Path(scratch))
    torch.manual_seed(seed)
    config = _text_config(size, tokenizer)
    common: dict[str, Any] = {
        "block_out_channels": (32, 64),
        "layers_per_block": 1,
        "sample_size": 32,
        "in_channels": 4,
        "out_channels": 4,
        "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D"),
        "up_block_types": ("CrossAttnUpBlock2D", "UpBlock2D"),
    }
    if name == TINY_SD:
        unet = UNet2DConditionModel(**common, cross_attention_dim=32, attention_head_dim=8)
        scheduler = DDIMScheduler(
            beta_start=0.00085,
            beta_end=0.012,
            beta_schedule="scaled_linear",
            clip_sample=False,
            set_alpha_to_one=False,
            steps_offset=1,
        )
        return StableDiffusionPipeline(
            vae=_vae(),
            text_encoder=CLIPTextModel(config),
            tokenizer=tokenizer,
            unet=unet,
            scheduler=scheduler,
            safety_checker=None,
            feature_extractor=None,
            requires_safety_checker=False,
        )
    # SDXL conditions on both encoders' hidden states (32 + 32) and on pooled text + 6 size ids.
    unet = UNet2DConditionModel(
        **common,
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        transformer_layers_per_block=(1, 1),
        projection_class_embeddings_input_dim=8 * 6 + 32,
        cross_attention_dim=64,
    )
    xl_scheduler = EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        steps_offset=1,
        beta_schedule="scaled_linear",
        timestep_spacing="leading",
    )
    return StableDiffusionXLPipeline(
        vae=_vae(),
        text_encoder=CLIPTextModel(config),
        text_encoder_2=CLIPTextModelWithProjection(config),
        tokenizer=tokenizer,
        tokenizer_2=tokenizer,
        unet=unet,
        scheduler=xl_scheduler,
    )


def ensure_tiny_model(name: str, models_dir: Path) -> Path:
    """Return the folder of a saved tiny model, building it once; safe when processes race."""
    target = Path(models_dir) / f"{name}-v{_BUILD_VERSION}"
    if (target / "model_index.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        build_tiny_pipeline(name).save_pretrained(str(scratch), safe_serialization=True)
        try:
            # rename is atomic on one filesystem: a racing builder either wins or finds ours.
            os.rename(scratch, target)
        except OSError:
            if not (target / "model_index.json").is_file():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target
