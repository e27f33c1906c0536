"""The write-capacity probe decodes identity from separable features and not from noise."""

from __future__ import annotations

import pytest
import torch

from echodsl.eval.write_probe import WriteProbeConfig, pool_features, split, write_capacity


def data(separable: bool, n=120, d=24, k=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(k, (n,), generator=g)
    centres = 3 * torch.randn(k, d, generator=g)
    noise = torch.randn(n, 10, d, generator=g)  # 10 memory tokens per case
    return (noise + centres[labels][:, None] if separable else noise), labels


@pytest.mark.parametrize("kind", ["linear", "mlp"])
def test_separable_memory_decodes_and_random_memory_does_not(kind):
    config = WriteProbeConfig(kind=kind, steps=150)
    tokens, labels = data(True)
    good = write_capacity(pool_features(tokens), labels, config)
    assert good.accuracy == 1.0 and good.kind == kind and good.classes == 4
    noise, labels = data(False)
    bad = write_capacity(pool_features(noise), labels, config)
    assert bad.accuracy < good.chance + 0.25
    assert bad == write_capacity(pool_features(noise), labels, config)  # seeded


def test_split_is_stratified_disjoint_and_seeded():
    labels = torch.tensor([0] * 10 + [1] * 5 + [2])
    train, test = split(labels, 0.3, seed=1)
    assert sorted(torch.cat([train, test]).tolist()) == list(range(16))
    assert torch.bincount(labels[test], minlength=3).tolist() == [3, 2, 0]
    assert torch.equal(test, split(labels, 0.3, seed=1)[1]) and not torch.equal(test, split(labels, 0.3, seed=2)[1])


def test_pool_features_shapes():
    assert pool_features(torch.ones(5, 3, 4, 8)).shape == (5, 8)
    assert torch.equal(pool_features(torch.eye(3)), torch.eye(3))
