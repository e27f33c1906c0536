"""Three-branch evaluation: replay, in-domain return, open-domain return (issue 7).

Modules (import them directly; this package imports nothing, so ``echodsl judge
calibrate`` starts without torch):

* :mod:`.metrics` PSNR/SSIM (torchmetrics) per frame, per chunk, overall; frames in [-1, 1].
* :mod:`.lpips` LPIPS-alex from local weights (``--lpips-weights``); otherwise unavailable.
* :mod:`.cases` the fixed return-probe cases of the embedded world, and judge cases.
* :mod:`.judges` the judge interface, the ``rubric`` judge and the ``openai`` judge.
* :mod:`.write_probe` write capacity: decode the anchor's identity from the memory.
* :mod:`.calibration` agreement between judges (``echodsl judge calibrate``).
* :mod:`.aggregate` mean and t-interval per metric over seeds and cases.

How the branch runners use them (the runners themselves need the rollout sampler):

* replay: roll out along held-out segments' true cameras, then
  ``summarize(frame_metrics(generated, truth, lpips), chunk=chunk_lengths)``;
* in-domain return: ``return_probes(world, "in", n)``, roll out each probe, score the
  revisit frames ``probe.revisit`` with ``frame_metrics`` against the probe's frames;
* open-domain return: ``return_probes(world, "open", n)``, roll out, then
  ``judge.score_many([judge_case(probe, frames) ...], progress=save_one)``;
  write capacity from the memory state after the leave phase with ``write_capacity``;
* every per-case value becomes an ``aggregate.Score(seed, case_id, metric, value)``.
"""
