"""The study report: one self-contained HTML page per study (``echodsl report``).

* :mod:`.collect` what the page shows, read from the results store and the run
  directories (comparison table with per-branch ranks, specs, probes, judge cases,
  write vs read-out capacity, provenance);
* :mod:`.media` the embedded images: figures, filmstrips, animated rollouts;
* :mod:`.page` the Jinja2 rendering into ``<out>/index.html``.
"""
