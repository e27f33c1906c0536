"""``python -m echodsl.runner PAIR_FILE``: one planned pair (its JSON in a file) in a fresh process.

Used by ``echodsl study --jobs N`` and ``--gpus-per-run N`` (under torchrun). The store URL
comes in the environment (``ECHODSL_WORKER_STORE``), never on the command line, where
``ps`` would show any password in it. With ``ECHODSL_WORKER_PARENT`` set, the worker
dies with that parent process (Linux). Exit codes: 0 finished, 3 already finished
(skipped), 4 another process trains it (busy), 5 failed because the store stayed
unreachable past ``--store-retry`` seconds (the run is checkpointed), 1 failed otherwise,
128 + signal when stopped by SIGTERM/SIGINT (the run is checkpointed and marked interrupted).
"""

import argparse
import os
import sys

from echodsl.runner.launch import PARENT_ENV, STORE_ENV, STORE_UNREACHABLE_EXIT
from echodsl.runner.plan import Pair
from echodsl.runner.signals import RunInterrupted, die_with_parent
from echodsl.eval.plan import EvalSizes
from echodsl.runner.worker import run_pair

EXIT_CODES = {"finished": 0, "skipped": 3, "busy": 4}

parser = argparse.ArgumentParser(prog="python -m echodsl.runner")
parser.add_argument("pair", help="a file holding the planned pair's JSON")
parser.add_argument("--cases", type=int, default=0)
parser.add_argument("--chunks", type=int, default=0)
parser.add_argument("--steps", type=int, default=0)
parser.add_argument("--device", default=None)
parser.add_argument("--store-retry", type=float, default=None, help="seconds a store outage is ridden out")
args = parser.parse_args()
store = os.environ.get(STORE_ENV)
if not store:
    parser.error(f"set {STORE_ENV} to the results store's URL or path")
sizes = EvalSizes(args.cases or None, args.chunks or None, args.steps or None)
try:
    if os.environ.get(PARENT_ENV, "").isdigit():
        die_with_parent(int(os.environ[PARENT_ENV]))
    with open(args.pair, encoding="utf-8") as f:
        pair = Pair.from_json(f.read())
    retry = {} if args.store_retry is None else {"store_retry_s": args.store_retry}
    outcome = run_pair(pair, store, sizes=sizes, device=args.device, progress=False, **retry)
except RunInterrupted as exc:
    print(f"interrupted: {exc}; the run is checkpointed and marked interrupted", flush=True)
    sys.stderr.flush()
    os._exit(exc.exit_code)  # recorded and closed: do not wait on threads a signal may have stranded
print(f"{outcome.status}: {outcome.pair.label}" + (f": {outcome.error}" if outcome.error else ""))
sys.exit(STORE_UNREACHABLE_EXIT if outcome.store_unreachable else EXIT_CODES.get(outcome.status, 1))
