"""Three-branch evaluation: replay, in-domain return, open-domain return.

Modules (import them directly; this package imports nothing, so ``echodsl judge
calibrate`` starts without torch):

* :mod:`.metrics` PSNR/SSIM (torchmetrics) per frame, per chunk, overall; frames in [-1, 1].
* :mod:`.lpips` LPIPS-alex from local weights (``--lpips-weights``); otherwise unavailable.
* :mod:`.cases` the fixed return-probe cases of the embedded world, and judge cases.
* :mod:`.judges` the judge interface, the ``rubric`` judge and the ``openai`` judge.
* :mod:`.write_probe` write capacity: decode the anchor's identity from the memory.
* :mod:`.calibration` agreement between judges (``echodsl judge calibrate``).
* :mod:`.aggregate` mean and t-interval per metric over seeds and cases.

The runners (need the rollout sampler and a trained run):

* :mod:`.run` ``evaluate(trained, EvalConfig, branches) -> EvalReport`` (``echodsl eval``);
* :mod:`.branches` replay, in-domain return, open-domain return and write capacity;
* :mod:`.generate` the held-out replay walks, rollouts, decoding, the memory at the return;
* :mod:`.report` ``EvalConfig``, the flat metric/case rows, multi-seed pooling, tables;
* :mod:`.plan` ``EvalPlan``: a study's ``eval`` clause -> branches, judge and ``EvalConfig``;
* :mod:`.resultlog` per-case results saved as they complete (``<run>/eval/<branch>.jsonl``).
* :mod:`.frames` return-probe rollouts kept as PNG strips for the study report (``<run>/eval/frames/``).
"""
