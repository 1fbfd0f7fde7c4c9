"""Adam with one fused kernel per variable: the same update as ``keras.optimizers.Adam``.

Keras 3's Adam updates each variable with about ten separate element-wise TensorFlow ops
(``m += (g - m)(1 - b1)``, ``v += (g^2 - v)(1 - b2)``, ``w -= a m / (sqrt(v) + eps)``), each a
pass over memory. TensorFlow's ``ResourceApplyAdam`` kernel does the same arithmetic in one pass:
for the paper's FC VAE (7.6 M parameters) on a 2-core CPU the training step goes from 44.7 to
39.0 ms (docs/performance.md). It runs on CPU and GPU, under XLA and
under ``tf.distribute`` strategies (inside ``Strategy.extended.update``, where Keras calls
``update_step`` on each replica's variable).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops


@keras.saving.register_keras_serializable(package="tf_infomax")
class FusedAdam(keras.optimizers.Adam):
    """``keras.optimizers.Adam`` whose dense update is TensorFlow's fused ``ResourceApplyAdam``.

    Same arguments, state variables, schedule, clipping, weight decay and checkpoints as Keras'
    Adam (Kingma & Ba, Algorithm 1 with the bias corrections folded into the step size); results
    agree with it to float32 rounding. ``amsgrad=True`` and sparse (``IndexedSlices``) gradients
    use Keras' own update.
    """

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad or isinstance(gradient, tf.IndexedSlices):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        index = self._get_variable_index(variable)
        step = ops.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=_handle(variable),
            m=_handle(self._momentums[index]),
            v=_handle(self._velocities[index]),
            beta1_power=ops.power(beta_1, step),
            beta2_power=ops.power(beta_2, step),
            lr=ops.cast(learning_rate, dtype),
            beta1=beta_1,
            beta2=beta_2,
            epsilon=ops.cast(self.epsilon, dtype),
            grad=ops.cast(gradient, dtype),
        )


def _handle(variable) -> tf.Tensor:
    """The resource handle of a Keras or TensorFlow variable (a replica's, under a strategy)."""
    if isinstance(variable, keras.Variable):
        variable = variable.value
    return variable.handle
