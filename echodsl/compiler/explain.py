"""``explain``: what a profile compiles to, without training it.

Reports the memory's module tree, trainable parameters (backbone, action, memory),
memory tokens, attention FLOPs per training step at the preset's shape, the attention
backend, and dynamo's graph breaks for a write + forward (must be 0).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from echodsl.backbone import make_backbone
from echodsl.compiler.model import MemoryWorldModel, build
from echodsl.compiler.plan import MemoryPlan, build_hash, lower
from echodsl.jsonout import envelope
from echodsl.lang.history import describe as describe_history
from echodsl.lang.model import Profile
from echodsl.memory.base import MemoryInput
from echodsl.families import readout_of
from echodsl.presets import backbone_config


@dataclass
class ExplainReport:
    profile: str
    spec_hash: str
    build_hash: str
    preset: str
    family: str
    history: str  # which past frames the memory is written from (lang.history.describe)
    attention_backend: str
    module_tree: str
    parameters: dict[str, int]  # trainable: backbone, action, memory
    memory_frames: int
    memory_tokens: int
    sequence_tokens: int
    tokens_per_frame: int
    attach: list[int]
    attention_flops_per_step: int  # forward + backward (3x forward), batch 1
    graph_breaks: int | None
    graph_count: int | None
    break_reasons: list[str] = field(default_factory=list)
    plan: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return envelope(asdict(self))


def attention_flops(plan: MemoryPlan) -> int:
    """Matmul FLOPs of every attention (QKᵀ and AV) in one train step at the preset's shape.

    Forward per block: targets' self-attention 4·N²·D, text cross-attention 4·N·L·D, plus
    what the read-out adds in each block it attaches to (its own arithmetic: joint
    4·(N·S + S²)·D plus the memory stream's text cross-attention, cross-attention and
    text concat 4·N·S·D). Backward ≈ 2× forward.
    """
    bb = plan.backbone
    n, d, layers = bb.segment_frames * bb.tokens_per_frame, bb.dim, bb.num_layers
    s, text = plan.memory_tokens, bb.text_len
    per_block = 4 * n * n * d + 4 * n * text * d
    fwd = per_block * layers
    fwd += len(plan.attach) * readout_of(plan.readout.kind).flops(plan.readout, n, s, bb)
    return 3 * fwd


def _trainable(module: nn.Module | None) -> int:
    return 0 if module is None else sum(p.numel() for p in module.parameters() if p.requires_grad)


def memory_tree(model: MemoryWorldModel) -> str:
    parts = [f"({name}): {m!r}" for name, m in (("action", model.action), ("storage", model.storage),
                                                 ("readout", model.readout)) if m is not None]
    return "\n".join(parts) or "(no memory modules)"


def example_inputs(model: MemoryWorldModel, batch: int = 1, generator: torch.Generator | None = None):
    """Random inputs at the model's preset shape: (latents, timesteps, actions, text), MemoryInput."""
    cfg, plan = model.backbone.config, model.plan
    g = generator or torch.Generator().manual_seed(0)
    c, (h, w), f, m = cfg.latent_channels, cfg.latent_hw, cfg.segment_frames, plan.memory_frames
    latents = torch.randn(batch, f, c, h, w, generator=g)
    timesteps = torch.rand(batch, f, generator=g) * 1000
    timesteps[:, 0] = 0
    actions = torch.randn(batch, f, 12, generator=g)
    text = torch.randn(batch, cfg.text_len, cfg.text_dim, generator=g)
    memory = MemoryInput(torch.randn(batch, m, c, h, w, generator=g), torch.randn(batch, m, 12, generator=g),
                         torch.ones(batch, m, dtype=torch.bool))
    return (latents, timesteps, actions, text), memory


def graph_breaks(model: MemoryWorldModel) -> tuple[int, int, list[str]]:
    """(graph breaks, graphs, reasons) of write_memory + forward under ``torch._dynamo.explain``."""
    inputs, memory = example_inputs(model)

    def step(memory: MemoryInput) -> torch.Tensor:
        return model(*inputs, memory=model.write_memory(memory))

    torch._dynamo.reset()
    out = torch._dynamo.explain(step)(memory)
    torch._dynamo.reset()
    return out.graph_break_count, out.graph_count, [str(r.reason) for r in out.break_reasons]


def explain(profile: Profile, preset: str = "tiny", config: str | None = None, *, breaks: bool = True) -> ExplainReport:
    """Lower and build ``profile`` on a fresh backbone and describe the result."""
    plan = lower(profile, backbone_config(preset, config))
    torch.manual_seed(0)
    model = build(plan, make_backbone(preset, config))
    nb, nc, reasons = graph_breaks(model) if breaks else (None, None, [])
    return ExplainReport(
        profile=profile.name, spec_hash=profile.spec_hash, build_hash=build_hash(), preset=preset,
        family=plan.family, history=describe_history(profile.canonical()), attention_backend=model.backbone.backend, module_tree=memory_tree(model),
        parameters={"backbone": _trainable(model.backbone), "action": _trainable(model.action),
                    "memory": _trainable(model.storage) + _trainable(model.readout)},
        memory_frames=plan.memory_frames, memory_tokens=plan.memory_tokens, sequence_tokens=plan.sequence_tokens,
        tokens_per_frame=plan.tokens_per_frame, attach=list(plan.attach),
        attention_flops_per_step=attention_flops(plan), graph_breaks=nb, graph_count=nc, break_reasons=reasons,
        plan=plan.to_json(),
    )


def render(report: ExplainReport) -> str:
    p = report.parameters
    lines = [
        f"profile {report.profile}  ({report.family}, preset {report.preset}, attention {report.attention_backend})",
        f"spec_hash {report.spec_hash}",
        f"history: {report.history}",
        f"build_hash {report.build_hash}",
        f"trainable parameters: backbone {p['backbone']:,}  action {p['action']:,}  memory {p['memory']:,}",
        f"memory: {report.memory_frames} frames -> {report.memory_tokens} tokens "
        f"({report.sequence_tokens} in the self-attention sequence), {report.tokens_per_frame} tokens/frame",
        f"read-out attached to blocks {report.attach}",
        f"attention FLOPs per train step (batch 1): {report.attention_flops_per_step:.3e}",
        f"dynamo: {report.graph_count} graph(s), {report.graph_breaks} graph break(s)",
        *[f"  break: {r}" for r in report.break_reasons],
        "memory modules:",
        report.module_tree,
    ]
    return "\n".join(lines)
