"""The results store: every spec-to-result pair of every run, in SQL (SQLite or PostgreSQL).

Public API: :class:`Store` and the records it takes and returns. Never imports torch.
"""

from echodsl.store.provenance import Provenance, collect_provenance
from echodsl.store.records import (Artifact, CaseResult, Metric, Run, RunIdentity, RunInfo, SetupRecord,
                                   SpecRecord)
from echodsl.store.schema import STATUSES
from echodsl.store.store import DEFAULT_STALE_AFTER_S, Store
from echodsl.store.writes import MetricValue

__all__ = [
    "Artifact", "CaseResult", "DEFAULT_STALE_AFTER_S", "Metric", "MetricValue", "Provenance", "Run",
    "RunIdentity", "RunInfo", "STATUSES", "SetupRecord", "SpecRecord", "Store", "collect_provenance",
]
