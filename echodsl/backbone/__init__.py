"""The shared video DiT (diffusers Wan), its presets, action conditioning and attention backends."""

from echodsl.backbone.action import ACTION_DIM, ActionConditioner, ActionConfig
from echodsl.backbone.attention import attention_backend
from echodsl.presets import PRESETS, BackboneConfig, backbone_config
from echodsl.backbone.wan import Stream, WanBackbone


def make_backbone(preset: str = "tiny", config: str | None = None) -> WanBackbone:
    """A randomly initialised backbone for ``preset`` (weights are the caller's to load)."""
    return WanBackbone(backbone_config(preset, config))


__all__ = [
    "ACTION_DIM", "ActionConditioner", "ActionConfig", "BackboneConfig", "PRESETS", "Stream",
    "WanBackbone", "attention_backend", "backbone_config", "make_backbone",
]
