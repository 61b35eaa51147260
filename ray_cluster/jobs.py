"""What a Ray worker is handed for one job: keys, prompts and seeds, held in memory only.

Plain dataclasses so that the same types travel to a bare GPU machine (no Prefect, no pydantic).
``repr`` hides storage options (credentials) and prompts so that nothing personal is logged
if Ray prints a failed call's arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StorageSpec:
    """Where the worker reads crops and writes weights and headshots (fsspec URL and options)."""

    url: str
    options: dict[str, Any] = field(default_factory=dict, repr=False)
    data_key: bytes | None = field(default=None, repr=False)
    # The customer's fence object: checked before every write (see headpix.sealing).
    fence: str | None = field(default=None, repr=False)


STEPS_PER_PHOTO = 100  # 10 photos -> 1000 steps, inside the blog's 800-1200 range for faces
MIN_STEPS, MAX_STEPS = 400, 1200
CLASS_IMAGES = 100  # the DreamBooth README uses 100-200 class images per class


def default_steps(photo_count: int) -> int:
    """Training steps scaled by the number of photos, clamped to the range faces need."""
    return max(MIN_STEPS, min(MAX_STEPS, STEPS_PER_PHOTO * max(photo_count, 1)))


@dataclass(frozen=True)
class TrainRecipe:
    """LoRA DreamBooth recipe; defaults are chosen in ray_cluster.training."""

    steps: int
    rank: int = 16
    learning_rate: float = 1e-4
    resolution: int = 512
    batch_size: int = 1
    seed: int = 0
    prior_preservation: bool = False
    prior_loss_weight: float = 1.0
    gradient_checkpointing: bool = False
    mixed_precision: str = "no"  # "no" | "bf16" | "fp16"


@dataclass(frozen=True)
class TrainJob:
    job_id: str
    storage: StorageSpec
    crop_keys: tuple[str, ...] = field(repr=False)
    identity_prompt: str = field(repr=False)
    class_prompt: str = field(repr=False)
    output_key: str = field(repr=False)
    recipe: TrainRecipe = field(default_factory=lambda: TrainRecipe(steps=100))


@dataclass
class TrainResult:
    job_id: str
    steps: int
    losses: list[float]
    seconds: float
    base_model_loads: int
    actor_name: str = ""
    node_id: str = ""  # the Ray node that ran the job (operators see placement by id)


@dataclass(frozen=True)
class RenderRequest:
    headshot_id: str
    style: str
    prompt: str = field(repr=False)
    negative_prompt: str = field(repr=False)
    seed: int
    output_key: str = field(repr=False)


@dataclass(frozen=True)
class LikenessPolicy:
    """When a headshot is rendered again: likeness (0-1) under threshold, at most rerenders times."""

    threshold: float = 0.5
    rerenders: int = 0  # 0: score only (the tiny random-weight model renders no faces)


@dataclass(frozen=True)
class GenerateJob:
    job_id: str
    storage: StorageSpec
    lora_key: str = field(repr=False)
    renders: tuple[RenderRequest, ...] = field(repr=False)
    inference_steps: int = 0  # 0: family default
    guidance_scale: float = 7.0
    batch_size: int = 4
    # The shoot's reference face (biometric): in memory for the job, never logged or stored.
    reference_template: bytes | None = field(default=None, repr=False)
    likeness: LikenessPolicy = field(default_factory=LikenessPolicy)


@dataclass
class GenerateResult:
    job_id: str
    headshot_ids: list[str]
    seconds: float
    base_model_loads: int
    actor_name: str = ""
    # Per headshot, in headshot_ids order: the seed of the render kept and its likeness (0-1).
    seeds: list[int] = field(default_factory=list)
    likeness: list[float | None] = field(default_factory=list)
    renders: int = 0  # images rendered, re-renders included
    node_id: str = ""  # the Ray node that ran the job (operators see placement by id)
