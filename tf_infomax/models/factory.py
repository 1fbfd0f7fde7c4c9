"""Build a ready model from names: method, architecture, estimator."""

from __future__ import annotations

from collections.abc import Sequence

from tf_infomax.models.infomax_vae import InfoMaxVAE, build_critic
from tf_infomax.models.methods import method_weights
from tf_infomax.networks.registry import build_networks, default_critic_units


def build_model(
    method: str = "infomax-vae",
    *,
    image_shape: Sequence[int] = (28, 28, 1),
    latent_dim: int = 20,
    arch: str = "fc",
    arch_options: dict | None = None,
    decoder_layers: int | None = None,
    estimator: str = "f-kl",
    beta: float | None = None,
    alpha: float | None = None,
    infovae_alpha: float = 0.0,
    infovae_lambda: float = 1000.0,
    critic_units: Sequence[int] | None = None,
    track_mi: bool = False,
    likelihood: str = "bernoulli",
    seed: int = 0,
    critic_score_bound: float | None = 20.0,
    min_log_var: float | None = -10.0,
    diagnostics: bool = False,
) -> InfoMaxVAE:
    """An uncompiled ``InfoMaxVAE`` configured as one of the four methods.

    Args:
        method: ``vae``, ``beta-vae``, ``infovae`` or ``infomax-vae``.
        image_shape: (H, W, C) of the data.
        latent_dim: size of z.
        arch: network family (``tf_infomax.networks.ARCHITECTURES``).
        arch_options: the family's own width options, e.g. ``{"filters": 16}`` for
            ``pixelvae`` (see the builders in ``tf_infomax.networks.registry``).
        decoder_layers: hidden layers of the generative net (Tables 2-3).
        estimator: MI bound used by the critic.
        beta, alpha, infovae_alpha, infovae_lambda: see ``methods.method_weights``.
        critic_units: hidden widths of the critic MLP (default: the authors' for ``arch``,
            ``tf_infomax.networks.default_critic_units``).
        track_mi: give methods without an MI term a critic too, so MI is logged while training
            (it does not change their objective).
        likelihood: ``bernoulli`` or ``gaussian``.
        seed: seed for initialisation-independent sampling noise.
        critic_score_bound: soft bound on the critic's scores (``MLPCritic.output_bound``;
            None: unbounded).
        min_log_var: floor of the posterior log-variance (None: none).
        diagnostics: log the step's diagnostics (``tf_infomax.models.diagnostics``).
    """
    weights = method_weights(
        method,
        beta=beta,
        alpha=alpha,
        infovae_alpha=infovae_alpha,
        infovae_lambda=infovae_lambda,
    )
    encoder, decoder = build_networks(
        arch, tuple(image_shape), latent_dim, decoder_layers, **(arch_options or {})
    )
    units = critic_units or default_critic_units(arch)
    needs_critic = weights.alpha > 0 or track_mi
    critic = build_critic(units, output_bound=critic_score_bound) if needs_critic else None
    return InfoMaxVAE(
        encoder,
        decoder,
        critic,
        likelihood=likelihood,
        estimator=estimator,
        seed=seed,
        min_log_var=min_log_var,
        diagnostics=diagnostics,
        name=method.replace("-", "_"),
        **weights.as_dict(),
    )
