"""Generation for the evaluation branches: the fixed held-out replay walks, rollouts through
the full sampling path (``runtime.rollout``, the same for every profile), decoding by the
run's codec, and the memory a rollout held when the camera came back (rebuilt through the
rollout's own ``memory_for_chunk``).

Replay cases are camera walks, generated like training walks, through the *held-out*
in-domain scenes (the world's ``in`` stream: training styles, never trained on); training
only ever sees ``World.sequence(i)`` of the ``train`` stream.

Letters: T frames, C latent channels, h/w latent grid, S memory tokens, D memory width.
"""

from __future__ import annotations


import torch

from echodsl.data.sequence import Sequence
from echodsl.data.text import TextConfig
from echodsl.data.trajectory import random_walk
from echodsl.data.world import World
from echodsl.eval.report import EvalConfig
from echodsl.eval.write_probe import pool_features
from echodsl.memory.base import MemoryState
from echodsl.families import family_of
from echodsl.runtime import assemble
from echodsl.runtime.rollout import Rollout, RolloutConfig, Trajectory, memory_for_chunk, rollout
from echodsl.runtime.trained import TrainedRun
from echodsl.data.seeding import stable_seed




def replay_sequences(world: World, count: int, frames: int) -> list[Sequence]:
    """Replay cases 0..count-1: a ``frames``-long walk through held-out ``in`` scene i."""
    out = []
    for i in range(count):
        scene = world.scene(i, "in")
        gen = torch.Generator().manual_seed(stable_seed(world.config.seed, "replay-walk", i))
        poses = random_walk(scene, frames, gen, world.config.path)  # (T, 4, 4)
        out.append(Sequence(f"replay{i:04d}", poses, world.intrinsics, world.config.height, world.config.width,
                            scene.caption(), lambda idx, s=scene, p=poses: world.render(s, p[idx]).rgb))
    return out


class Generator:
    """Rolls out a trained run on evaluation cases and decodes the frames."""

    def __init__(self, trained: TrainedRun, config: EvalConfig):
        self.trained, self.plan, self.model = trained, trained.plan, trained.model
        self.cache = assemble.codec_cache(trained.run)
        bb = self.plan.backbone
        self.text = TextConfig.of(bb)
        flow = trained.run.flow
        self.steps = config.steps
        self.shift = flow.shift if config.shift is None else config.shift
        self.noise_shift = flow.noise_shift
        self.seed = trained.run.seed if config.seed is None else config.seed

    @property
    def per_chunk(self) -> int:
        return self.plan.backbone.segment_frames - 1

    @property
    def has_memory(self) -> bool:
        return getattr(self.model, "storage", None) is not None

    def sampler(self) -> dict:
        return {"steps": self.steps, "shift": self.shift, "noise_shift": self.noise_shift, "seed": self.seed}

    def roll(self, seq: Sequence, case_id: str, chunks: int | None = None, observed: int = 1) -> Rollout:
        """Frames ``observed``.. of ``seq`` generated from its first ``observed`` frames (given
        as ground truth) along its true cameras; each case draws its own noise (seeded by the
        eval seed and the case id)."""
        traj = Trajectory.from_sequence(seq, self.cache, self.text, observed=observed)
        cfg = RolloutConfig(self.steps, self.shift, self.noise_shift, stable_seed(self.seed, "eval", case_id))
        return rollout(self.model, self.plan, traj, cfg, chunks=chunks)

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """(T, C, h, w) latents -> (T, 3, H, W) frames in [-1, 1], a few frames at a time."""
        return torch.cat([self.cache.codec.decode(z).float().cpu() for z in latents.split(8)])

    @torch.no_grad()
    def memory_feature(self, result: Rollout, poses: torch.Tensor, frame: int) -> torch.Tensor | None:
        """(D,) mean of the memory tokens the chunk generating ``frame`` read, rebuilt from the
        rollout's own history and recorded picks through the rollout's own
        ``memory_for_chunk``; None without storage."""
        if not self.has_memory:
            return None
        c = next(i for i, (s, e) in enumerate(result.chunks) if s <= frame < e)
        poses = poses.float()
        device = next(self.model.parameters()).device
        state: MemoryState | None = None
        # A carried state's memory is every chunk's writes up to c; any other's is chunk c's alone.
        first = 0 if family_of(self.plan.storage.kind).carries(self.plan.storage) else c
        for k in range(first, c + 1):
            state = memory_for_chunk(self.model, self.plan, result.latents, poses, result.memory_indices[k],
                                     result.chunks[k][0] - 1, state, device)
        if state is None:
            return None
        tokens = self.model.storage.read(state)
        kept = tokens.tokens[0][tokens.mask[0]]  # (S', D)
        if kept.shape[0] == 0:
            return torch.zeros(tokens.tokens.shape[-1])
        return pool_features(kept[None])[0].cpu()  # (D,)
