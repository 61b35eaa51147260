"""GPU benchmark: LoRA training steps/s and seconds per image, SD 1.5-class (512 px) and
SDXL-class (1024 px), eager and torch.compile, bf16, with model FLOP utilisation.

Real-size architectures are built from config with random weights (nothing is downloaded).
Imports only torch, diffusers, peft and transformers so it runs on a bare GPU machine.
Run: python bench/gpu.py            (CUDA; < 8 min on one H200)
     python bench/gpu.py --cpu-smoke (tiny sizes on CPU; automatic when CUDA is absent)
Per-image time counts the UNet (30 steps, classifier-free guidance) and the VAE decode;
the text encoders run once per prompt and are left out.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from peft import LoraConfig
from torch.utils.flop_counter import FlopCounterMode

PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L4": 121.0}  # dense bf16 tensor-core peaks

SD15 = {"sample_size": 64, "cross_attention_dim": 768}
SDXL = {
    "sample_size": 128,
    "block_out_channels": (320, 640, 1280),
    "layers_per_block": 2,
    "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    "up_block_types": ("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    "transformer_layers_per_block": (1, 2, 10),
    "attention_head_dim": (5, 10, 20),
    "cross_attention_dim": 2048,
    "use_linear_projection": True,
    "addition_embed_type": "text_time",
    "addition_time_embed_dim": 256,
    "projection_class_embeddings_input_dim": 2816,
}
TINY = {
    "sample_size": 32,
    "block_out_channels": (32, 64),
    "layers_per_block": 1,
    "cross_attention_dim": 32,
    "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D"),
    "up_block_types": ("CrossAttnUpBlock2D", "UpBlock2D"),
    "attention_head_dim": 8,
}
VAE_FULL = {
    "block_out_channels": (128, 256, 512, 512),
    "layers_per_block": 2,
    "down_block_types": ("DownEncoderBlock2D",) * 4,
    "up_block_types": ("UpDecoderBlock2D",) * 4,
}
VAE_TINY = {
    "block_out_channels": (32, 64),
    "down_block_types": ("DownEncoderBlock2D",) * 2,
    "up_block_types": ("UpDecoderBlock2D",) * 2,
}


def build(
    unet_config: dict[str, Any], vae_config: dict[str, Any], device: str, dtype: torch.dtype
) -> tuple[Any, Any]:
    torch.manual_seed(0)
    unet: Any = UNet2DConditionModel(**unet_config)
    vae: Any = AutoencoderKL(latent_channels=4, **vae_config)
    return unet.to(device, dtype).requires_grad_(False), vae.to(device, dtype).requires_grad_(False)


def inputs(unet: Any, batch: int, device: str, dtype: torch.dtype) -> tuple[torch.Tensor, dict[str, Any]]:
    size, dim = unet.config.sample_size, unet.config.cross_attention_dim
    latents = torch.randn(batch, 4, size, size, device=device, dtype=dtype)
    kwargs: dict[str, Any] = {
        "encoder_hidden_states": torch.randn(batch, 77, dim, device=device, dtype=dtype)
    }
    if unet.config.addition_embed_type == "text_time":
        pooled = unet.config.projection_class_embeddings_input_dim - 6 * unet.config.addition_time_embed_dim
        kwargs["added_cond_kwargs"] = {
            "text_embeds": torch.randn(batch, pooled, device=device, dtype=dtype),
            "time_ids": torch.randn(batch, 6, device=device, dtype=dtype),
        }
    return latents, kwargs


def timed(fn: Callable[[], Any], repeats: int, device: str) -> float:
    fn()  # warm-up (and compilation)
    fn()
    if device == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(repeats):
        fn()
    if device == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - started) / repeats


def flops_of(fn: Callable[[], Any]) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def bench_family(
    name: str,
    unet_config: dict[str, Any],
    vae_config: dict[str, Any],
    device: str,
    dtype: torch.dtype,
    steps: int,
    repeats: int,
    compile_modes: list[bool],
    peak: float,
) -> None:
    unet, vae = build(unet_config, vae_config, device, dtype)
    unet.add_adapter(
        LoraConfig(
            r=16,
            lora_alpha=16,
            init_lora_weights="gaussian",
            target_modules=["to_k", "to_q", "to_v", "to_out.0"],
        )
    )
    for p in unet.parameters():
        if p.requires_grad:
            p.data = p.data.float()  # fp32 LoRA parameters over bf16 weights
    params = [p for p in unet.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4)
    latents, kwargs = inputs(unet, 1, device, dtype)
    cfg_latents, cfg_kwargs = inputs(unet, 2, device, dtype)
    t = torch.tensor([500], device=device)

    for compiled in compile_modes:
        model = torch.compile(unet) if compiled else unet

        def train_step(model: Any = model) -> None:
            with torch.autocast(device, dtype=dtype, enabled=device == "cuda"):
                loss = model(latents, t, **kwargs).sample.float().pow(2).mean()
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        def denoise(model: Any = model) -> None:
            with torch.no_grad():
                model(cfg_latents, t, **cfg_kwargs)

        def decode() -> None:
            with torch.no_grad():
                vae.decode(latents / vae.config.scaling_factor)

        label = f"{name} {'compiled' if compiled else 'eager'}"
        step_s = timed(train_step, repeats, device)
        unet_s, vae_s = timed(denoise, repeats, device), timed(decode, repeats, device)
        image_s = steps * unet_s + vae_s
        train_flops = flops_of(lambda: train_step(unet))
        image_flops = steps * flops_of(lambda: denoise(unet)) + flops_of(decode)
        mfu = ""
        if peak:
            mfu = (
                f", MFU train {100 * train_flops / step_s / (peak * 1e12):.1f}%"
                f" / generate {100 * image_flops / image_s / (peak * 1e12):.1f}%"
            )
        print(
            f"{label:>22}: LoRA train {1 / step_s:.2f} steps/s ({train_flops / 1e9:.3g} GFLOP/step), "
            f"{image_s:.3f} s/image ({steps} steps, CFG){mfu}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cpu-smoke", action="store_true", help="tiny sizes on CPU")
    parser.add_argument("--no-compile", action="store_true")
    args = parser.parse_args()
    smoke = args.cpu_smoke or not torch.cuda.is_available()
    started = time.perf_counter()
    if smoke:
        print("CPU smoke run: tiny architectures, fp32, no MFU (no GPU peak to compare with)")
        modes = [False] if args.no_compile else [False, True]
        bench_family("tiny SD-class 64px", TINY, VAE_TINY, "cpu", torch.float32, 4, 3, modes, 0.0)
    else:
        gpu = torch.cuda.get_device_name()
        peak = next((v for k, v in PEAK_TFLOPS.items() if k in gpu), 0.0)
        print(f"{gpu}: bf16, peak {peak or 'unknown'} TFLOP/s")
        modes = [False] if args.no_compile else [False, True]
        bench_family("SD1.5-class 512px", SD15, VAE_FULL, "cuda", torch.bfloat16, 30, 10, modes, peak)
        bench_family("SDXL-class 1024px", SDXL, VAE_FULL, "cuda", torch.bfloat16, 30, 5, modes, peak)
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
