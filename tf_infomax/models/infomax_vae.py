"""InfoMax-VAE (Algorithm 1): one Keras model for VAE, beta-VAE, InfoVAE and InfoMax-VAE."""

from __future__ import annotations

from typing import NamedTuple

import keras
import tensorflow as tf

from tf_infomax import distributions
from tf_infomax.config import AUTO, CRITIC_CLIPNORM, CRITIC_SCORE_BOUND
from tf_infomax.models import diagnostics as diag
from tf_infomax.models import validation
from tf_infomax.models.divergence import StopOnDivergence
from tf_infomax.models.methods import (
    RegularizerWeights,
    check_weights,
    clipnorm_by_default,
    ema_by_default,
    marginal_samples_by_default,
    mi_clipnorm_by_default,
    min_log_var_by_default,
)
from tf_infomax.networks.critic import MLPCritic
from tf_infomax.objectives.mi_estimators import get_estimator, marginal_permutation
from tf_infomax.objectives.mmd import mmd
from tf_infomax.optimizers import FusedAdam

MARGINAL_PAIRS = ("derangement", "permutation")
MARGINAL_SCOPES = ("global", "replica")
# Seed-stream offset between the K derangements of ``marginal_samples``.
_PARTNER_STREAM = 104_729


class PosteriorParams(NamedTuple):
    """Parameters of the diagonal Gaussian q(z|x)."""

    mean: tf.Tensor
    log_var: tf.Tensor


class Noise(NamedTuple):
    """Random draws of one step: reparameterisation noise, prior samples, marginal partners."""

    epsilon: tf.Tensor
    prior_samples: tf.Tensor
    permutation: tf.Tensor  # (K * B,): x_i's partner in block k at row k * B + i


class Terms(NamedTuple):
    """Batch means of the terms of the objective (eq. 3 and 6), on one replica."""

    loss: tf.Tensor
    reconstruction: tf.Tensor
    kl: tf.Tensor
    mmd: tf.Tensor
    mi: tf.Tensor
    critic_objective: tf.Tensor


class Forward(NamedTuple):
    """One forward pass: the terms, the encoder's raw output and the critic's scores."""

    terms: Terms
    encoder_output: tf.Tensor
    scores: tuple | tf.Tensor | None


def _decoder_shapes(decoder, latent_dim: int, image_shape: tuple) -> tuple[tuple, tuple]:
    """(z shape, output shape) of a decoder z -> params or of an autoregressive (z, x) -> params."""
    if not getattr(decoder, "conditions_on_x", False):
        return tuple(decoder.input_shape[1:]), tuple(decoder.output_shape[1:])
    z_shape = (None, int(getattr(decoder, "latent_dim", latent_dim)))
    if not decoder.built:
        decoder.build(z_shape, (None, *image_shape))
    return z_shape[1:], tuple(decoder.compute_output_shape(z_shape, (None, *image_shape))[1:])


def _needs_rank1_logs() -> bool:
    """Whether fit reduces logs across workers, where scalars fail (tensorflow/tensorflow#72388).

    Keras reduces a multi-worker run's logs with ``strategy.reduce("MEAN", v, axis=0)``, which
    needs a rank >= 1 value; shape (1,) logs reduce to the scalar the callbacks see.
    """
    strategy = tf.distribute.get_strategy()
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and bool(
        strategy.extended._in_multi_worker_mode()
    )


def _replica_position() -> tuple[tf.Tensor | int, int]:
    """(replica id, number of replicas) of the current replica context."""
    context = tf.distribute.get_replica_context()
    if context is None:
        return 0, 1
    return context.replica_id_in_sync_group, context.num_replicas_in_sync


@keras.saving.register_keras_serializable(package="tf_infomax")
class InfoMaxVAE(keras.Model):
    """A VAE whose objective adds MI maximisation and/or MMD to the ELBO.

    Minimises, averaged over the batch (eq. 3 with the dual of eq. 6, and InfoVAE's MMD):

        -log p(x|z) + beta * KL(q(z|x) || p(z)) + mmd_weight * MMD(q(z), p(z))
                    - alpha * critic_objective(t; x, z)

    with one optimizer for the encoder and decoder, and a second for the critic t(x, z), which
    maximises the same bound (Algorithm 1, lines 6-7). Marginal pairs (x_i, z_j) pair each x
    with the z of another example of the global batch (``marginal_permutation``; under a
    multi-replica strategy z is all-gathered, so N replicas make the pairs of one device). alpha = 0
    and mmd_weight = 0 give the VAE (beta = 1) or beta-VAE; a critic with alpha = 0 still
    tracks the MI estimate without affecting the encoder.

    Noise is stateless, seeded by ``seed`` and the step, and drawn for the global batch, so one
    device and several replicas sample the same z for the same example.

    Args:
        encoder: model mapping images (B, H, W, C) to (B, 2 * latent_dim): mean, log-variance.
        decoder: model mapping z to per-pixel likelihood parameters (B, H, W, C). A decoder
            with ``conditions_on_x = True`` (autoregressive, e.g. ``PixelCNNDecoder``) is
            called as ``decoder(z, x)`` with teacher forcing, and sampled by its ``sample(z,
            seed)``; it needs the Bernoulli likelihood.
        critic: ``MLPCritic`` (or compatible layer); required when alpha > 0.
        likelihood: ``"bernoulli"`` (logits; images in [0, 1]) or ``"gaussian"`` (learned
            global scale).
        beta, alpha, mmd_weight: regularizer weights (see ``tf_infomax.models.methods``).
        estimator: MI bound name (``tf_infomax.objectives.ESTIMATORS``), default ``"f-kl"``.
        seed: seed of the sampling noise and permutations.
        min_log_var: floor of log Var q(z|x) (None: none; default ``"auto"``:
            ``min_log_var_by_default``, none for the f-KL MI term, -10 otherwise). With
            alpha > beta the objective rewards KL(q(z|x) || p(z)) (Appendix A, eq. 11); with
            the unbounded critic the log-variance fell below -100 on Fashion-MNIST. With the
            default score bound of the critic it never went below -12.1 in 10 epochs, with or
            without a floor, so the f-KL step has none (0.1 used -10;
            docs/results/fashion_mnist_ablation_notes.md). With a 10-layer decoder beta-VAE
            and InfoVAE need it together with the VAE clip at 300 (``clipnorm_by_default``):
            neither alone carried every failing epoch.
        marginal_pairs: ``"derangement"`` (default: no x is paired with its own z) or
            ``"permutation"`` (a uniform permutation, whose fixed points put joint pairs in
            the marginal term; the behaviour before 0.2, kept to reproduce older runs).
        marginal_scope: ``"global"`` (default): partners come from the whole global batch,
            all-gathering z across replicas (``ReplicaContext.all_gather``, differentiable),
            so the estimate and the update do not depend on the number of replicas;
            ``"replica"``: from the replica's own batch / N examples (the only behaviour
            before this option). Score-matrix estimators (InfoNCE), and ``jit_compile=True``
            under several replicas, use the replica's batch.
            docs/distributed.md has the measurement behind the default.
        marginal_samples: K, the marginal partners per example (default ``"auto"``:
            ``marginal_samples_by_default``, 16 for the f-KL MI term, 1 otherwise): the
            marginal expectation of eq. 6 is averaged over K independent derangements of the
            batch, K * B pairs, which divides the variance of its estimate,
            and of its gradient, by about K (one pair scored at the bound weighs e^5 / (K B)
            instead of e^5 / B). The critic's head runs on (K + 1) * B rows. Not for
            score-matrix estimators (InfoNCE scores all pairs already).
        diagnostics: also log gradient norms per term, clip rates, critic scores and the
            smallest log-variance (``tf_infomax.models.diagnostics``); costs extra backward
            passes through the decoder and critic.

    Example:
        >>> model = tf_infomax.build_model("infomax-vae", image_shape=(28, 28, 1), latent_dim=20)
        >>> model.compile()
        >>> model.fit(train_ds, epochs=10)
    """

    def __init__(
        self,
        encoder: keras.Model,
        decoder: keras.Model,
        critic: keras.layers.Layer | None = None,
        *,
        likelihood: str = "bernoulli",
        beta: float = 1.0,
        alpha: float = 0.0,
        mmd_weight: float = 0.0,
        estimator: str = "f-kl",
        seed: int = 0,
        min_log_var: float | str | None = AUTO,
        diagnostics: bool = False,
        marginal_pairs: str = "derangement",
        marginal_scope: str = "global",
        marginal_samples: int | str = AUTO,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_weights(RegularizerWeights(beta=beta, alpha=alpha, mmd_weight=mmd_weight))
        if likelihood not in distributions.LIKELIHOODS:
            raise ValueError(
                f"Unknown likelihood {likelihood!r}; choose one of {distributions.LIKELIHOODS}."
            )
        if alpha > 0 and critic is None:
            raise ValueError("alpha > 0 needs a critic t(x, z) to estimate the MI term.")
        self.encoder, self.decoder, self.critic = encoder, decoder, critic
        self.likelihood_name = likelihood
        self.beta, self.alpha, self.mmd_weight = float(beta), float(alpha), float(mmd_weight)
        self.estimator = get_estimator(estimator)
        self.seed = int(seed)
        if min_log_var == AUTO:
            min_log_var = min_log_var_by_default(self.alpha, self.estimator.name)
        self.min_log_var = None if min_log_var is None else float(min_log_var)

        self.image_shape = tuple(int(d) for d in encoder.input_shape[1:])
        params = encoder.output_shape[-1]
        if params % 2:
            raise ValueError(f"The encoder must output 2 * latent_dim values, got {params}.")
        self.latent_dim = params // 2
        self.decoder_conditions_on_x = bool(getattr(decoder, "conditions_on_x", False))
        if self.decoder_conditions_on_x and likelihood != "bernoulli":
            raise ValueError("An autoregressive decoder needs likelihood='bernoulli'.")
        decoder_input, decoder_output = _decoder_shapes(decoder, self.latent_dim, self.image_shape)
        if decoder_input != (self.latent_dim,):
            raise ValueError(
                f"Decoder input {decoder_input} != (latent_dim,) = ({self.latent_dim},)."
            )
        if decoder_output != self.image_shape:
            raise ValueError(f"Decoder output {decoder_output} != image shape {self.image_shape}.")
        if critic is not None and not critic.built:
            critic.build((None, *self.image_shape), (None, self.latent_dim))
        self.log_scale = (
            self.add_weight(shape=(), initializer="zeros", name="log_scale")
            if likelihood == "gaussian"
            else None
        )
        self.prior = distributions.prior(self.latent_dim)
        names = ["loss", "reconstruction", "kl", "neg_elbo"]
        if mmd_weight > 0:
            names.append("mmd")
        if critic is not None:
            names += ["mi", "critic_loss"]
        self._trackers = {name: keras.metrics.Mean(name=name) for name in names}
        if marginal_pairs not in MARGINAL_PAIRS:
            raise ValueError(
                f"marginal_pairs must be one of {MARGINAL_PAIRS}, got {marginal_pairs!r}."
            )
        self.marginal_pairs = marginal_pairs
        if marginal_scope not in MARGINAL_SCOPES:
            raise ValueError(
                f"marginal_scope must be one of {MARGINAL_SCOPES}, got {marginal_scope!r}."
            )
        self.marginal_scope = marginal_scope
        if marginal_samples == AUTO:
            marginal_samples = marginal_samples_by_default(self.alpha, self.estimator.name)
        if (
            isinstance(marginal_samples, bool)
            or not isinstance(marginal_samples, (int, float))
            or int(marginal_samples) != marginal_samples
        ):
            raise ValueError(
                f"marginal_samples must be an integer >= 1 or {AUTO!r}, got {marginal_samples!r}."
            )
        if marginal_samples < 1:
            raise ValueError(f"marginal_samples must be >= 1, got {marginal_samples}.")
        if marginal_samples > 1 and self.estimator.uses_score_matrix:
            raise ValueError(
                f"marginal_samples > 1 does not apply to the {self.estimator.name!r} bound, "
                "which scores every pair of the batch already; use marginal_samples=1."
            )
        self.marginal_samples = int(marginal_samples)
        self.diagnostics = bool(diagnostics)
        self._diagnostics = diag.trackers(critic is not None) if self.diagnostics else {}
        self.critic_optimizer = None
        self.built = True

    # ---------------------------------------------------------------- inference API
    def encode(self, x, training: bool = False) -> PosteriorParams:
        """Mean and log-variance of q(z|x), the log-variance floored at ``min_log_var``."""
        return self._posterior_params(self.encoder(x, training=training))

    def _posterior_params(self, encoder_output) -> PosteriorParams:
        """Mean and log-variance in float32 under any dtype policy (mixed precision computes
        the encoder in 16 bits): the KL and exp(log_var / 2) of the objective use them."""
        mean, log_var = tf.split(tf.cast(encoder_output, tf.float32), 2, axis=-1)
        if self.min_log_var is not None:
            log_var = tf.maximum(log_var, self.min_log_var)
        return PosteriorParams(mean, log_var)

    def posterior(self, x, training: bool = False):
        """q(z|x) as a TFP distribution."""
        return distributions.posterior(*self.encode(x, training=training))

    def _decoder_params(self, z, x=None, training: bool = False):
        """The likelihood's parameters, in float32 under any dtype policy."""
        if not self.decoder_conditions_on_x:
            return tf.cast(self.decoder(z, training=training), tf.float32)
        if x is None:
            raise ValueError(
                "This decoder is autoregressive: decode(z, x) needs the images x (teacher "
                "forcing); use sample() to generate."
            )
        return tf.cast(self.decoder(z, x, training=training), tf.float32)

    def decode(self, z, x=None, training: bool = False):
        """p(x|z) as a TFP distribution; an autoregressive decoder also needs ``x``."""
        return distributions.likelihood(
            self.likelihood_name, self._decoder_params(z, x, training), self.log_scale
        )

    def call(self, x, training: bool = False):
        """E[x|z] at z = the posterior mean (a deterministic reconstruction).

        For an autoregressive decoder, the per-pixel means given the true earlier pixels.
        """
        mean, _ = self.encode(x, training=training)
        params = self._decoder_params(mean, x, training)
        return distributions.likelihood_mean(self.likelihood_name, params)

    def sample(self, num: int, seed: int = 0) -> tf.Tensor:
        """E[x|z] for z ~ p(z) (Figure 3); exact samples x ~ p(x|z) if autoregressive."""
        z = tf.random.stateless_normal([num, self.latent_dim], seed=[seed, 0])
        if self.decoder_conditions_on_x:
            return self.decoder.sample(z, seed=seed)
        return distributions.likelihood_mean(self.likelihood_name, self.decoder(z))

    # ---------------------------------------------------------------- objective
    def _step(self) -> tf.Tensor:
        optimizer = getattr(self, "optimizer", None)
        return tf.cast(optimizer.iterations if optimizer is not None else 0, tf.int64)

    def draw_noise(self, batch, replica=None) -> Noise:
        """Stateless noise for one replica's batch: its rows of noise drawn for the global batch.

        Seeded by (seed, stream, step), so one device and N replicas sample the same values
        per example. Drawn outside any XLA cluster (XLA samples differently from the same seed).
        ``replica`` is (replica id, number of replicas), by default the current replica context.
        """
        replica_id, replicas = replica if replica is not None else _replica_position()
        step = self._step()

        def normal(stream):
            seed = tf.stack([tf.constant(self.seed * 1000 + stream, tf.int64), step])
            noise = tf.random.stateless_normal(
                [batch * replicas, self.latent_dim], seed=seed, alg="philox"
            )
            return noise[replica_id * batch : (replica_id + 1) * batch]

        pooled = self._pools_marginals(replicas)
        stream = self.seed * 1000 + 3 + (0 if pooled else 7919 * replica_id)
        size = batch * replicas if pooled else batch

        def partners(k):
            seed = tf.stack([tf.cast(stream + _PARTNER_STREAM * k, tf.int64), step])
            if self.marginal_pairs == "derangement":
                permutation = marginal_permutation(size, seed)
            else:
                permutation = tf.argsort(
                    tf.random.stateless_uniform([size], seed=seed, alg="philox")
                )
            if pooled:  # this replica's rows: partners are indices into the global batch
                permutation = permutation[replica_id * batch : (replica_id + 1) * batch]
            return permutation

        # K blocks of B partners: row k * B + i is the partner of x_i in the k-th derangement.
        blocks = [partners(k) for k in range(self.marginal_samples)]
        permutation = blocks[0] if len(blocks) == 1 else tf.concat(blocks, axis=0)
        return Noise(epsilon=normal(1), prior_samples=normal(2), permutation=permutation)

    def _pools_marginals(self, replicas) -> bool:
        """Whether marginal partners come from the global batch (all-gathered z).

        Not with ``jit_compile=True`` under several replicas: the XLA-compiled per-replica
        gradient function cannot hold a collective, so pairs are then the replica's own.
        """
        return (
            self.marginal_scope == "global"
            and not getattr(self, "_jit_gradients", False)
            and self.critic is not None
            and not self.estimator.uses_score_matrix
            and not (isinstance(replicas, int) and replicas == 1)
        )

    def _loss_without_mi(self, reconstruction, kl, divergence) -> tf.Tensor:
        """-ELBO with beta (eq. 3), plus InfoVAE's weighted MMD: the loss before the MI term."""
        loss = reconstruction + self.beta * kl
        return loss + self.mmd_weight * divergence if self.mmd_weight > 0 else loss

    def compute_terms(self, x, training: bool = False, noise: Noise | None = None) -> Terms:
        """The objective's terms on one (per-replica) batch of images."""
        return self._forward(x, training, noise).terms

    def _forward(self, x, training: bool = False, noise: Noise | None = None) -> Forward:
        encoder_output = tf.cast(self.encoder(x, training=training), tf.float32)
        mean, log_var = self._posterior_params(encoder_output)
        if noise is None:
            noise = self.draw_noise(tf.shape(mean)[0])
        z = mean + tf.exp(0.5 * log_var) * noise.epsilon
        q_z = distributions.posterior(mean, log_var)
        reconstruction = -tf.reduce_mean(self.decode(z, x, training=training).log_prob(x))
        kl = tf.reduce_mean(q_z.kl_divergence(self.prior))
        zero = tf.zeros((), dtype=kl.dtype)
        divergence = mmd(z, noise.prior_samples) if self.mmd_weight > 0 else zero
        loss = self._loss_without_mi(reconstruction, kl, divergence)
        mi = critic_objective = zero
        scores = None
        if self.critic is not None:
            # Scores in float32 under any dtype policy: the bounds take their exp.
            if self.estimator.uses_score_matrix:
                scores = tf.cast(self.critic.score_matrix(x, z), tf.float32)
                estimate = self.estimator.fn(scores)
            else:
                context = tf.distribute.get_replica_context()
                partners = None
                if context is not None and self._pools_marginals(context.num_replicas_in_sync):
                    # The global batch's z (differentiable all-gather): pairs as on one device.
                    # A one-hot matmul, not tf.gather, whose sparse gradient all_gather's
                    # gradient cannot take; exact, as each row adds one z to zeros.
                    z_all = context.all_gather(z, axis=0)
                    pick = tf.one_hot(noise.permutation, tf.shape(z_all)[0], dtype=z.dtype)
                    partners = tf.matmul(pick, z_all)
                scores = self.critic.joint_and_marginal(x, z, noise.permutation, partners)
                scores = tuple(tf.cast(s, tf.float32) for s in scores)
                estimate = self.estimator.fn(*scores)
            mi, critic_objective = estimate.mi, estimate.critic_objective
            loss -= self.alpha * critic_objective
        terms = Terms(loss, reconstruction, kl, divergence, mi, critic_objective)
        return Forward(terms, encoder_output, scores)

    # ---------------------------------------------------------------- training
    def compile(
        self,
        optimizer=None,
        critic_optimizer=None,
        jit_compile="auto",
        mi_clipnorm: float | str | None = AUTO,
        **kwargs,
    ):
        """Adam(1e-3) for encoder and decoder, Adam(1e-4) for the critic (Appendix D).

        ``mi_clipnorm`` bounds the global norm of the MI term's own gradient, alpha * dI/dw
        (eq. 6; it reaches only the encoder), before it is added to the ELBO's: a spike of
        the critic's exp(t - 1) is cut without shrinking the reconstruction and KL gradients,
        as a clip of the whole gradient does. ``"auto"`` (the default):
        ``mi_clipnorm_by_default``, 300 for the f-KL MI term, none otherwise. Under float16
        loss scaling the clip compares the unscaled norm.

        The defaults are ``FusedAdam``: Keras' Adam computed by one fused kernel per variable.

        With the f-KL MI term (eq. 6) the default VAE optimizer keeps a moving average of the
        weights (``ema_by_default``) and clips the global gradient norm at 1000
        (``clipnorm_by_default``), a bound ordinary steps stay far below that stops the rare
        exp(t - 1) bursts that reached NaN; otherwise it clips at 300, which stops the
        exploding gradients of a 10-layer decoder (0.2 did not clip there). Until 0.2 they
        clipped at 100 and 10: on Fashion-MNIST the clips fired on 93-100% of steps after
        epoch 1, so the MI term's growing gradient scaled down the reconstruction's and
        throttled the critic (docs/results/fashion_mnist_ablation_notes.md).

        Both optimizers are built here, on their own variables, so that ``fit`` under a
        ``tf.distribute`` strategy (call ``compile`` inside its scope) creates no variable
        inside the traced step. ``jit_compile=True`` under a multi-replica strategy, where XLA
        cannot compile the whole step, compiles the per-replica loss and gradient computation
        instead and applies the gradients outside it.
        """
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if mi_clipnorm == AUTO:
            mi_clipnorm = mi_clipnorm_by_default(self.alpha, self.estimator.name)
        if mi_clipnorm is not None and (isinstance(mi_clipnorm, str) or not mi_clipnorm > 0):
            raise ValueError(f"mi_clipnorm must be > 0, None or {AUTO!r}, got {mi_clipnorm!r}.")
        self.mi_clipnorm = mi_clipnorm
        self._jit_gradients = jit_compile is True and replicas > 1
        if self._jit_gradients:
            jit_compile = False
        super().compile(
            optimizer=optimizer
            or FusedAdam(
                1e-3, global_clipnorm=self.clipnorm_by_default, use_ema=self.ema_by_default
            ),
            jit_compile=jit_compile,
            **kwargs,
        )
        critic_ids = {id(v) for v in self.critic.trainable_variables} if self.critic else set()
        self._vae_variables = [v for v in self.trainable_variables if id(v) not in critic_ids]
        self.optimizer.build(self._vae_variables)
        if self.critic is not None:
            self.critic_optimizer = keras.optimizers.get(
                critic_optimizer or FusedAdam(1e-4, global_clipnorm=CRITIC_CLIPNORM)
            )
            self.critic_optimizer.build(self.critic.trainable_variables)
        self._compiled_gradients = tf.function(self._gradients, jit_compile=True)

    @property
    def clips_mi_gradient(self) -> bool:
        """Whether the compiled step clips the MI term's gradient on its own (``mi_clipnorm``)."""
        return (
            self.critic is not None
            and getattr(self, "mi_clipnorm", None) is not None
            and self.alpha > 0
        )

    @property
    def clipnorm_by_default(self) -> float | None:
        """``compile()``'s default VAE ``global_clipnorm``: ``methods.clipnorm_by_default``."""
        return clipnorm_by_default(self.alpha, self.estimator.name)

    @property
    def ema_by_default(self) -> bool:
        """Whether ``compile()``'s default optimizer keeps a moving average of the weights
        (Keras ``use_ema``; ``fit`` validates on it and ends with it): ``methods.ema_by_default``.
        """
        return ema_by_default(self.alpha, self.estimator.name)

    def get_compile_config(self):
        config = {
            "optimizer": keras.saving.serialize_keras_object(self.optimizer),
            "mi_clipnorm": getattr(self, "mi_clipnorm", None),  # as resolved
        }
        if self.critic_optimizer is not None:
            config["critic_optimizer"] = keras.saving.serialize_keras_object(self.critic_optimizer)
        return config

    def compile_from_config(self, config):
        self.compile(
            mi_clipnorm=config.get("mi_clipnorm"),  # none in models saved before it
            optimizer=keras.saving.deserialize_keras_object(config["optimizer"]),
            critic_optimizer=(
                keras.saving.deserialize_keras_object(config["critic_optimizer"])
                if "critic_optimizer" in config
                else None
            ),
        )

    @property
    def metrics(self):
        return list(self._trackers.values()) + list(self._diagnostics.values())

    def _check_batch(self, x):
        validation.check_image_shape(x.shape, self.image_shape)
        if self.critic is not None:
            validation.check_batch_size(x.shape[0], needs_pairs=True)
            tf.debugging.assert_greater_equal(tf.shape(x)[0], 2, message=validation.BATCH_OF_ONE)
        tf.debugging.assert_all_finite(x, validation.NAN_IN_BATCH)

    def _batch_images(self, data) -> tf.Tensor:
        """The checked float images of a batch; uint8 images 0..255 are scaled to [0, 1]."""
        x = validation.as_float_images(validation.image_batch(data))
        self._check_batch(x)
        return x

    def _record(self, terms: Terms, diagnostics: dict | None = None):
        values = terms._asdict()
        values["critic_loss"] = -terms.critic_objective
        values["neg_elbo"] = terms.reconstruction + terms.kl  # eq. 1, whatever the method
        for name, tracker in self._trackers.items():
            tracker.update_state(values[name])
        diagnostics = diagnostics or {}
        for name, value in diagnostics.items():
            self._diagnostics[name].update_state(value)
        logs = {name: tracker.result() for name, tracker in self._trackers.items()}
        logs.update({name: self._diagnostics[name].result() for name in diagnostics})
        if _needs_rank1_logs():
            logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
        return logs

    def _gradients(self, x, noise, replicas):
        """Terms, gradients and diagnostics of one replica's batch; losses scaled in the tape."""
        clipped = self.clips_mi_gradient
        with tf.GradientTape(persistent=self.critic is not None or self.diagnostics) as tape:
            forward = self._forward(x, training=True, noise=noise)
            terms = forward.terms
            # Scaled inside the tape: apply_gradients sums over replicas. scale_loss: each
            # optimizer's own loss scale under float16 (LossScaleOptimizer; else the identity).
            critic_loss = -terms.critic_objective / replicas
            if self.critic is not None:
                critic_loss = self.critic_optimizer.scale_loss(critic_loss)
            if clipped:  # the MI term's share comes from the critic's loss
                elbo = self._loss_without_mi(terms.reconstruction, terms.kl, terms.mmd)
                vae_loss = self.optimizer.scale_loss(elbo / replicas)
            else:
                vae_loss = self.optimizer.scale_loss(terms.loss / replicas)
            if self.diagnostics:
                pulls = {
                    "grad_reconstruction": terms.reconstruction,
                    "grad_kl": self.beta * terms.kl,
                    "grad_mi": -self.alpha * terms.critic_objective,
                }
        if clipped:
            grads, critic_grads, mi_norm = self._clipped_gradients(
                tape, vae_loss, critic_loss, replicas
            )
        else:
            grads = tape.gradient(vae_loss, self._vae_variables)
            critic_grads = (
                tape.gradient(critic_loss, self.critic.trainable_variables) if self.critic else []
            )
        values = {}
        if self.diagnostics:
            values = self._diagnostic_values(tape, forward, pulls, grads, critic_grads, replicas)
            if clipped:
                values["mi_grad_norm"] = mi_norm
                values["mi_clip_rate"] = diag.clip_rate(mi_norm, self.mi_clipnorm)
        return terms, grads, critic_grads, values

    def _clipped_gradients(self, tape, elbo_loss, critic_loss, replicas):
        """The VAE's gradient with the MI term's share clipped to ``mi_clipnorm``, the
        critic's gradient, and the MI share's norm before the clip (unscaled; under a strategy,
        the replica's share times the number of replicas).

        The encoder's loss is its ELBO part (eq. 3) plus alpha times the critic's loss (eq. 6):
        one backward pass of the critic's loss gives the critic's gradient and the MI term's
        gradient at the encoder, and the ELBO's backward pass does not go through the critic.
        """
        critic_vars = self.critic.trainable_variables
        elbo_grads = tape.gradient(elbo_loss, self._vae_variables)
        shared = tape.gradient(critic_loss, [*critic_vars, *self._vae_variables])
        critic_grads = shared[: len(critic_vars)]
        # Loss scaling (float16) multiplies each gradient by its optimizer's scale, which
        # apply_gradients divides out: the clip compares and bounds the unscaled norm.
        scale = self.optimizer.scale_loss(tf.constant(1.0))
        critic_scale = self.critic_optimizer.scale_loss(tf.constant(1.0))
        # None where the MI term does not reach (the decoder): global_norm and the clip skip it.
        mi_grads = [
            None if g is None else g * (self.alpha * scale / critic_scale)
            for g in shared[len(critic_vars) :]
        ]
        mi_norm = tf.linalg.global_norm(mi_grads) * replicas / scale
        mi_grads, _ = tf.clip_by_global_norm(mi_grads, self.mi_clipnorm * scale / replicas)
        grads = [
            e if m is None else m if e is None else e + m
            for e, m in zip(elbo_grads, mi_grads, strict=True)
        ]
        return grads, critic_grads, mi_norm

    def _forward_diagnostics(self, forward: Forward) -> dict:
        """The diagnostics of a forward pass: smallest log-variance, critic scores."""
        if not self.diagnostics:
            return {}
        mean, log_var = tf.split(forward.encoder_output, 2, axis=-1)
        floor = self.min_log_var if self.min_log_var is not None else -float("inf")
        values = {
            "log_var_min": tf.reduce_min(log_var),
            "log_var_max": tf.reduce_max(log_var),
            "mean_abs_max": tf.reduce_max(tf.abs(mean)),
            "log_var_floored": tf.reduce_mean(tf.cast(log_var < floor, tf.float32)),
        }
        if self.critic is not None:
            values.update(diag.score_values(forward.scores))
        return values

    def _diagnostic_values(self, tape, forward, pulls, grads, critic_grads, replicas) -> dict:
        """The values of ``tf_infomax.models.diagnostics`` for one training step."""
        values = self._forward_diagnostics(forward)
        for name, term in pulls.items():
            if name in self._diagnostics:
                grad = tape.gradient(term, forward.encoder_output)
                values[name] = tf.zeros(()) if grad is None else tf.norm(grad)
        vae_norm = tf.linalg.global_norm(grads) * replicas
        values["vae_grad_norm"] = vae_norm
        values["vae_clip_rate"] = diag.clip_rate(vae_norm, self.optimizer.global_clipnorm)
        if self.critic is not None:
            critic_norm = tf.linalg.global_norm(critic_grads) * replicas
            values.update(
                critic_grad_norm=critic_norm,
                critic_clip_rate=diag.clip_rate(critic_norm, self.critic_optimizer.global_clipnorm),
            )
        return values

    def train_step(self, data):
        x = self._batch_images(data)
        replica_id, replicas = _replica_position()
        noise = self.draw_noise(tf.shape(x)[0], (replica_id, replicas))
        gradients = self._compiled_gradients if self._jit_gradients else self._gradients
        terms, grads, critic_grads, diagnostics = gradients(x, noise, replicas)
        self.optimizer.apply_gradients(zip(grads, self._vae_variables, strict=True))
        if self.critic is not None:
            critic_vars = self.critic.trainable_variables
            self.critic_optimizer.apply_gradients(zip(critic_grads, critic_vars, strict=True))
        return self._record(terms, diagnostics)

    def test_step(self, data):
        x = self._batch_images(data)
        forward = self._forward(x, training=False)
        return self._record(forward.terms, self._forward_diagnostics(forward))

    def fit(self, x=None, y=None, batch_size=None, callbacks=None, **kwargs):
        """``keras.Model.fit``, with clear errors for bad data and for divergence.

        Checks shapes, NaN/inf, batch size and (Bernoulli likelihood) the [0, 1] range up
        front; uint8 images are scaled to [0, 1]. Adds a ``StopOnDivergence`` callback unless
        ``callbacks`` hold one, so a NaN/inf loss raises ``TrainingDivergedError``, and, when
        the optimizer keeps a moving average (``use_ema``), a ``SwapEMAWeights`` so that
        validation scores the average that ``fit`` ends with. A failed
        in-step check (NaN in a later batch, a batch of 1 for the critic) raises ``ValueError``.
        """
        validation.check_fit_inputs(
            x,
            batch_size,
            self.image_shape,
            self.critic is not None,
            unit_range=self.likelihood_name == "bernoulli",
        )
        callbacks = list(callbacks or [])
        if not any(isinstance(c, StopOnDivergence) for c in callbacks):
            callbacks.append(StopOnDivergence())
        if uses_ema(self.optimizer) and not any(
            isinstance(c, keras.callbacks.SwapEMAWeights) for c in callbacks
        ):  # validation scores the moving average that fit ends with (first: before the
            # callbacks that read the weights during validation)
            callbacks.insert(0, keras.callbacks.SwapEMAWeights(swap_on_epoch=False))
        try:
            return super().fit(x, y, batch_size=batch_size, callbacks=callbacks, **kwargs)
        except tf.errors.InvalidArgumentError as error:
            plain = validation.plain_step_error(error)
            if plain is None:
                raise
            raise plain from None

    def evaluate(self, *args, **kwargs):
        """``keras.Model.evaluate``; a failed in-step input check raises a plain ``ValueError``."""
        try:
            return super().evaluate(*args, **kwargs)
        except tf.errors.InvalidArgumentError as error:
            plain = validation.plain_step_error(error)
            if plain is None:
                raise
            raise plain from None

    # ---------------------------------------------------------------- serialization
    def get_config(self):
        config = super().get_config()
        config.update(
            encoder=keras.saving.serialize_keras_object(self.encoder),
            decoder=keras.saving.serialize_keras_object(self.decoder),
            critic=(keras.saving.serialize_keras_object(self.critic) if self.critic else None),
            likelihood=self.likelihood_name,
            beta=self.beta,
            alpha=self.alpha,
            mmd_weight=self.mmd_weight,
            estimator=self.estimator.name,
            seed=self.seed,
            min_log_var=self.min_log_var,
            diagnostics=self.diagnostics,
            marginal_pairs=self.marginal_pairs,
            marginal_scope=self.marginal_scope,
            marginal_samples=self.marginal_samples,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.setdefault("marginal_samples", 1)  # models saved before the option
        config.setdefault("min_log_var", None)  # ... before "auto" (their default: none)
        for key in ("encoder", "decoder", "critic"):
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


def uses_ema(optimizer) -> bool:
    """Whether an optimizer (or the one a loss-scale wrapper holds) keeps a moving average."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    return bool(getattr(inner, "use_ema", False))


def build_critic(
    units=None, activation: str = "relu", output_bound: float | None = CRITIC_SCORE_BOUND
) -> MLPCritic:
    """The default critic: the authors' MLP on [flatten(x), z]."""
    return MLPCritic(
        units or (1000, 400, 100), activation=activation, output_bound=output_bound, name="critic"
    )
