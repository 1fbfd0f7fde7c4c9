"""Training FLOPs per example, and the GEMMs of one FC training step.

For every dense or conv layer with M multiply-adds per example in the forward pass, forward =
2M, weight gradient = 2M, input gradient = 2M except where the input is the data (the first
encoder layer, the critic's x projection). The critic's x projection and z projection run once
per example, its head 1 + K times (the joint pair and K marginal pairs, ``marginal_samples``).
"Algorithmic" counts the critic head's input-gradient chain once; "as implemented" counts it
twice (the VAE loss and the critic loss are differentiated in two backward passes), except when
the compiled model clips the MI term's gradient on its own (``mi_clipnorm``, on by default for
the f-KL bound): one backward pass of the critic's loss then gives the critic's gradient and the
MI term's at the encoder, so the head chain runs once and the encoder's backward pass twice
(the ELBO's and the MI term's).
Element-wise work, the losses and the Adam updates are not counted (docs/performance.md).
"""

from __future__ import annotations

import keras

# The formula above, as the result JSON states it.
FORMULA = (
    "per layer with M forward multiply-adds per example: forward 2M + weight gradient 2M "
    "+ input gradient 2M (none where the input is data); critic x/z projections once, "
    "head on 1 + K rows (joint, K marginal); 'algorithmic' counts the head's input-gradient "
    "chain once, 'as_implemented' twice (two backward passes) or, when the MI term's gradient "
    "is clipped on its own, once with the encoder's backward twice. Element-wise ops, losses "
    "and Adam updates are not counted."
)


def prod(shape) -> int:
    out = 1
    for d in shape:
        out *= int(d)
    return out


def layer_macs(layer) -> int:
    """Multiply-adds per example of one Dense/Conv2D/Conv2DTranspose in a functional model."""
    if isinstance(layer, keras.layers.Dense):
        return int(layer.kernel.shape[0]) * int(layer.kernel.shape[1])
    if isinstance(layer, keras.layers.Conv2DTranspose):
        kh, kw, cout, cin = (int(d) for d in layer.kernel.shape)
        return prod(layer.input.shape[1:3]) * kh * kw * cin * cout
    if isinstance(layer, keras.layers.Conv2D):
        kh, kw, cin, cout = (int(d) for d in layer.kernel.shape)
        return prod(layer.output.shape[1:3]) * kh * kw * cin * cout
    return 0


def network_macs(net) -> list[int]:
    """MACs per example of each weighted layer of a functional encoder/decoder, in order."""
    return [m for m in (layer_macs(layer) for layer in net.layers) if m]


def critic_head_rows(model) -> int:
    """Rows the critic's head scores per example: the joint pair and K marginal pairs."""
    return 1 + getattr(model, "marginal_samples", 1)


def flops_per_example(model) -> dict:
    """Training FLOPs per example: see the module docstring for the formula."""
    encoder, decoder = network_macs(model.encoder), network_macs(model.decoder)
    forward_macs = sum(encoder) + sum(decoder)
    vae = 2 * forward_macs + 2 * forward_macs + 2 * (forward_macs - encoder[0])
    out = {
        "forward_macs_encoder_decoder": forward_macs,
        "vae_part": vae,
        "critic_part_algorithmic": 0,
        "critic_part_as_implemented": 0,
    }
    critic = model.critic
    if critic is not None:
        x_macs = layer_macs(critic.x_projection)
        z_macs = layer_macs(critic.z_projection)
        head = sum(layer_macs(layer) for layer in critic.head.layers)
        pairs = critic_head_rows(model)
        forward = x_macs + z_macs + pairs * head
        weight_grads = forward
        head_input_grads = pairs * head
        z_input_grad = z_macs
        algorithmic = 2 * (forward + weight_grads + head_input_grads + z_input_grad)
        out.update(
            critic_forward_macs=forward,
            critic_part_algorithmic=algorithmic,
            critic_part_as_implemented=algorithmic + 2 * head_input_grads,
        )
        if model.clips_mi_gradient:  # one head chain; the encoder's backward pass once more
            encoder_backward = 2 * sum(encoder) + 2 * (sum(encoder) - encoder[0])
            out["critic_part_as_implemented"] = algorithmic + encoder_backward
    out["algorithmic"] = out["vae_part"] + out["critic_part_algorithmic"]
    out["as_implemented"] = out["vae_part"] + out["critic_part_as_implemented"]
    return out


def gemm_cases(model, batch: int) -> list[tuple[tuple, int]]:
    """(m, k, n, transpose_a, transpose_b) and count of each GEMM of one FC training step.

    Per dense layer (in -> out) on R rows: forward (R, in) @ (in, out); weight gradient
    x^T @ dy = (in, R) @ (R, out); input gradient dy @ W^T = (R, out) @ (out, in) except on data.
    The critic head's input gradients are listed once (the algorithmic count).
    """
    cases: dict[tuple, int] = {}

    def add(rows, fan_in, fan_out, input_grad=True):
        for case in (
            (rows, fan_in, fan_out, False, False),
            (fan_in, rows, fan_out, True, False),
        ) + (((rows, fan_out, fan_in, False, True),) if input_grad else ()):
            cases[case] = cases.get(case, 0) + 1

    def dense_layers(net):
        return [layer for layer in net.layers if isinstance(layer, keras.layers.Dense)]

    for i, layer in enumerate(dense_layers(model.encoder) + dense_layers(model.decoder)):
        add(batch, *layer.kernel.shape, input_grad=i > 0)
    critic = model.critic
    if critic is not None:
        add(batch, *critic.x_projection.kernel.shape, input_grad=False)
        add(batch, *critic.z_projection.kernel.shape)
        for layer in critic.head.layers:
            if isinstance(layer, keras.layers.Dense):
                add(critic_head_rows(model) * batch, *layer.kernel.shape)
    return [
        (tuple(int(v) if not isinstance(v, bool) else v for v in c), n) for c, n in cases.items()
    ]
