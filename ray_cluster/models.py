"""Base-model resolution and loading: the pipeline family comes from the model's own config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from ray_cluster.tiny import TINY_MODELS, ensure_tiny_model

SD_CLASS = "StableDiffusionPipeline"
SDXL_CLASS = "StableDiffusionXLPipeline"
FAMILIES = (SD_CLASS, SDXL_CLASS)


class BaseModelError(RuntimeError):
    """The configured base model cannot be found or is not a supported family."""


def resolve_base_model(base_model: str, models_dir: Path, offline: bool) -> str:
    """Turn HEADPIX_BASE_MODEL (tiny name, folder or hub id) for from_pretrained."""
    if base_model in TINY_MODELS:
        return str(ensure_tiny_model(base_model, models_dir))
    folder = Path(base_model).expanduser()
    if folder.is_dir():
        if not (folder / "model_index.json").is_file():
            raise BaseModelError(
                f"HEADPIX_BASE_MODEL={base_model} is a folder without model_index.json; "
                "point it at a diffusers pipeline folder (save_pretrained output)"
            )
        return str(folder.resolve())
    if base_model.startswith(("/", ".", "~")):
        raise BaseModelError(f"HEADPIX_BASE_MODEL={base_model}: no such folder")
    return base_model  # a hub id; the hub cache (or a download when online) resolves it


def _model_index(source: str, offline: bool) -> dict[str, Any]:
    folder = Path(source)
    if folder.is_dir():
        return dict(json.loads((folder / "model_index.json").read_text(encoding="utf-8")))
    from huggingface_hub import hf_hub_download

    try:
        path = hf_hub_download(source, "model_index.json", local_files_only=offline)
    except Exception as error:  # the hub raises several types; the message is what matters
        hint = " (HEADPIX_OFFLINE=true: only the local hub cache is searched)" if offline else ""
        raise BaseModelError(
            f"HEADPIX_BASE_MODEL={source}: model not found{hint}; set it to tiny-sd, tiny-sdxl, "
            f"a local diffusers folder or a cached hub id ({type(error).__name__})"
        ) from None
    return dict(json.loads(Path(path).read_text(encoding="utf-8")))


def pipeline_family(source: str, offline: bool) -> str:
    """SD 1.5-class or SDXL-class, read from model_index.json's _class_name."""
    name = str(_model_index(source, offline).get("_class_name", ""))
    if name not in FAMILIES:
        raise BaseModelError(
            f"HEADPIX_BASE_MODEL={source} is a {name or 'unknown'} pipeline; supported: {', '.join(FAMILIES)}"
        )
    return name


def pick_device_dtype() -> tuple[str, torch.dtype]:
    """GPU weights in bf16 (fp16 where bf16 is unsupported); fp32 on CPU, where half is slow."""
    if torch.cuda.is_available():
        return "cuda", torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return "cpu", torch.float32


def load_pipeline(
    base_model: str,
    models_dir: Path,
    offline: bool,
    *,
    device: str | None = None,
    dtype: torch.dtype | None = None,
) -> Any:
    """Load the base pipeline (SD or SDXL class) once, frozen, on the chosen device."""
    from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline

    source = resolve_base_model(base_model, models_dir, offline)
    family = pipeline_family(source, offline)
    default_device, default_dtype = pick_device_dtype()
    device, dtype = device or default_device, dtype or default_dtype
    cls = StableDiffusionXLPipeline if family == SDXL_CLASS else StableDiffusionPipeline
    kwargs: dict[str, Any] = {"dtype": dtype, "local_files_only": offline}
    if family == SD_CLASS:
        # Headshots of consenting customers; the checker is an extra download and a second model.
        kwargs.update(safety_checker=None, requires_safety_checker=False)
    try:
        pipe = cls.from_pretrained(source, **kwargs)
    except OSError as error:
        raise BaseModelError(f"HEADPIX_BASE_MODEL={base_model}: cannot load ({error})") from None
    pipe.set_progress_bar_config(disable=True)
    for name in ("unet", "vae", "text_encoder", "text_encoder_2"):
        module = getattr(pipe, name, None)
        if module is not None:
            module.requires_grad_(False)
            module.eval()
    return pipe.to(device)
