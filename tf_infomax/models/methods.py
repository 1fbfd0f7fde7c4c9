"""The four methods as regularizer weights of one model (eq. 3, 6 and Appendix A).

Every method minimises, per example,

    -log p(x|z) + beta * KL(q(z|x) || p(z)) + mmd_weight * MMD(q(z), p(z)) - alpha * I_hat(x; z)

* ``vae``: beta = 1, alpha = 0 (eq. 1).
* ``beta-vae``: beta != 1 (Higgins et al.), alpha = 0; default beta = 4.
* ``infovae``: Zhao et al.'s objective (Appendix A) with their weights a (``infovae_alpha``) and
  lambda (``infovae_lambda``): beta = 1 - a and mmd_weight = a + lambda - 1. Defaults a = 0,
  lambda = 1000, the MMD-VAE setting Zhao et al. recommend (the MMD is small, so its weight is
  large).
* ``infomax-vae``: beta = 1, alpha = 10 (Table 5), with a critic estimating I(x; z).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

METHODS = ("vae", "beta-vae", "infovae", "infomax-vae")


@dataclass(frozen=True)
class RegularizerWeights:
    """Weights of the terms of the objective above."""

    beta: float = 1.0
    alpha: float = 0.0
    mmd_weight: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def method_weights(
    method: str,
    *,
    beta: float | None = None,
    alpha: float | None = None,
    infovae_alpha: float = 0.0,
    infovae_lambda: float = 1000.0,
) -> RegularizerWeights:
    """Regularizer weights of a named method; ``beta``/``alpha`` override the defaults.

    Raises:
        ValueError: unknown method, or weights that contradict the method (a VAE with
            alpha > 0 is an InfoMax-VAE; say so instead).
    """
    if method == "vae":
        if (beta not in (None, 1.0)) or (alpha not in (None, 0.0)):
            raise ValueError(
                "'vae' has beta=1 and alpha=0; use --model beta-vae to change beta or "
                "--model infomax-vae to add the mutual-information term."
            )
        weights = RegularizerWeights()
    elif method == "beta-vae":
        if alpha not in (None, 0.0):
            raise ValueError("'beta-vae' has alpha=0; use 'infomax-vae' for an MI term.")
        weights = RegularizerWeights(beta=4.0 if beta is None else beta)
    elif method == "infovae":
        if beta is not None or alpha is not None:
            raise ValueError(
                "'infovae' is set by its own weights: infovae_alpha (a) and infovae_lambda "
                "(lambda), giving beta = 1 - a and mmd_weight = a + lambda - 1."
            )
        weights = RegularizerWeights(
            beta=1.0 - infovae_alpha, mmd_weight=infovae_alpha + infovae_lambda - 1.0
        )
    elif method == "infomax-vae":
        weights = RegularizerWeights(
            beta=1.0 if beta is None else beta, alpha=10.0 if alpha is None else alpha
        )
    else:
        raise ValueError(f"Unknown model {method!r}; choose one of {list(METHODS)}.")
    check_weights(weights)
    return weights


def check_weights(weights: RegularizerWeights) -> None:
    """Reject negative weights (eq. 3 requires alpha, beta >= 0)."""
    for name, value in weights.as_dict().items():
        if not value >= 0:  # also catches NaN
            raise ValueError(f"{name} must be >= 0 (eq. 3), got {value}.")


# The VAE optimizer's global-norm clip by default with the f-KL MI term (eq. 6): high enough to
# leave ordinary steps alone, low enough to stop the exp(t - 1) bursts that reached NaN
# (docs/results/fashion_mnist_convergence_notes.md, "Divergence").
FKL_CLIPNORM = 1000.0
# The same clip without the f-KL term: a 10-layer decoder's gradient explodes (norm ~130 to
# 4,449 in six steps, then NaN) in 3 of the 4 beta-VAE and InfoVAE runs of Tables 2-3; 300
# carried the failing epochs, firing on 0.7-2.5% of their steps, where 1000 did not
# (docs/results/fashion_mnist_notes.md, depth 10).
CLIPNORM = 300.0


def clipnorm_by_default(alpha: float, estimator: str) -> float:
    """The VAE optimizer's ``global_clipnorm`` unless told otherwise: ``FKL_CLIPNORM`` for the
    f-KL MI term (eq. 6) with alpha > 0, ``CLIPNORM`` otherwise (0.2: none).

    Without it, ``infomax-vae_d4_s1`` of the convergence study reached NaN at epoch 21: one
    step's log E[exp(t - 1)] jumped from -7 to 0 and the VAE gradient norm ran from ~10^2 to
    4 x 10^5. Replayed with the clip, that epoch completes with it firing on 0.7% of steps.
    """
    return FKL_CLIPNORM if alpha > 0 and estimator == "f-kl" else CLIPNORM


def ema_by_default(alpha: float, estimator: str) -> bool:
    """Whether the VAE optimizer keeps a moving average of the weights unless told otherwise.

    On for the f-KL MI term (eq. 6) with alpha > 0: its exp(t - 1) gradient makes the weights at
    any one step noisy (validation -ELBO epoch-to-epoch sd 2.7-3.6 nats vs VAE's 0.6-0.8); the
    average takes the noise out (0.5-0.6; docs/results/fashion_mnist_convergence_notes.md).
    """
    return alpha > 0 and estimator == "f-kl"


# Marginal partners per example by default with the f-KL MI term (eq. 6): at K = 1 most of the
# MI gradient at the encoder is the one-partner estimate's noise; 16 cuts its spread about 10
# fold for 1.7 times the step time (docs/results/fashion_mnist_convergence_notes.md, "More
# marginal pairs per example").
FKL_MARGINAL_SAMPLES = 16


def marginal_samples_by_default(alpha: float, estimator: str) -> int:
    """K, the critic's marginal partners per example, unless told otherwise:
    ``FKL_MARGINAL_SAMPLES`` for the f-KL MI term (eq. 6) with alpha > 0, 1 otherwise (the other
    bounds have no exp(t - 1) term of one partner, or score every pair already)."""
    return FKL_MARGINAL_SAMPLES if alpha > 0 and estimator == "f-kl" else 1


# The floor of the posterior log-variance without the f-KL term: with a 10-layer decoder the
# clip at 300 alone did not carry InfoVAE seed 1's epoch 8 (the smallest log-variance fell to
# -170 under clipped steps), the clip with this floor did, as it carried the two other failing
# epochs (docs/results/fashion_mnist_notes.md, depth 10). The f-KL runs never needed it.
MIN_LOG_VAR = -10.0


def min_log_var_by_default(alpha: float, estimator: str) -> float | None:
    """The floor of log Var q(z|x) unless told otherwise: none for the f-KL MI term (eq. 6)
    with alpha > 0, ``MIN_LOG_VAR`` otherwise (0.2: none)."""
    return None if alpha > 0 and estimator == "f-kl" else MIN_LOG_VAR


# The bound of the MI term's own gradient (alpha * dI/dw, eq. 6) by default with the f-KL MI
# term: with 16 marginal pairs ordinary steps stay below it (at fixed weights the MI gradient
# on the encoder's weights peaks at 154-184), and it carried the run whose epoch 17 diverged
# without it, firing on 0.29% of steps (docs/results/fashion_mnist_convergence_notes.md).
FKL_MI_CLIPNORM = 300.0


def mi_clipnorm_by_default(alpha: float, estimator: str) -> float | None:
    """The global-norm clip of the MI term's gradient unless told otherwise: ``FKL_MI_CLIPNORM``
    for the f-KL MI term (eq. 6) with alpha > 0, none otherwise (the other bounds' gradients
    have no exp(t - 1) of a single pair to burst)."""
    return FKL_MI_CLIPNORM if alpha > 0 and estimator == "f-kl" else None
