"""Peak training memory of a profile at its study's shape, before a GPU is spent on it.

The estimate adds, for one training step of one process:

- **weights, gradients, AdamW states** (exp_avg, exp_avg_sq): counted from the model
  itself, built on the meta device (no memory, any size), at the parameter dtype;
- **activations** saved for backward, per token and per transformer block, counted op by
  op from ``WanBackbone.run_block`` (see ``_block_elements``) for the target tokens and
  every memory token that runs through the blocks, plus the per-token timestep
  modulation the model keeps once;
- **attention**: flash-attn and PyTorch's SDPA kernels keep one log-sum-exp per query and
  head (linear in tokens); the ``math`` fallback keeps the full (H, N, S) probabilities.

With ``checkpointing = blocks`` only each block's input is kept, plus one block's
activations while it is recomputed in the backward pass. Under CUDA autocast the
projections' and FFN's saved tensors are bf16, the norm and modulation paths stay fp32.
The estimate is checked against torch's memory profiler on CPU for small presets.

Letters: B batch, N tokens through the blocks, D width, H heads, L text tokens.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from echodsl.compiler.plan import MemoryPlan

GB = 1e9  # decimal, as cards are sold (an "80 GB" A100 holds 80e9 bytes, give or take)
ATTENTION_BACKENDS = ("flash", "sdpa", "math")


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes of each part of one process's peak during a training step."""

    profile: str
    tokens: int  # per sample, through every block (targets + joined memory)
    batch: int  # per process (micro-batch under gradient accumulation)
    parameters: int
    weights: int
    gradients: int
    optimizer: int
    activations: int
    checkpointing: str
    dtype: str
    autocast: bool
    attention: str

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer + self.activations

    def fits(self, capacity_gb: float) -> bool:
        return self.total <= capacity_gb * GB

    def to_json(self) -> dict:
        return {**asdict(self), "total": self.total}

    def line(self, capacity_gb: float = 80.0) -> str:
        parts = ", ".join(f"{name} {getattr(self, name) / GB:.1f}"
                          for name in ("weights", "gradients", "optimizer", "activations"))
        verdict = "fits" if self.fits(capacity_gb) else "DOES NOT FIT"
        return (f"{self.profile}: {self.total / GB:.1f} GB of {capacity_gb:g} GB ({verdict}; {parts}; "
                f"{self.tokens} tokens x batch {self.batch}, checkpointing {self.checkpointing}, "
                f"{self.dtype} weights{', bf16 autocast' if self.autocast else ''}, {self.attention} attention)")


def _block_elements(d: int, ffn: int) -> tuple[int, int]:
    """Elements one token keeps for backward in one block: (fp32 side, autocast side).

    fp32 side: the block's 6-way modulation sum (6D), the two modulated norms' outputs and
    their (1 + scale) factors (4D). Autocast side: the block input (D), the modulated
    input to q/k/v (D), q and k before their RMS norm, after it and after rotary (6D), v
    (D), the attention output and its flattened copy (2D), the gated self-attention output
    (D), the residual after it and the norm2 output (2D), the cross-attention's q before
    and after its norm (2D), its output and flattened copy (2D), the residual after it (D),
    the FFN input (D), its GELU input and output (2·ffn) and its gated output (D).
    """
    return 10 * d, 21 * d + 2 * ffn


def estimate(plan: MemoryPlan, *, batch: int = 1, checkpointing: str = "none", dtype: str = "fp32",
             autocast: bool = True, attention: str = "flash", parameters: int | None = None) -> MemoryEstimate:
    """Peak training memory of ``plan`` for one process at its preset's segment shape.

    ``parameters`` defaults to the model's count, built on the meta device (needs torch).
    """
    if attention not in ATTENTION_BACKENDS:
        raise ValueError(f"attention must be one of {ATTENTION_BACKENDS}")
    bb = plan.backbone
    params = count_parameters(plan) if parameters is None else parameters
    p_bytes = 2 if dtype == "bf16" else 4
    a_bytes = 2 if autocast or dtype == "bf16" else 4  # what linear layers save
    d, heads, layers = bb.dim, bb.num_attention_heads, bb.num_layers
    tokens = bb.segment_frames * bb.tokens_per_frame + plan.sequence_tokens  # (N,) per sample
    fp32_side, cast_side = _block_elements(d, bb.ffn_dim)
    per_token_block = fp32_side * 4 + cast_side * a_bytes
    # attention: self over all N tokens, cross over the L text tokens
    if attention == "math":
        per_token_block += heads * (tokens + bb.text_len) * a_bytes
    else:
        per_token_block += heads * 2 * 4  # one fp32 log-sum-exp per head, self and cross
    text_block = 3 * d * bb.text_len * a_bytes  # cross-attention k (before/after norm) and v
    block = batch * (tokens * per_token_block + text_block)
    shared = batch * tokens * 7 * d * 4  # timestep embedding and 6-way modulation, fp32, kept once
    if checkpointing == "blocks":
        kept = batch * tokens * d * a_bytes * layers + block  # block inputs + one block recomputed
    else:
        kept = block * layers
    # the backward pass carries the residual stream's gradient and the next one, fp32
    in_flight = batch * tokens * 2 * d * 4
    activations = shared + kept + in_flight
    return MemoryEstimate(plan.profile, tokens, batch, params, params * p_bytes, params * p_bytes,
                          2 * params * p_bytes, activations, checkpointing, dtype, autocast, attention)


def count_parameters(plan: MemoryPlan) -> int:
    """Parameters of the built model (backbone, action, memory), without allocating them."""
    import torch

    from echodsl.backbone.wan import WanBackbone
    from echodsl.compiler.model import build

    with torch.device("meta"):
        model = build(plan, WanBackbone(plan.backbone))
    return sum(p.numel() for p in model.parameters())
