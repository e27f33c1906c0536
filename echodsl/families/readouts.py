"""Read-outs: how the targets read a family's memory (torch-free description and arithmetic).

One entry per ``readout`` variant of the language: its parameter count, whether its memory
tokens join the self-attention sequence, the attention FLOPs it adds, and its builder
(torch is imported only there: the modules are in ``echodsl.memory.readouts``). Which
storage each read-out can read, each family declares (``Family.readouts``).

Letters: D model width, E memory width, N target tokens, S memory tokens, L text tokens.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from echodsl.errors import BuildError
from echodsl.families.base import layer_norm, linear
from echodsl.presets import BackboneConfig


@dataclass(frozen=True)
class ReadoutPlan:
    kind: str  # none | joint | cross_attention | text_concat | residual
    settings: Any  # the profile's read-out settings (``echodsl.lang.settings.Readout*``)
    attach: tuple[int, ...] = ()  # block indices the read-out touches

    def to_json(self) -> dict[str, Any]:
        """The recorded form: the read-out's arguments under ``args``."""
        return {"kind": self.kind, "args": asdict(self.settings), "attach": self.attach}


class ReadoutKind:
    """One read-out variant. ``joins_sequence``: its memory tokens become part of the
    self-attention sequence (and so of the token budget)."""

    joins_sequence = False

    def check(self, plan: ReadoutPlan, backbone: BackboneConfig, profile: str) -> None:
        """Raise BuildError if the read-out cannot be built on this backbone."""

    def parameters(self, plan: ReadoutPlan, width: int, backbone: BackboneConfig) -> int:
        return 0

    def flops(self, plan: ReadoutPlan, n: int, s: int, backbone: BackboneConfig) -> int:
        """Forward attention matmul FLOPs the read-out adds per attached block."""
        return 0

    def build(self, plan: ReadoutPlan, width: int, backbone: BackboneConfig, action_inject: str | None) -> Any:
        """The read-out module (a ``torch.nn.Module``)."""
        raise BuildError(f"read-out {plan.kind} builds no module")


class NoReadout(ReadoutKind):
    """The memory is written but never read."""


class Joint(ReadoutKind):
    """Memory tokens join every block's self-attention as a second, clean stream."""

    joins_sequence = True

    def parameters(self, plan, width, backbone) -> int:
        return backbone.num_layers * backbone.dim if plan.settings.gate == "zero" else 0

    def flops(self, plan, n, s, backbone) -> int:
        d = backbone.dim  # targets→memory, memory→memory, and the memory stream's text cross-attention
        return 4 * (n * s + s * s) * d + 4 * s * backbone.text_len * d

    def build(self, plan, width, backbone, action_inject):
        from echodsl.memory.readouts.joint import JointConfig, JointReadout

        return JointReadout(JointConfig(backbone.dim, backbone.num_layers, plan.settings.placement,
                                        backbone.attention_head_dim, plan.settings.gate, action_inject or "pre_norm"))


class CrossAttention(ReadoutKind):
    """Targets cross-attend to the memory after the text cross-attention of attached blocks."""

    def check(self, plan, backbone, profile) -> None:
        if backbone.dim % plan.settings.heads:
            raise BuildError(f"model width {backbone.dim} is not divisible by {plan.settings.heads} heads",
                             profile=profile)

    def parameters(self, plan, width, backbone) -> int:
        d = backbone.dim
        layer = layer_norm(d) + layer_norm(width) + linear(d, d) + linear(width, 2 * d) + linear(d, d)
        return (len(plan.attach) if plan.settings.dedicated else 1) * layer

    def flops(self, plan, n, s, backbone) -> int:
        return 4 * n * s * backbone.dim

    def build(self, plan, width, backbone, action_inject):
        from echodsl.memory.readouts.cross_attention import CrossAttentionConfig, CrossAttentionReadout

        return CrossAttentionReadout(CrossAttentionConfig(backbone.dim, width, plan.settings.heads,
                                                          plan.settings.dedicated, plan.attach))


class TextConcat(ReadoutKind):
    """The summary joins the text tokens each block cross-attends to, behind a zero gate."""

    def parameters(self, plan, width, backbone) -> int:
        return linear(backbone.dim, backbone.dim) + backbone.num_layers * backbone.dim

    def flops(self, plan, n, s, backbone) -> int:
        return 4 * n * s * backbone.dim

    def build(self, plan, width, backbone, action_inject):
        from echodsl.memory.readouts.text_concat import TextConcatConfig, TextConcatReadout

        return TextConcatReadout(TextConcatConfig(backbone.dim, backbone.num_layers))


class Residual(ReadoutKind):
    """The state, projected per attached block, added to every frame's tokens."""

    def parameters(self, plan, width, backbone) -> int:
        return len(plan.attach) * linear(width, backbone.dim)

    def build(self, plan, width, backbone, action_inject):
        from echodsl.memory.readouts.residual import ResidualConfig, ResidualReadout

        return ResidualReadout(ResidualConfig(backbone.dim, width, plan.attach))


READOUTS: dict[str, ReadoutKind] = {
    "none": NoReadout(),
    "joint": Joint(),
    "cross_attention": CrossAttention(),
    "text_concat": TextConcat(),
    "residual": Residual(),
}
