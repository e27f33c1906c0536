"""``echodsl data encode``: every frame's VAE latent and every caption's text embedding,
computed once into the caches training and evaluation read.

Latents go to the shared latent cache (``$ECHODSL_CACHE/latents``, else
``~/.cache/echodsl/latents``; one safetensors file per frame, keyed by the codec's
fingerprint and the frame's pixels, its sha256 in the file and checked on every read);
caption embeddings to the text encoder's cache. A frame or caption already cached is
read back and checked, not recomputed, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from echodsl.cache import cache_root

FRAMES_PER_CALL = 8  # frames encoded per VAE call: bounded memory, a steady progress bar


def default_latent_dir() -> Path:
    """The latent cache every run reads unless told otherwise."""
    return cache_root() / "latents"


@dataclass
class EncodeSummary:
    sequences: int = 0
    frames: int = 0
    encoded: int = 0  # frames newly encoded (the rest were in the cache and checked)
    captions: int = 0
    cache: str = ""

    def to_json(self) -> dict:
        return dict(self.__dict__)


def encode_dataset(run, root: Path, cache_dir: Path | None = None, progress: bool = True) -> EncodeSummary:
    """Encode every frame and caption of the dataset at ``root`` as ``run`` reads it."""
    from echodsl.data.sources import open_source
    from echodsl.data.text import TextConfig, embed_caption
    from echodsl.runtime.assemble import backbone_of, codec_cache

    bb = backbone_of(run)
    source = open_source(run.data.variant, root, *bb.frame_hw)
    cache_dir = cache_dir or default_latent_dir()
    cache = codec_cache(run, cache_dir)
    text = TextConfig.of(bb)
    summary = EncodeSummary(cache=str(cache.root) if cache.root else "none (the pixel codec needs no cache)")
    sequences = [source.sequence(i) for i in range(len(source))]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=sum(len(s.poses) for s in sequences), desc="encode", unit="frame", dynamic_ncols=True)
    try:
        for seq in sequences:
            count = len(seq.poses)
            for start in range(0, count, FRAMES_PER_CALL):
                picks = list(range(start, min(count, start + FRAMES_PER_CALL)))
                before = cache.encoded
                cache.encode(seq.frames(picks))  # (n, C, h, w); writes the frames it lacks
                summary.encoded += cache.encoded - before
                summary.frames += len(picks)
                if bar:
                    bar.update(len(picks))
            if text.encoder and seq.caption:
                embed_caption(seq.caption, text)
                summary.captions += 1
            summary.sequences += 1
    finally:
        if bar:
            bar.close()
    return summary
