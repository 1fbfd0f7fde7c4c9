"""Probes: separable codes are classified perfectly, codes independent of labels at chance."""

from __future__ import annotations

import numpy as np
import pytest

from tf_infomax.metrics import linear_probe, mlp_probe


def gaussian_classes(n: int, informative: bool, seed: int):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, n)
    centres = np.array([[4, 0, 0], [0, 4, 0], [0, 0, 4], [-4, -4, -4]], np.float64)
    codes = rng.standard_normal((n, 3)) + (centres[labels] if informative else 0.0)
    return codes, labels


@pytest.mark.parametrize("probe", [linear_probe, mlp_probe])
def test_probe_reads_informative_codes_and_not_noise(probe):
    kwargs = {} if probe is linear_probe else dict(hidden_units=(16, 8), max_epochs=30)
    train, test = gaussian_classes(800, True, 0), gaussian_classes(400, True, 1)
    result = probe(*train, *test, **kwargs)
    assert result.accuracy > 0.97 and result.train_accuracy > 0.97
    assert result.iterations >= 1 and result.time_s >= 0
    noise_train, noise_test = gaussian_classes(800, False, 2), gaussian_classes(400, False, 3)
    assert probe(*noise_train, *noise_test, **kwargs).accuracy < 0.4  # chance is 0.25
