"""``python -m echodsl.runner PAIR_JSON STORE_URL``: one pair in a fresh process.

Used by ``echodsl study --jobs N`` and ``--gpus-per-run N`` (under torchrun). Exit codes:
0 finished, 3 already finished (skipped), 1 failed.
"""

import argparse
import sys

from echodsl.runner.plan import Pair
from echodsl.runner.worker import EvalSizes, run_pair

parser = argparse.ArgumentParser(prog="python -m echodsl.runner")
parser.add_argument("pair")
parser.add_argument("store")
parser.add_argument("--cases", type=int, default=0)
parser.add_argument("--chunks", type=int, default=0)
parser.add_argument("--steps", type=int, default=0)
parser.add_argument("--device", default=None)
args = parser.parse_args()
sizes = EvalSizes(args.cases or None, args.chunks or None, args.steps or None)
outcome = run_pair(Pair.from_json(args.pair), args.store, sizes=sizes, device=args.device, progress=False)
print(f"{outcome.status}: {outcome.pair.label}" + (f": {outcome.error}" if outcome.error else ""))
sys.exit({"finished": 0, "skipped": 3}.get(outcome.status, 1))
