"""Checkpoints are checked against their recorded sha256 before a resume."""

import pytest
import torch

from echodsl.errors import RuntimeFailure
from echodsl.runtime.checkpoint import (list_checkpoints, read_checkpoint, recorded_digest, save_checkpoint,
                                        set_aside_corrupt)


def _three_checkpoints(directory):
    model = torch.nn.Linear(64, 64)
    optimizer = torch.optim.AdamW(model.parameters())
    return [save_checkpoint(directory, step, model, optimizer, {"step": step}) for step in (1, 2, 3)]


def _zero_middle(path, size=4096):
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + size] = bytes(min(size, len(data) - middle))  # header intact, tensors zeroed
    path.write_bytes(bytes(data))


def test_a_zeroed_checkpoint_is_refused_and_set_aside_for_the_newest_intact_one(tmp_path):
    paths = _three_checkpoints(tmp_path)
    assert all(recorded_digest(p) for p in paths)
    _zero_middle(paths[-1])
    with pytest.raises(RuntimeFailure, match="sha256"):
        read_checkpoint(paths[-1])
    notes = set_aside_corrupt(tmp_path)
    assert len(notes) == 1 and "step_00000003" in notes[0] and "set aside" in notes[0]
    assert list_checkpoints(tmp_path) == paths[:2]  # a resume now starts from step 2
    assert (tmp_path / "step_00000003.safetensors.corrupt").exists()
    assert read_checkpoint(paths[1]).step == 2


def test_the_store_recorded_hash_catches_a_checkpoint_without_its_sha256_file(tmp_path):
    paths = _three_checkpoints(tmp_path)
    recorded = {str(p.resolve()): recorded_digest(p) for p in paths}
    for p in paths:
        p.with_name(p.name + ".sha256").unlink()
    data = bytearray(paths[1].read_bytes())
    data[-8:] = b"\xff" * 8  # bytes overwritten at the end
    paths[1].write_bytes(bytes(data))
    assert set_aside_corrupt(tmp_path) == []  # nothing to compare with
    notes = set_aside_corrupt(tmp_path, recorded)
    assert len(notes) == 1 and "step_00000002" in notes[0]
    assert list_checkpoints(tmp_path) == [paths[0], paths[2]]
