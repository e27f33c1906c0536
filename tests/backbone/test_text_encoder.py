"""Real caption conditioning through a local umT5 folder: Wan's padding (rows past the
caption zeroed), the on-disk cache keyed by (encoder, caption), and the spec wiring."""

from __future__ import annotations

import pytest
import torch

import echodsl
from echodsl.backbone.text_encoder import CaptionEncoder
from echodsl.errors import DataError
from echodsl.runtime import assemble

from tiny_umt5 import save_tiny_umt5

pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def umt5(tmp_path_factory):
    return save_tiny_umt5(tmp_path_factory.mktemp("umt5"))


def test_padded_positions_are_zero_and_the_rest_is_the_encoder(umt5, tmp_path):
    from transformers import UMT5EncoderModel

    enc = CaptionEncoder(umt5, text_len=8, dim=32, cache_dir=tmp_path)
    emb = enc("a room  with red\nwalls")  # 5 words + </s>: 6 real tokens
    assert emb.shape == (8, 32) and emb.dtype == torch.float32
    assert torch.all(emb[6:] == 0) and torch.all(emb[:6].abs().sum(-1) > 0)
    ids = torch.tensor([[3, 6, 8, 9, 12, 1]])
    with torch.no_grad():
        direct = UMT5EncoderModel.from_pretrained(umt5).eval()(input_ids=ids).last_hidden_state[0]
    # the attention mask hides padding from every real token: their rows are the unpadded encoding
    assert torch.allclose(emb[:6], direct, atol=1e-5)


def test_the_cache_is_keyed_by_encoder_and_caption_and_checked(umt5, tmp_path):
    enc = CaptionEncoder(umt5, text_len=8, dim=32, cache_dir=tmp_path)
    first = enc("the blue room")
    path = enc.cache_path("the blue room")
    assert path.is_file() and path.parent.parent.name == enc.sha256[:16]
    again = CaptionEncoder(umt5, text_len=8, dim=32, cache_dir=tmp_path)
    assert again("the blue room").equal(first) and again._model is None  # read back, encoder never loaded
    other = save_tiny_umt5(tmp_path / "other", seed=1)
    assert CaptionEncoder(other, 8, 32, tmp_path).cache_path("the blue room") != path
    data = bytearray(path.read_bytes())
    data[-4:] = b"\x00\x00\x80\x7f"  # flip the last value
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match="sha256"):
        CaptionEncoder(umt5, 8, 32, tmp_path)("the blue room")


def test_a_width_mismatch_is_a_clear_error(umt5, tmp_path):
    with pytest.raises(DataError, match="expects text_dim 64"):
        CaptionEncoder(umt5, text_len=8, dim=64, cache_dir=tmp_path)("a room")


SPEC = """
profile ctx_k3 {{
    storage     frames(k = 3, select = fov(samples = 64))
}}

study texted {{
    backbone    wan(preset = tiny, text_encoder = "{encoder}")
    data        world(scenes = 2)
    train       flow(steps = 1, lr = 1e-3, batch = 1, shift = 1)
    profiles    ctx_k3
}}
"""


def test_training_reads_encoder_embeddings_through_the_spec(umt5, tmp_path, monkeypatch):
    from echodsl.runtime.trainer import Trainer, TrainOptions

    monkeypatch.setenv("ECHODSL_CACHE", str(tmp_path / "cache"))
    study = echodsl.loads(SPEC.format(encoder=umt5)).studies["texted"]
    run = assemble.RunConfig.from_study(study, study.profile("ctx_k3"), 0, tmp_path)
    assert len(run.backbone["text_encoder_sha256"]) == 64
    trainer = Trainer(run, TrainOptions(out=tmp_path / "run", progress=False, device="cpu"))
    item = trainer.dataset[0]
    want = CaptionEncoder(umt5, 8, 32, tmp_path / "cache" / "text")(item["caption"])
    assert item["text"].equal(want) and item["text"].abs().sum() > 0
    loss, _ = trainer.train_step()
    assert torch.isfinite(torch.tensor(loss))
