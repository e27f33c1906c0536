"""Eight writer processes on one fresh store (a SQLite file, a PostgreSQL database):
nothing is lost, nothing fails.

The processes start together on a database that does not exist yet, so they also race
to create the schema. Each writes 200 metrics one transaction at a time (the worst case
for lock contention), plus a case and a finish. Workers are forked, so they start
without re-importing anything; each opens its own Store after the fork.
"""

import multiprocessing
import traceback

from store_fixtures import start

from echodsl.store import Store

WRITERS, METRICS = 8, 200


def _worker(db, study, seed, go, errors) -> None:
    try:
        go.wait(60)
        with Store.open(db) as store:
            run_id = start(store, study, study.profiles[seed % len(study.profiles)], seed)
            for i in range(METRICS):
                store.log_metric(run_id, "train", "loss", float(i), step=i)
            store.log_case(run_id, "return_open", f"case-{seed}", {"overall": 1.0}, judge="rubric", judge_version="1")
            store.finish_run(run_id, steps=METRICS)
    except BaseException:  # noqa: BLE001 - reported to the parent, which fails the test
        errors.put(traceback.format_exc())
        raise


def test_concurrent_writers_lose_nothing(store_url, study):
    ctx = multiprocessing.get_context("fork")
    db, go, errors = store_url, ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(db, study, seed, go, errors)) for seed in range(WRITERS)]
    for p in procs:
        p.start()
    go.set()
    for p in procs:
        p.join(120)
    codes = [p.exitcode for p in procs]
    assert codes == [0] * WRITERS, f"exit codes {codes}: {errors.get(timeout=5) if not errors.empty() else ''}"
    with Store.open(db) as store:
        runs = store.runs(status="finished")
        assert sorted(r.identity.seed for r in runs) == list(range(WRITERS))
        for run in runs:
            losses = store.metrics(run.run_id, branch="train", name="loss")
            assert [m.value for m in losses] == [float(i) for i in range(METRICS)]
            assert len(store.cases(run.run_id)) == 1 and run.steps == METRICS
        latest = [m for m in store.latest_metrics() if m.name == "loss"]
        assert sorted(m.value for m in latest) == [float(METRICS - 1)] * WRITERS
        assert len(store.specs()) == min(WRITERS, len(study.profiles))
