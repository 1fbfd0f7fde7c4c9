"""Post-hoc estimate of I(x; z) with a fresh critic (Section 6.1, following [27]).

The trained encoder is frozen. A new ``MLPCritic`` t(x, z) is trained on pairs
(x, z ~ q(z|x)) against marginal pairs (x, z~) whose codes are permuted across the batch
(Algorithm 1, lines 3-5, 7), maximising one of the bounds of ``tf_infomax.objectives``:

* ``f-kl`` (default, eq. 6):  E_joint[t] - E_marginal[exp(t - 1)]
* ``dv`` (eq. 12):           E_joint[t] - log E_marginal[exp(t)]
* ``mine``: the DV bound trained with MINE's bias-corrected gradient (Belghazi et al., 2018):
  the denominator E_marginal[exp(t)] of the gradient of log E_marginal[exp(t)] is replaced by a
  moving average, so minibatch gradients are not biased. Evaluated as ``dv``.
* ``js``, ``infonce``: the other bounds of the package.

The estimate of one critic is the bound evaluated on held-out pairs (a different dataset),
over all its pairs at once (for ``infonce``: averaged over batches, never above log batch).
Beside it, its two terms on the held-out pairs: the mean joint score E_joint[t] and log
E_marginal[exp(t - 1)] (eq. 6; log E_marginal[exp t] for ``dv``), which say which term an
implausible estimate comes from. The evaluation's metric trains ``mi_critics`` critics with
different seeds and reports the median one (for an even count the lower middle one): a fresh
critic that fails on an encoder (its held-out joint scores collapse) is outvoted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf

from tf_infomax.metrics.encodings import EncodeFn, as_encode_fn, iterate_images, split_batch
from tf_infomax.metrics.metric import EvalContext, Metric
from tf_infomax.networks.critic import MNIST_CRITIC_UNITS, MLPCritic
from tf_infomax.objectives.mi_estimators import get_estimator, log_mean_exp, marginal_permutation

MI_BOUNDS = ("f-kl", "dv", "mine", "js", "infonce")
MINE_RATE = 0.01  # moving-average rate of Belghazi et al. (2018)


class CriticEstimate(NamedTuple):
    """A held-out MI estimate (nats) from a critic trained ``steps`` steps with ``bound``."""

    mi: float
    bound: str
    evaluated_with: str  # the bound formula applied to held-out scores
    steps: int
    train_mi: float  # mean training-batch estimate over the last 10% of steps
    num_eval_pairs: int
    # The held-out terms (not for infonce): mi = joint_term - marginal_term; joint_mean is
    # E_joint[t]; log_mean_exp_marginal the log of the mean of exp in the marginal term (f-kl:
    # log E_marginal[exp(t - 1)], dv and js: log E_marginal[exp t]); see mi_estimators.Estimate.
    joint_mean: float | None = None
    log_mean_exp_marginal: float | None = None
    joint_term: float | None = None
    marginal_term: float | None = None


class _Pairs:
    """Samples z ~ q(z|x) and batch permutations, stateless in (seed, call index)."""

    def __init__(self, encode: EncodeFn, seed: int):
        self.encode, self.seed = encode, seed

    def __call__(self, x, index):
        mean, log_var = self.encode(x)
        noise = tf.random.stateless_normal(tf.shape(mean), seed=[self.seed, 2 * index])
        permutation = marginal_permutation(tf.shape(x)[0], [self.seed, 2 * index + 1])
        return mean + tf.exp(0.5 * log_var) * noise, permutation


def estimate_mutual_information(
    encode_fn: EncodeFn | Any,
    train_data: tf.data.Dataset,
    eval_data: tf.data.Dataset,
    *,
    bound: str = "f-kl",
    steps: int = 1000,
    hidden_units: Sequence[int] = MNIST_CRITIC_UNITS,
    learning_rate: float = 1e-4,
    eval_limit: int | None = None,
    seed: int = 0,
    progress: Any = None,
) -> CriticEstimate:
    """Train a fresh critic on ``train_data`` pairs; return its bound on ``eval_data`` pairs.

    Args:
        encode_fn: ``x -> (mean, log_var)`` of q(z|x), or a model with ``.encode``.
        train_data: batches of images (or (images, labels)), repeated as needed; the batch is
            the permutation pool of the marginal pairs (use >= 64, Section 5).
        eval_data: held-out batches, read once.
        bound: one of ``MI_BOUNDS``.
        steps: critic updates.
        hidden_units: critic widths (default: the authors' 1000-400-100).
        learning_rate: Adam learning rate of the critic (Appendix D: 1e-4).
        eval_limit: use the first ``eval_limit`` held-out examples.
        seed: seeds the critic's initialisation (via ``keras.utils.set_random_seed``), the
            z samples and the permutations.
        progress: a ``tf_infomax.progress.Progress`` told of each critic step, or None.
    """
    if bound not in MI_BOUNDS:
        raise ValueError(f"Unknown MI bound {bound!r}; choose one of {list(MI_BOUNDS)}.")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}.")
    estimator = get_estimator("dv" if bound == "mine" else bound)
    encode = as_encode_fn(encode_fn)
    train_pairs, eval_pairs = _Pairs(encode, seed), _Pairs(encode, seed + 1)

    image_spec, _ = split_batch(train_data.element_spec)
    keras.utils.set_random_seed(seed)
    mean, _ = encode(tf.zeros([2, *image_spec.shape[1:]], image_spec.dtype))
    critic = MLPCritic(hidden_units, name="posthoc_critic")
    critic.build(image_spec.shape, mean.shape)
    optimizer = keras.optimizers.Adam(learning_rate)
    optimizer.build(critic.trainable_variables)
    log_moving_average = tf.Variable(0.0)  # log E_marginal[exp t]; 0 suits t ~ 0 at init

    def estimate(x, z, permutation):
        if estimator.uses_score_matrix:
            return estimator.fn(critic.score_matrix(x, z)), None
        joint, marginal = critic.joint_and_marginal(x, z, permutation)
        return estimator.fn(joint, marginal), (joint, marginal)

    @tf.function(reduce_retracing=True)
    def train_step(x, index):
        z, permutation = train_pairs(x, index)
        with tf.GradientTape() as tape:
            result, scores = estimate(x, z, permutation)
            objective = result.critic_objective
            if bound == "mine":
                joint, marginal = scores
                log_mean = log_mean_exp(marginal)
                updated = tf.reduce_logsumexp(
                    [math.log(1 - MINE_RATE) + log_moving_average, math.log(MINE_RATE) + log_mean]
                )
                log_moving_average.assign(tf.stop_gradient(updated))
                # Gradient: E[grad t] - E_marginal[exp(t) grad t] / moving average.
                objective = tf.reduce_mean(joint) - tf.exp(log_mean - tf.stop_gradient(updated))
            loss = -objective
        grads = tape.gradient(loss, critic.trainable_variables)
        optimizer.apply_gradients(zip(grads, critic.trainable_variables, strict=True))
        return result.mi

    @tf.function(reduce_retracing=True)
    def eval_scores(x, index):
        z, permutation = eval_pairs(x, index)
        result, scores = estimate(x, z, permutation)
        if scores is None:
            return result.mi, tf.zeros([0]), tf.zeros([0])
        return result.mi, scores[0], scores[1]

    train_values = []
    batches = iter(train_data.repeat())
    while len(train_values) < steps:
        batch = next(batches, None)
        if batch is None:
            raise ValueError(
                "The critic's training data is empty (fewer training examples than one critic "
                "batch): lower --mi-batch-size or raise --mi-train-limit."
            )
        x, _ = split_batch(batch)
        if x.shape[0] < 2:
            raise ValueError("Critic training batches need >= 2 examples to permute z.")
        train_values.append(float(train_step(x, tf.constant(len(train_values), tf.int64))))
        if progress is not None:
            progress.update(1)

    joints, marginals, batch_bounds, sizes = [], [], [], []
    for index, (x, _) in enumerate(iterate_images(eval_data, eval_limit)):
        if x.shape[0] < 2:
            continue
        mi, joint, marginal = eval_scores(x, tf.constant(index, tf.int64))
        joints.append(joint)
        marginals.append(marginal)
        batch_bounds.append(float(mi))
        sizes.append(int(x.shape[0]))
    if not sizes:
        raise ValueError("The held-out data has no batch of 2 or more examples.")
    terms = {}
    if estimator.uses_score_matrix:
        held_out = float(np.average(batch_bounds, weights=sizes))
    else:
        joint, marginal = tf.concat(joints, 0), tf.concat(marginals, 0)
        result = estimator.fn(joint, marginal)
        held_out = float(result.mi)
        terms = {
            "joint_mean": float(tf.reduce_mean(joint)),
            "log_mean_exp_marginal": float(result.log_mean_exp_marginal),
            "joint_term": float(result.joint_term),
            "marginal_term": float(result.marginal_term),
        }
    tail = train_values[-max(1, steps // 10) :]
    return CriticEstimate(
        mi=held_out,
        bound=bound,
        evaluated_with=estimator.name,
        steps=steps,
        train_mi=float(np.mean(tail)),
        num_eval_pairs=int(sum(sizes)),
        **terms,
    )


def _critic_batches(dataset: tf.data.Dataset, config) -> tf.data.Dataset:
    """The first ``mi_train_limit`` training examples in batches of ``mi_batch_size``."""
    examples = dataset.unbatch()
    if config.mi_train_limit is not None:
        examples = examples.take(config.mi_train_limit)
    return examples.batch(config.mi_batch_size, drop_remainder=True)


def critic_seeds(seed: int, critics: int) -> list[int]:
    """The seeds of the evaluation's critics: ``seed`` first (one critic is that of
    ``estimate_mutual_information(seed=seed)``), then apart by 2 (each critic uses its seed and
    the next)."""
    return [seed + 2 * i for i in range(critics)]


def median_estimate(estimates: Sequence[CriticEstimate]) -> CriticEstimate:
    """The median critic's estimate (for an even count, the lower of the two middle ones); a
    NaN estimate ranks lowest, as a failed critic."""
    ranked = sorted(estimates, key=lambda e: -math.inf if math.isnan(e.mi) else e.mi)
    return ranked[(len(ranked) - 1) // 2]


def _entry(context: EvalContext) -> dict:
    config = context.config
    seeds = critic_seeds(config.seed, config.mi_critics)
    critic_data = _critic_batches(context.train_data, config)
    estimates = []
    with context.progress(config.mi_steps * len(seeds), "step") as progress:
        for seed in seeds:
            estimates.append(
                estimate_mutual_information(
                    context.encode,
                    critic_data,
                    context.eval_data,
                    bound=config.mi_bound,
                    steps=config.mi_steps,
                    hidden_units=config.mi_critic_units,
                    learning_rate=config.mi_learning_rate,
                    eval_limit=config.limit,
                    seed=seed,
                    progress=progress,
                )
            )
    estimate = median_estimate(estimates)
    return {
        "value": estimate.mi,
        "critics": len(estimates),
        "critic_seeds": seeds,
        "critic_values": [e.mi for e in estimates],
        "critic_train_estimates": [e.train_mi for e in estimates],
        "median_critic_seed": seeds[estimates.index(estimate)],
        "bound": estimate.bound,
        "evaluated_with": estimate.evaluated_with,
        "steps": estimate.steps,
        "train_estimate": estimate.train_mi,
        "critic_units": list(config.mi_critic_units),
        "learning_rate": config.mi_learning_rate,
        "batch_size": config.mi_batch_size,
        "train_split": config.train_split,
        "train_limit": config.mi_train_limit,
        "num_eval_pairs": estimate.num_eval_pairs,
        "held_out_joint_mean": estimate.joint_mean,
        "held_out_log_mean_exp_marginal": estimate.log_mean_exp_marginal,
        "held_out_joint_term": estimate.joint_term,
        "held_out_marginal_term": estimate.marginal_term,
        **context.common,
    }


METRIC = Metric(
    "mutual_information", _entry, needs_train_data=True, train_limit_option="mi_train_limit"
)
