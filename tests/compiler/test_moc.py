"""Mixture-of-contexts compression: parameter-free re-weighting of stored frames by their
similarity to the targets."""

import torch

import echodsl
from echodsl.compiler import lower
from echodsl.families.frames.compression import MixtureOfContexts


def _frames(query, *directions):
    """Stored frames (1, T, n, D) whose every token points along one direction each."""
    return torch.stack([d.expand(3, -1) for d in directions])[None], torch.ones(1, len(directions), dtype=torch.bool)


def test_weights_follow_similarity_and_sum_to_the_frame_count():
    q = torch.tensor([1.0, 0.0, 0.0])
    tokens, mask = _frames(q, torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0]),
                           torch.tensor([-1.0, 0.0, 0.0]))
    out, keep = MixtureOfContexts(temperature=0.5)(tokens, mask, q[None])
    scale = out[0, :, 0, :].norm(dim=-1)  # (T,): each frame's weight (its tokens have norm 1)
    assert scale[0] > scale[1] > scale[2] > 0 and torch.isclose(scale.sum(), torch.tensor(3.0))
    assert keep.all()
    # A lower temperature sharpens the mixture; the uniform limit keeps every frame at 1.
    sharp = MixtureOfContexts(temperature=0.05)(tokens, mask, q[None])[0][0, :, 0].norm(dim=-1)
    flat = MixtureOfContexts(temperature=1e6)(tokens, mask, q[None])[0][0, :, 0].norm(dim=-1)
    assert sharp[0] > scale[0] and torch.allclose(flat, torch.ones(3), atol=1e-4)
    assert not list(MixtureOfContexts(0.1).parameters())


def test_top_keeps_the_most_similar_and_padding_never_counts():
    q = torch.tensor([1.0, 0.0])
    tokens, mask = _frames(q, torch.tensor([0.0, 1.0]), torch.tensor([1.0, 0.1]), torch.tensor([1.0, 0.0]))
    mask[0, 2] = False  # the most similar frame is padding
    out, keep = MixtureOfContexts(temperature=0.1, top=1)(tokens, mask, q[None])
    assert keep.tolist() == [[False, True, False]]
    assert torch.equal(out[0, 0], torch.zeros_like(out[0, 0])) and torch.equal(out[0, 2], torch.zeros_like(out[0, 2]))
    assert torch.allclose(out[0, 1], tokens[0, 1])  # the one kept frame at weight 1


def test_moc_profile_lowers_without_parameters_and_reads_by_the_targets(make_inputs):
    doc = echodsl.loads("""
        profile plain { storage frames(k = 5) }
        profile moc   { storage frames(k = 5)  compression moc(temperature = 0.1, top = 2) }
    """)
    plain, moc = lower(doc.profile("plain")), lower(doc.profile("moc"))
    assert moc.param_budget == plain.param_budget and moc.memory_tokens == plain.memory_tokens
    assert (moc.storage.temperature, moc.storage.top) == (0.1, 2)
    from echodsl.runtime import assemble

    model = assemble.make_model(moc, 0)
    args, mem = make_inputs(memory=4)
    memory = model.write_memory(mem)
    with torch.no_grad():
        out = model(*args, memory=memory)
        other = (args[0].flip(1),) + args[1:]  # other targets, the same memory
        keeps = [model.storage.read(memory, q)[1] for q in (torch.randn(2, 128), torch.randn(2, 128))]
    assert torch.isfinite(out).all() and not torch.equal(model(*other, memory=memory), out)
    assert all(int(k.sum()) == 2 * 2 * model.backbone.config.tokens_per_frame for k in keeps)  # top 2 of 4 frames
