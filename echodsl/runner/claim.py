"""Claiming one pair in the results store, and keeping the claim alive while it trains.

Rank 0 (the only process in a single-GPU run) opens the store, records the pair's setup
and spec, and asks the store for the pair's identity: "done" (skip it), "busy" (another
live process trains it) or a run of its own ("new" or "resumed"). Every other rank of a
multi-GPU run follows rank 0's decision. A process that holds a run writes to it through
an :class:`~echodsl.store.outbox.Outbox` and beats a heartbeat, so a long step never
reads as a dead run.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field

from echodsl.lang.model import Study
from echodsl.runner.plan import Pair
from echodsl.runtime.assemble import RunConfig
from echodsl.runtime.checkpoint import set_aside_corrupt
from echodsl.runtime.distributed import Dist
from echodsl.runtime.trainer import Trainer
from echodsl.store import RunInfo, Store, collect_provenance
from echodsl.store.outbox import Outbox, deliver_kept
from echodsl.store.owner import process_owner
from echodsl.store.resilience import RetryPolicy

HEARTBEAT_S = 20.0


@dataclass
class Holding:
    """What this process holds while it works on a pair: the open store (rank 0 only), and
    once a run is claimed its id, its outbox and its heartbeat. Closed on every way out."""

    owner: str = field(default_factory=process_owner)
    store: Store | None = None
    run_id: int | None = None
    outbox: Outbox | None = None
    beat: "_Heartbeat | None" = None

    def close(self) -> None:
        if self.beat is not None:
            self.beat.stop()
        if self.outbox is not None:
            self.outbox.close()
        if self.store is not None:
            self.store.close()


@dataclass(frozen=True)
class Decision:
    """Rank 0's answer about a pair: "run" (this process trains it) or the store's reason
    not to ("skipped", "busy"), with the run it is about and why, when known."""

    status: str
    run_id: int | None = None
    error: str | None = None


RUN = Decision("run")


def recorded_setup(run: RunConfig) -> Study:
    """The study setup ``run`` was planned under (its train recipe with any override), as
    the store records it: ``recorded_setup(run).setup_hash == run.setup_hash``."""
    return Study(name=run.study or "", backbone=run.backbone, data=run.data, train=run.train, eval=run.eval,
                 profiles=(run.profile,), seeds=(run.seed,))


def claim_pair(pair: Pair, store_url: str, env: Dist, policy: RetryPolicy, holding: Holding) -> Decision:
    """Rank 0: record the pair's setup and spec, then claim its identity. On "run", take
    the run over: deliver records an earlier outage kept, set aside checkpoints whose
    sha256 does not match the store's, and start the outbox and heartbeat in ``holding``."""
    run = pair.run  # as planned: the spec file is not read again
    store = holding.store = policy.call(lambda: Store.open(store_url))
    policy.call(lambda: store.record_setup(recorded_setup(run)))
    policy.call(lambda: store.record_spec(run.profile, pair.source))
    info = RunInfo(pair.identity, pair.profile, pair.study, collect_provenance(str(env.device)),
                   compile_mode="eager")
    claim = policy.call(lambda: store.claim_run(info, owner=holding.owner))
    if claim.action == "done":
        return Decision("skipped", claim.run.run_id)
    if claim.action == "busy":
        return Decision("busy", claim.run.run_id, f"run {claim.run.run_id} is being trained by "
                        f"{claim.previous_owner or 'another process'}")
    run_id = holding.run_id = claim.run.run_id
    deliver_kept(store, pair.run_dir, policy)  # records an outage kept from the last try
    recorded = {a.path: a.sha256 for a in policy.call(lambda: store.artifacts(run_id)) if a.kind == "checkpoint"}
    for note in set_aside_corrupt(pair.run_dir / "checkpoints", recorded):
        print(f"echodsl: {note}; resuming from the newest intact checkpoint", file=sys.stderr)
    holding.outbox = Outbox(store, run_id, policy)
    holding.beat = _Heartbeat(holding.outbox, holding.owner)
    return RUN


def follow_rank0(env: Dist, decision: Decision | None) -> Decision:
    """Every rank's copy of rank 0's decision (``decision`` is None on the other ranks);
    they see the checkpoints rank 0 kept, since it decided before any rank trains."""
    if env.world > 1:
        import torch.distributed as dist

        shared = [None if decision is None or decision == RUN else decision.status]
        dist.broadcast_object_list(shared, src=0)
        if shared[0] is not None and decision is None:
            decision = Decision(shared[0])
    return decision or RUN


class _Heartbeat:
    """Beats from a background thread so long steps (or a torch.compile) never read as dead.
    Each beat joins the outbox's queue (a beat still waiting there absorbs the next)."""

    def __init__(self, outbox: Outbox, owner: str):
        self.outbox, self.owner, self.trainer = outbox, owner, None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def watch(self, trainer: Trainer) -> None:
        self.trainer = trainer

    def _loop(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            self.outbox.heartbeat(steps=self.trainer.step if self.trainer else None, owner=self.owner)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
