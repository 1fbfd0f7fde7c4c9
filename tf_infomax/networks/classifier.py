"""The classifier on frozen latent codes of Section 6.2 (paper, Table 7)."""

from __future__ import annotations

from collections.abc import Sequence

import keras

TABLE7_HIDDEN_UNITS = (1000, 500, 100)


def table7_classifier(
    latent_dim: int,
    num_classes: int,
    *,
    hidden_units: Sequence[int] = TABLE7_HIDDEN_UNITS,
) -> keras.Model:
    """z -> FC 1000, 500, 100 ReLU -> FC num_classes softmax (10 for CIFAR-10, 100 for -100).

    Returns an uncompiled model whose output is class probabilities.

    Example:
        >>> probe = table7_classifier(100, 10)
        >>> probe.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        >>> probe.fit(train_codes, train_labels, validation_data=(test_codes, test_labels))
    """
    if latent_dim < 1 or num_classes < 2:
        raise ValueError(
            f"Need latent_dim >= 1 and num_classes >= 2, got {latent_dim}, {num_classes}."
        )
    inputs = keras.Input((latent_dim,), name="codes")
    x = inputs
    for i, units in enumerate(hidden_units):
        x = keras.layers.Dense(units, activation="relu", name=f"dense_{i}")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="class_probabilities")(x)
    return keras.Model(inputs, outputs, name="table7_classifier")
