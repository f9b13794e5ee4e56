"""examples/mqar.py: the multi-query associative recall data and its
accuracy (the distillation workflow's retrieval probe)."""
import numpy as np
import pytest

import onnx_tools  # noqa: F401 (puts examples/ on the path)
import mqar


def test_batch_layout():
    rng = np.random.default_rng(0)
    ids, labels = mqar.batch(rng, 5, pairs=6, queries=4, vocab=64)
    assert ids.shape == labels.shape == (5, 20)
    for b in range(5):
        keys, values = ids[b, 0:12:2], ids[b, 1:12:2]
        assert len(set(keys)) == 6 and keys.min() >= 1 and keys.max() < 32
        assert values.min() >= 32 and values.max() < 64
        table = dict(zip(keys, values))
        # Each query key is followed by its value, which is the label there.
        for t in range(12, 20, 2):
            assert ids[b, t] in table
            assert ids[b, t + 1] == table[ids[b, t]] == labels[b, t]
        # Only the query keys are labelled.
        assert (labels[b, :12] == -100).all() and (labels[b, 13::2] == -100).all()
    with pytest.raises(ValueError):
        mqar.batch(rng, 1, pairs=40, queries=4, vocab=64)


def test_accuracy_counts_labelled_positions_only():
    labels = np.array([[-100, 3, -100, 1]])
    logits = np.zeros((1, 4, 5))
    logits[0, 1, 3] = 1  # right
    logits[0, 3, 2] = 1  # wrong
    logits[0, 0, 4] = 1  # unlabelled: not counted
    assert mqar.accuracy(logits, labels) == 0.5
