"""The one training recipe every profile shares (the seed's flow-matching recipe).

Per step: draw the global batch (a seeded permutation per epoch), noise the target
frames at shifted timesteps (the anchor stays clean, t = 0), write the profile's memory,
predict the velocity, and take the MSE on target frames only. A step whose loss exceeds
``spike`` × the running mean is skipped and counted (spike rejection). AdamW, gradient
clipping at 1.0, a short linear warm-up, bf16 autocast on CUDA and fp32 on CPU.

All randomness is a pure function of (seed, step, sample), so a resumed run replays the
uninterrupted one exactly; the checkpoint carries model, optimizer and spike tracker.

Letters: B batch, F frames, M memory frames, C channels, h/w latent grid, L text tokens.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from echodsl.compiler import build_hash, compile_model
from echodsl.errors import RuntimeFailure, UsageError
from echodsl.memory.base import MemoryInput
from echodsl.runtime import assemble
from echodsl.runtime.checkpoint import list_checkpoints, load_backbone, read_checkpoint, restore, save_checkpoint
from echodsl.runtime.distributed import Dist, all_mean, init_distributed, local_slice
from echodsl.runtime.memory_use import MemoryUse, measure, return_segments
from echodsl.runtime.trainlog import TrainLog
from echodsl.runtime.flow import frame_timesteps, interpolate, noise_like, sample_timesteps
from echodsl.runtime.encode import default_latent_dir
from echodsl.data.seeding import stable_seed

CLIP_NORM = 1.0  # part of the fixed recipe
SPIKE_WINDOW = 50  # accepted losses in the running mean
SPIKE_WARMUP = 20  # accepted steps before rejection starts (the mean is meaningless earlier)
PROBE_CASES = 8  # held-out return segments the training-time memory diagnostics score


@dataclass(frozen=True)
class TrainOptions:
    out: Path
    resume: bool = False
    checkpoint_every: int = 100
    keep: int = 3
    sample_every: int = 0  # steps between replay samples on the held-out case (0 = never)
    compile: bool = False
    device: str | None = None
    progress: bool = True
    cache_dir: Path | None = None  # latent cache (default: none for pixels, the shared one for a VAE)
    init_from: Path | None = None  # a shared pretrained backbone's checkpoint (flow.pretrain > 0)


@dataclass
class TrainResult:
    steps: int
    final_loss: float
    skipped: int
    steps_per_s: float
    out: Path
    checkpoint: Path | None
    samples: list[dict] = field(default_factory=list)
    main: bool = True  # False on torchrun ranks other than 0 (they report nothing)
    # The whole run's metrics.jsonl entries in order, from step 1 even after a resume
    # (see echodsl.runtime.trainlog); empty on ranks other than 0.
    history: list[dict] = field(default_factory=list)

    @property
    def losses(self) -> list[tuple[int, float]]:
        """(step, loss) of every step of the run."""
        return [(e["step"], e["loss"]) for e in self.history if "loss" in e]




def warmup_steps(total: int) -> int:
    return min(100, total // 20)


def learning_rate(step: int, lr: float, total: int) -> float:
    w = warmup_steps(total)
    return lr * min(1.0, (step + 1) / w) if w else lr


class FlowLoss(nn.Module):
    """Memory write + velocity prediction + target-frame loss, as one module so that DDP
    sees every parameter the step touches inside a single forward."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, latents, noise, t, actions, text, mem_latents, mem_actions, mem_mask):
        frames = latents.shape[1]
        first = next(self.model.parameters(), None)
        dtype = latents.dtype if first is None else first.dtype  # bf16 under flow(dtype = bf16)
        latents, noise, actions, text, mem_latents, mem_actions = (
            None if x is None else x.to(dtype) for x in (latents, noise, actions, text, mem_latents, mem_actions))
        noisy = interpolate(latents, noise, t)  # (B, F, C, h, w)
        noisy = torch.cat([latents[:, :1], noisy[:, 1:]], dim=1)  # the anchor stays clean
        memory = None
        if self.model.storage is not None:
            memory = self.model.write_memory(MemoryInput(mem_latents, mem_actions, mem_mask))
        v = self.model(noisy, frame_timesteps(t, frames), actions, text, memory)  # (B, F, C, h, w)
        target = noise - latents
        return torch.mean((v[:, 1:].float() - target[:, 1:].float()) ** 2)  # targets only


class Trainer:
    """Trains one RunConfig into ``options.out`` (checkpoints, run.json, metrics.jsonl)."""

    def __init__(self, run: assemble.RunConfig, options: TrainOptions, env: Dist | None = None):
        self.run, self.options = run, options
        self.env = env or init_distributed(options.device)
        self.flow = run.flow
        if self.flow.batch % self.env.world:
            raise UsageError(f"batch {self.flow.batch} does not divide over {self.env.world} processes")
        if (self.flow.batch // self.env.world) % self.flow.accumulate:
            raise UsageError(f"batch {self.flow.batch} over {self.env.world} process(es) does not split into "
                             f"accumulate = {self.flow.accumulate} equal micro-batches")
        self.plan = assemble.plan_of(run)
        self.model = assemble.make_model(self.plan, run.seed, assemble.weights_of(run),
                                         run.settings.backbone.weights_sha256)
        if self.flow.pretrain:
            if options.init_from is None:
                raise UsageError(f"this recipe fine-tunes a pretrained backbone (pretrain = {self.flow.pretrain}) "
                                 "but none was given", hint="run it through `echodsl study`, or `echodsl train`")
            load_backbone(self.model, options.init_from)
        if self.flow.dtype == "bf16":
            # Parameters only: buffers such as Wan's rotary tables keep their precision.
            for p in self.model.parameters():
                p.data = p.data.to(torch.bfloat16)
        self.model.checkpoint_blocks = self.flow.checkpointing == "blocks"
        self.model = self.model.to(self.env.device)
        self.model.backbone.set_backend()
        if options.compile:
            compile_model(self.model)
        # A VAE's latents come from the shared cache `echodsl data encode` fills (else encoded on first use).
        cache = options.cache_dir or (default_latent_dir() if self.plan.backbone.codec != "pixels" else None)
        self.dataset = assemble.dataset_of(run, self.plan, cache)
        if len(self.dataset) == 0:
            raise UsageError("the data set has no training window long enough for this preset")
        self.loss_module: nn.Module = FlowLoss(self.model)
        if self.env.world > 1:
            self.loss_module = DistributedDataParallel(self.loss_module, find_unused_parameters=True)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=self.flow.lr, weight_decay=0.01)
        self.step, self.skipped, self.accepted = 0, 0, []
        self._segments: list | None = None  # return segments for memory_use, built on first use
        self.log = TrainLog(options.out / "metrics.jsonl", enabled=self.env.main)
        self.identity = {"spec_hash": run.profile.spec_hash, "setup_hash": run.setup_hash,
                         "recipe_hash": run.recipe_hash, "build_hash": build_hash(), "seed": run.seed}

    # ---- batches -------------------------------------------------------------------------
    def batch_indices(self, step: int) -> list[tuple[int, int]]:
        """(epoch, dataset index) of each sample of the global batch of ``step``."""
        n, out = len(self.dataset), []
        for j in range(self.flow.batch):
            s = step * self.flow.batch + j
            epoch = s // n
            perm = torch.randperm(n, generator=torch.Generator().manual_seed(stable_seed(self.run.seed, "epoch", epoch)))
            out.append((epoch, int(perm[s % n])))
        return out

    def batch(self, step: int) -> tuple[torch.Tensor, ...]:
        picks = local_slice(list(range(self.flow.batch)), self.env)
        globals_ = self.batch_indices(step)
        items = []
        for j in picks:
            epoch, index = globals_[j]
            self.dataset.set_epoch(epoch)
            items.append(self.dataset[index])
        stack = lambda key: torch.stack([it[key] for it in items]).to(self.env.device)  # noqa: E731
        latents = stack("latents")  # (B, F, C, h, w)
        # Noise and timesteps are seeded per (step, global sample): independent of the split over ranks.
        gens = [torch.Generator().manual_seed(stable_seed(self.run.seed, "noise", step, j)) for j in picks]
        t = torch.cat([sample_timesteps(1, self.flow.shift, g) for g in gens]).to(self.env.device)  # (B,)
        noise = torch.stack([noise_like(latents[i], self.flow.noise_shift, g) for i, g in enumerate(gens)])
        return (latents, noise, t, stack("actions"), stack("text"), stack("memory_latents"),
                stack("memory_actions"), stack("memory_mask"))

    def memory_use(self, cases: int = PROBE_CASES) -> MemoryUse:
        """Memory-use diagnostics of the model as it is now, on ``cases`` fixed return segments."""
        if self._segments is None or len(self._segments) != cases:
            self._segments = return_segments(self.run, self.plan, cases)
        return measure(self.model, self._segments, self.run.seed)

    # ---- checkpoints ----------------------------------------------------------------------
    def _meta(self) -> dict:
        return {**self.identity, "skipped": self.skipped, "accepted": self.accepted,
                "profile": self.run.profile.name, "flow": asdict(self.flow)}

    def save(self) -> Path | None:
        if not self.env.main:
            return None
        return save_checkpoint(self.options.out / "checkpoints", self.step, self.model, self.optimizer,
                               self._meta(), keep=self.options.keep)

    def try_resume(self) -> bool:
        found = list_checkpoints(self.options.out / "checkpoints")
        if not found:
            return False
        ckpt = read_checkpoint(found[-1])
        for key in ("spec_hash", "recipe_hash", "seed"):
            if ckpt.meta.get(key) != self.identity[key]:
                raise RuntimeFailure(f"{found[-1]} was written for a different {key.replace('_hash', '')} "
                                     f"({str(ckpt.meta.get(key))[:12]} ≠ {str(self.identity[key])[:12]}); "
                                     "use another --out, or drop --resume")
        restore(ckpt, self.model, self.optimizer)
        self.step, self.skipped, self.accepted = ckpt.step, ckpt.meta["skipped"], ckpt.meta["accepted"]
        return True

    # ---- the loop -------------------------------------------------------------------------
    def prepare_out(self) -> None:
        out = self.options.out
        try:
            out.mkdir(parents=True, exist_ok=True)
            probe = out / f".write-test-{os.getpid()}"  # per process: torchrun ranks probe at once
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise UsageError(f"cannot write to output directory {out}: {exc.strerror or exc}") from exc
        if not self.options.resume and list_checkpoints(out / "checkpoints"):
            raise UsageError(f"{out} already holds checkpoints", hint="pass --resume to continue, or choose another --out")
        if self.options.resume:
            self.try_resume()
        if self.env.main:
            run_json = {**self.identity, "profile": self.run.profile.name, "study": self.run.study,
                        "canonical": self.run.profile.canonical(), "setup": self.run.to_json(),
                        "plan": self.plan.to_json(), "flow": asdict(self.flow)}
            (out / "run.json").write_text(json.dumps(run_json, indent=2, default=str))
        # After a resume the log must read like the uninterrupted run's: drop steps past the checkpoint.
        self.log.restore(self.step)

    def train_step(self) -> tuple[float, bool]:
        """One optimisation step; returns (loss, skipped)."""
        self.model.train()
        batch = self.batch(self.step)
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(self.step, self.flow.lr, self.flow.steps)
        # The batch is split into ``accumulate`` micro-batches, each backpropagated at once
        # (its activations freed) with gradients summed; a spike is only known after all
        # of them, so a skipped step discards its gradients instead of never computing them.
        parts = self.flow.accumulate
        self.optimizer.zero_grad(set_to_none=True)
        losses = []
        for k, micro in enumerate(_micro_batches(batch, parts)):
            defer_sync = k < parts - 1 and isinstance(self.loss_module, DistributedDataParallel)
            with self.loss_module.no_sync() if defer_sync else contextlib.nullcontext():
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.env.device.type == "cuda"):
                    loss = self.loss_module(*micro)
                (loss / parts if parts > 1 else loss).backward()
            losses.append(loss.detach())
        loss_value = float(all_mean(sum(losses) / parts if parts > 1 else losses[0], self.env))
        if not torch.isfinite(torch.tensor(loss_value)):
            raise RuntimeFailure(f"loss is {loss_value} at step {self.step}; lower the learning rate")
        mean = sum(self.accepted) / len(self.accepted) if self.accepted else 0.0
        skip = len(self.accepted) >= SPIKE_WARMUP and loss_value > self.flow.spike * mean
        if skip:
            self.optimizer.zero_grad(set_to_none=True)
            self.skipped += 1
        else:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), CLIP_NORM)
            self.optimizer.step()
            self.accepted = (self.accepted + [loss_value])[-SPIKE_WINDOW:]
        self.step += 1
        return loss_value, skip

    def fit(self, on_sample: Callable[[int], dict] | None = None,
            on_checkpoint: Callable[[Path], None] | None = None,
            should_stop: Callable[[], bool] | None = None) -> TrainResult:
        """Train to ``flow.steps``. ``on_sample(step)`` returns extra metrics to log every
        ``sample_every`` steps; ``on_checkpoint(path)`` hears of every checkpoint written.
        When ``should_stop()`` turns true (a signal arrived) the loop checkpoints after the
        current step and returns early (``steps`` < ``flow.steps``)."""
        self.prepare_out()
        total, start_step, t0 = self.flow.steps, self.step, time.perf_counter()
        bar = _progress(self.options.progress and self.env.main, total, self.step, self.run.profile.name)
        log = self.log
        log.open()
        loss, samples, last = float("nan"), [], None
        try:
            while self.step < total:
                loss, skipped = self.train_step()
                log.add({"step": self.step, "loss": loss, "skipped": skipped})
                if bar:
                    rate = (self.step - start_step) / max(time.perf_counter() - t0, 1e-9)
                    bar.set_postfix(loss=f"{loss:.4f}", steps_s=f"{rate:.2f}", skipped=self.skipped)
                    bar.update(1)
                if self.flow.probe_every and self.step % self.flow.probe_every == 0 and self.env.main:
                    use = self.memory_use()
                    log.add({"step": self.step, "memory": use.to_dict()})
                    if bar:
                        bar.set_postfix(loss=f"{loss:.4f}", memory_gain=use.short(), skipped=self.skipped)
                if on_sample and self.options.sample_every and self.step % self.options.sample_every == 0:
                    sample = {"step": self.step, **on_sample(self.step)}
                    samples.append(sample)
                    log.add(sample)
                stopping = bool(should_stop and should_stop())
                if self.step % self.options.checkpoint_every == 0 or self.step == total or stopping:
                    log.flush()
                    saved = self.save()
                    if saved is not None:
                        last = saved
                        if on_checkpoint:
                            on_checkpoint(saved)
                if stopping:
                    break
        finally:
            if bar:
                bar.close()
            log.close()
        elapsed = time.perf_counter() - t0
        rate = (self.step - start_step) / elapsed if elapsed > 0 else 0.0
        return TrainResult(self.step, loss, self.skipped, rate, self.options.out, last, samples, self.env.main,
                           list(log.history))


def _micro_batches(batch: tuple[torch.Tensor, ...], parts: int) -> list[tuple[torch.Tensor, ...]]:
    """Split every batch tensor (B, ...) into ``parts`` equal micro-batches along B."""
    if parts == 1:
        return [batch]
    return list(zip(*(t.chunk(parts) for t in batch)))


def _progress(enabled: bool, total: int, initial: int, name: str):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=f"train {name}", unit="step", dynamic_ncols=True)
