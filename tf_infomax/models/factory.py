"""Build a ready model from a :class:`~tf_infomax.config.ModelConfig` (or a method name)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from tf_infomax.config import ModelConfig
from tf_infomax.models.infomax_vae import InfoMaxVAE, build_critic
from tf_infomax.models.methods import method_weights
from tf_infomax.networks.registry import build_networks, default_critic_units


def build_model(
    method: str | ModelConfig = "infomax-vae",
    *,
    image_shape: Sequence[int] = (28, 28, 1),
    seed: int = 0,
    **options,
) -> InfoMaxVAE:
    """An uncompiled ``InfoMaxVAE`` configured as one of the four methods.

    Args:
        method: ``vae``, ``beta-vae``, ``infovae`` or ``infomax-vae``, or a whole
            ``ModelConfig``.
        image_shape: (H, W, C) of the data.
        seed: seed of the sampling noise and permutations.
        **options: fields of ``ModelConfig`` (``latent_dim``, ``arch``, ``arch_options``,
            ``decoder_layers``, ``estimator``, ``beta``, ``alpha``, ``infovae_alpha``,
            ``infovae_lambda``, ``critic_units``, ``track_mi``, ``likelihood``,
            ``critic_score_bound``, ``min_log_var``, ``diagnostics``, ``marginal_pairs``,
            ``marginal_scope``, ``marginal_samples``),
            replacing its values.

    Example:
        >>> build_model("infomax-vae", image_shape=(28, 28, 1), latent_dim=20)
    """
    config = method if isinstance(method, ModelConfig) else ModelConfig(method=method)
    known = {f.name for f in dataclasses.fields(ModelConfig)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(f"Unknown model options {unknown}; valid: {sorted(known)}.")
    config = dataclasses.replace(config, **options)
    weights = method_weights(
        config.method,
        beta=config.beta,
        alpha=config.alpha,
        infovae_alpha=config.infovae_alpha,
        infovae_lambda=config.infovae_lambda,
    )
    encoder, decoder = build_networks(
        config.arch,
        tuple(image_shape),
        config.latent_dim,
        config.decoder_layers,
        **(config.arch_options or {}),
    )
    critic = None
    if weights.alpha > 0 or config.track_mi:
        units = config.critic_units or default_critic_units(config.arch)
        critic = build_critic(units, output_bound=config.critic_score_bound)
    return InfoMaxVAE(
        encoder,
        decoder,
        critic,
        likelihood=config.likelihood,
        estimator=config.estimator,
        seed=seed,
        min_log_var=config.min_log_var,
        diagnostics=config.diagnostics,
        marginal_pairs=config.marginal_pairs,
        marginal_scope=config.marginal_scope,
        marginal_samples=config.marginal_samples,
        name=config.method.replace("-", "_"),
        **weights.as_dict(),
    )
