"""bf16 train step at the Wan2.1-1.3B shape (default: context K=20, as the study trains it).

Random weights from the preset's config (``--config`` reads a local diffusers
config.json instead); 352×640 frames → 21 latent frames of 16×44×80, batch 1, bf16
weights, activation checkpointing per block (``--no-checkpointing`` keeps activations).
For each profile: step time (write_memory + forward + backward + AdamW), tokens/s, MFU
against the GPU's bf16 dense peak (model FLOPs: 6·params·tokens plus attention; the
recomputation is not counted), the peak GPU memory beside ``explain --memory``'s
estimate, eager vs ``torch.compile``, SDPA vs flash-attn when installed.
Without CUDA it says so and exits 0.

    python benchmarks/gpu_step.py [--steps 10] [--peak-tflops 989] [--profiles context_k20,i2v]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time

import torch

# bf16 dense tensor-core peaks (TFLOP/s) by device-name fragment; --peak-tflops overrides.
PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "A10": 125.0, "4090": 165.0}
PROFILES = {
    "context_k20": "profile context_k20 { storage frames(k = 20, select = fov(samples = 512, recency = 0.05)) "
                   "readout joint(placement = suffix) }",
    "i2v": "profile i2v {}",
    "context_k5": "profile context_k5 { storage frames(k = 5) readout joint(placement = suffix) }",
    "ssm_blockwise": "profile ssm_blockwise { storage state(dim = 256) recurrence block_scan(block = 4x4, every = 4) }",
}


def peak_flops(name: str, override: float | None) -> float | None:
    if override:
        return override * 1e12
    return next((tf * 1e12 for key, tf in PEAK_TFLOPS.items() if key in name), None)


def run(model, steps: int) -> list[float]:
    from echodsl.compiler.explain import example_inputs

    inputs, memory = example_inputs(model)
    inputs = tuple(t.cuda() for t in inputs)
    inputs = (inputs[0].bfloat16(), inputs[1], inputs[2].bfloat16(), inputs[3].bfloat16())
    memory = type(memory)(memory.latents.cuda().bfloat16(), memory.actions.cuda().bfloat16(), memory.mask.cuda())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
    times = []
    for _ in range(steps):
        torch.cuda.synchronize()
        start = time.perf_counter()
        out = model(*inputs, memory=model.write_memory(memory))
        out.float().square().mean().backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--config", default=None, help="local diffusers config.json of the DiT")
    parser.add_argument("--peak-tflops", type=float, default=None)
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument("--no-checkpointing", action="store_true", help="keep every block's activations")
    parser.add_argument("--profiles", default="context_k20", help=f"comma list of {', '.join(PROFILES)}")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("gpu_step: no CUDA device available; this benchmark needs a GPU (nothing measured).")
        return 0

    import echodsl
    from echodsl.backbone import make_backbone
    from echodsl.compiler import build, compile_model, lower
    from echodsl.compiler.explain import attention_flops
    from echodsl.compiler.memory_estimate import estimate
    from echodsl.presets import backbone_config

    name = torch.cuda.get_device_name()
    peak = peak_flops(name, args.peak_tflops)
    backends = ["sdpa"] + (["flash_attn"] if importlib.util.find_spec("flash_attn") else [])
    print(f"{name}; torch {torch.__version__}; peak {peak / 1e12 if peak else float('nan'):.0f} TFLOP/s bf16; "
          f"backends {backends}; median of {args.steps} steps after 3 warm-up")
    checkpointing = "none" if args.no_checkpointing else "blocks"
    print(f"{'profile':14s} {'attn':10s} {'mode':9s} {'step s':>8s} {'tokens/s':>10s} {'MFU':>6s} "
          f"{'peak GB':>8s} {'est. GB':>8s}  (checkpointing {checkpointing}, bf16 weights)")
    for label in args.profiles.split(","):
        profile = echodsl.loads(PROFILES[label]).profiles[label]
        plan = lower(profile, backbone_config("wan2_1_1_3b", args.config))
        for backend in backends:
            for compiled in ([False] if args.no_compile else [False, True]):
                torch._dynamo.reset()
                torch.manual_seed(0)
                model = build(plan, make_backbone("wan2_1_1_3b", args.config)).cuda().bfloat16()
                model.backbone.dit.rope.float()  # rotary tables stay fp32, as diffusers keeps them
                model.backbone.set_backend(backend)
                model.checkpoint_blocks = checkpointing == "blocks"
                torch.cuda.reset_peak_memory_stats()
                if compiled:
                    compile_model(model)
                step = statistics.median(run(model, args.steps + 3)[3:])
                cfg = plan.backbone
                tokens = (cfg.segment_frames + plan.memory_frames * (plan.readout.kind == "joint")) * cfg.tokens_per_frame
                params = sum(p.numel() for p in model.parameters())
                flops = 6 * params * tokens + attention_flops(plan)
                mfu = flops / step / peak if peak else float("nan")
                guess = estimate(plan, checkpointing=checkpointing, dtype="bf16", autocast=True,
                                 attention="flash" if backend == "flash_attn" else "sdpa", parameters=params)
                print(f"{label:14s} {backend:10s} {'compiled' if compiled else 'eager':9s} {step:8.3f} "
                      f"{cfg.segment_frames * cfg.tokens_per_frame / step:10.0f} {mfu:6.1%} "
                      f"{torch.cuda.max_memory_allocated() / 1e9:8.1f} {guess.total / 1e9:8.1f}", flush=True)
                del model
                torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
