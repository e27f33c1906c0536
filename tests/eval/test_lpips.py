"""The local-weights LPIPS: equal to torchmetrics' LPIPS for the same backbone weights,
loadable from torchvision-style and LPIPS-style state dicts, and never invented."""

from __future__ import annotations

import copy
from unittest import mock

import pytest
import torch
import torchmetrics.functional.image.lpips as tm_lpips

from echodsl.errors import DataError
from echodsl.eval.lpips import _alexnet_features, load_lpips
from echodsl.eval.metrics import frame_metrics, summarize


@pytest.fixture(scope="module")
def backbone() -> torch.nn.Sequential:
    torch.manual_seed(0)  # random stand-in weights: the arithmetic is what is tested
    return _alexnet_features()


def pairs(n=3, size=40):
    g = torch.Generator().manual_seed(1)
    return torch.rand(n, 3, size, size, generator=g) * 2 - 1, torch.rand(n, 3, size, size, generator=g) * 2 - 1


def test_matches_torchmetrics_lpips_with_the_same_backbone(tmp_path, backbone):
    path = tmp_path / "alexnet.pth"
    torch.save({f"features.{k}": v for k, v in backbone.state_dict().items()}, path)  # torchvision keys
    ours = load_lpips(path)
    with mock.patch.object(tm_lpips, "_get_tv_model_features", lambda net, pretrained=False: copy.deepcopy(backbone)):
        reference = tm_lpips._LPIPS(pretrained=True, net="alex").eval()
    x, y = pairs()
    with torch.no_grad():
        assert torch.allclose(ours(x, y), reference(x, y).flatten(), atol=1e-6)
    assert torch.equal(ours(x, x), torch.zeros(3))
    assert ours.kind == "alex-state-dict" and ours.source == str(path)


def test_lpips_style_state_dict_with_its_own_linear_layers(tmp_path, backbone):
    slices = {0: 1, 3: 2, 6: 3, 8: 4, 10: 5}
    state = {f"net.slice{slices[int(k.split('.')[0])]}.{k}": v for k, v in backbone.state_dict().items()}
    state.update({f"lin{i}.model.1.weight": torch.ones(1, c, 1, 1) for i, c in enumerate((64, 192, 384, 256, 256))})
    torch.save(state, tmp_path / "lpips.pth")
    x, y = pairs(2)
    assert (load_lpips(tmp_path / "lpips.pth")(x, y) > 0).all()


def test_no_path_is_unavailable_and_a_bad_path_is_an_error(tmp_path):
    assert load_lpips(None) is None
    with pytest.raises(DataError, match="not found"):
        load_lpips(tmp_path / "missing.pth")
    torch.save({"fc.weight": torch.zeros(2, 2)}, tmp_path / "other.pth")
    with pytest.raises(DataError, match="AlexNet"):
        load_lpips(tmp_path / "other.pth")
    (tmp_path / "junk.bin").write_bytes(b"not a model")
    with pytest.raises(DataError):
        load_lpips(tmp_path / "junk.bin")


def test_exported_module_and_small_frames_in_frame_metrics(tmp_path):
    class L1(torch.nn.Module):
        def forward(self, x, y):
            return (x - y).abs().mean((1, 2, 3))

    x = torch.zeros(2, 3, 32, 32)
    torch.export.save(torch.export.export(L1(), (x, x.clone())), tmp_path / "l1.pt2")
    lp = load_lpips(tmp_path / "l1.pt2")
    pred = torch.full((1, 2, 3, 16, 16), 0.5)  # 16 px frames are upsampled to 32 for the backbone
    summary = summarize(frame_metrics(pred, torch.zeros_like(pred), lp), 1)
    assert summary.per_chunk["lpips"] == pytest.approx([0.5, 0.5]) and "lpips" not in summary.notes
