"""torchrun/DDP plumbing: gloo on CPU, nccl on CUDA; a no-op in a single process.

Every rank computes the same global batch order and takes its own slice of it, and each
sample's noise is seeded by its global index, so N processes with batch B/N each train
exactly what one process with batch B would (up to float summation order).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str | None = None) -> Dist:
    """Join the torchrun process group if launched by torchrun, else a single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device is None:
        device = f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    rank = dist.get_rank() if dist.is_initialized() else 0
    return Dist(rank=rank, world=world, local_rank=local_rank, device=dev)


def all_mean(value: torch.Tensor, env: Dist) -> torch.Tensor:
    """Mean of a tensor over ranks (identity in a single process)."""
    if env.world == 1:
        return value
    value = value.clone()
    dist.all_reduce(value, op=dist.ReduceOp.SUM)
    return value / env.world


def local_slice(global_indices: list[int], env: Dist) -> list[int]:
    """This rank's contiguous share of a global batch (the batch must divide evenly)."""
    if len(global_indices) % env.world:
        raise ValueError(f"global batch {len(global_indices)} does not divide over {env.world} processes")
    per = len(global_indices) // env.world
    return global_indices[env.rank * per:(env.rank + 1) * per]


def barrier(env: Dist) -> None:
    if env.world > 1:
        dist.barrier()
