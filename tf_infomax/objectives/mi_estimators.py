"""Variational lower bounds on mutual information, as pure functions of critic scores.

A critic t(x, z) scores pairs. ``joint`` holds scores of pairs drawn from q(x, z) (each x with
its own z); ``marginal`` holds scores of pairs drawn from q(x) q(z) (x with the z of another
example of the batch, Algorithm 1 line 5: ``marginal_permutation``). Each bound returns an
:class:`Estimate`:

* ``mi``: the bound's estimate of I(x; z) in nats;
* ``critic_objective``: what the critic maximises, and what the encoder maximises with weight
  alpha (eq. 4-6). For the KL bounds both are equal; for Jensen-Shannon the critic maximises the
  JS dual while ``mi`` reads the KL f-dual off the trained critic (Poole et al., 2019);
* for the permutation bounds, the two terms of ``mi``: ``mi = joint_term - marginal_term``, and
  ``log_mean_exp_marginal``, the log of the mean of exp in the marginal term (diagnostics: a
  critic that does not generalise shows it as a large value on held-out pairs).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import tensorflow as tf
import tensorflow_probability as tfp


class Estimate(NamedTuple):
    """A mutual-information estimate and the objective its critic maximises."""

    mi: tf.Tensor
    critic_objective: tf.Tensor
    joint_term: tf.Tensor | None = None
    marginal_term: tf.Tensor | None = None
    log_mean_exp_marginal: tf.Tensor | None = None


def marginal_permutation(batch, seed) -> tf.Tensor:
    """A random derangement of ``range(batch)``: the partner of each x in its marginal pair.

    A uniform random permutation leaves one index in place on average (63% of batches of
    100 have at least one), and a fixed point pairs x_i with its own z_i: a joint pair in the
    marginal term of eq. 6, whose exp(t - 1) grows with the critic's confidence. This draws a
    uniformly random cyclic order sigma and pairs sigma(k) with sigma(k + 1), so no example
    is ever its own partner (for batch >= 2). ``seed`` is a stateless seed (shape [2]).
    """
    order = tf.argsort(tf.random.stateless_uniform([batch], seed=seed, alg="philox"))
    partner = tf.roll(order, shift=-1, axis=0)
    return tf.scatter_nd(order[:, None], partner, tf.shape(order))


def log_mean_exp(values: tf.Tensor) -> tf.Tensor:
    """log(mean(exp(values))) over all elements without overflow (TFP's reduce_logmeanexp)."""
    return tfp.math.reduce_logmeanexp(values)


def f_dual_kl(joint: tf.Tensor, marginal: tf.Tensor) -> Estimate:
    """f-divergence dual of KL, f(t) = t log t, f*(t) = exp(t - 1) (eq. 6; the paper's default).

        I >= E_joint[t] - E_marginal[exp(t - 1)]

    The mean of exp is taken as exp(log_mean_exp(t - 1)), which equals it wherever it is
    finite and never overflows in the intermediate exp of a single large score.
    """
    joint_term, log_mean = tf.reduce_mean(joint), log_mean_exp(marginal - 1.0)
    marginal_term = tf.exp(log_mean)
    bound = joint_term - marginal_term
    return Estimate(bound, bound, joint_term, marginal_term, log_mean)


def donsker_varadhan(joint: tf.Tensor, marginal: tf.Tensor) -> Estimate:
    """Donsker-Varadhan representation of KL (eq. 12; MINE without its bias correction).

    I >= E_joint[t] - log E_marginal[exp(t)]
    """
    joint_term, log_mean = tf.reduce_mean(joint), log_mean_exp(marginal)
    bound = joint_term - log_mean
    return Estimate(bound, bound, joint_term, log_mean, log_mean)


def jensen_shannon(joint: tf.Tensor, marginal: tf.Tensor) -> Estimate:
    """Jensen-Shannon f-dual (f-GAN): the critic maximises

        E_joint[-softplus(-t)] - E_marginal[softplus(t)]

    whose optimum is t* = log q(x,z) / q(x)q(z). MI is then read off with the KL f-dual of
    t + 1: E_joint[t + 1] - E_marginal[exp(t)] (Poole et al., 2019, "JS" estimator).
    """
    objective = tf.reduce_mean(-tf.nn.softplus(-joint)) - tf.reduce_mean(tf.nn.softplus(marginal))
    joint_term, log_mean = tf.reduce_mean(joint) + 1.0, log_mean_exp(marginal)
    marginal_term = tf.exp(log_mean)
    mi = joint_term - marginal_term
    return Estimate(mi, objective, joint_term, marginal_term, log_mean)


def infonce(scores: tf.Tensor) -> Estimate:
    """InfoNCE (van den Oord et al., 2018) on the score matrix scores[i, j] = t(x_i, z_j).

    I >= mean_i [ t(x_i, z_i) - log (1/B) sum_j exp t(x_i, z_j) ]; never above log B.
    """
    batch = tf.cast(tf.shape(scores)[0], scores.dtype)
    positive = tf.linalg.diag_part(scores)
    bound = tf.reduce_mean(positive - tf.reduce_logsumexp(scores, axis=1)) + tf.math.log(batch)
    return Estimate(mi=bound, critic_objective=bound)


@dataclass(frozen=True)
class MIEstimator:
    """A named bound and how the critic must be evaluated for it.

    Attributes:
        name: registry name.
        fn: the bound; takes (joint, marginal) scores, or the score matrix if
            ``uses_score_matrix``.
        uses_score_matrix: needs t(x_i, z_j) for all pairs of the batch instead of a
            permutation.
    """

    name: str
    fn: Callable[..., Estimate]
    uses_score_matrix: bool = False


ESTIMATORS: dict[str, MIEstimator] = {
    "f-kl": MIEstimator("f-kl", f_dual_kl),
    "dv": MIEstimator("dv", donsker_varadhan),
    "js": MIEstimator("js", jensen_shannon),
    "infonce": MIEstimator("infonce", infonce, uses_score_matrix=True),
}


def get_estimator(name: str) -> MIEstimator:
    """Look an estimator up by name, with an error listing the valid names."""
    try:
        return ESTIMATORS[name]
    except KeyError:
        raise ValueError(
            f"Unknown MI estimator {name!r}. Choose one of {sorted(ESTIMATORS)} "
            "('f-kl' is the paper's default, eq. 6)."
        ) from None


def gaussian_mutual_information(rho: float, dim: int) -> float:
    """Analytic I(x; z) of dim independent pairs of unit Gaussians with correlation rho."""
    return -0.5 * dim * math.log(1.0 - rho**2)
