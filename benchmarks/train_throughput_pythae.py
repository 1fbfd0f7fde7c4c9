"""pythae (PyTorch) side of ``benchmarks/train_throughput.py``: a worker driven over stdin.

Runs in its own virtualenv (``torch==2.13.0`` CPU and ``pythae``), never imports TensorFlow.
The parent process sends one JSON command per line on stdin and reads one JSON answer per line
on stdout (pythae's logging and tqdm bars go to stderr), so that the parent can interleave the
PyTorch and TensorFlow measurements repeat by repeat on a machine whose load changes. Both ends
of that protocol are ``throughput/protocol.py`` (standard library only).

Commands:

* ``{"op": "info"}`` -> versions and thread counts.
* ``{"op": "setup", "key": K, "arch": "fc"|"conv", "loop": "trainer"|"plain", "steps": N}``
  builds pythae's ``VAE`` with the paper's network (Bernoulli likelihood: pythae's ``bce``
  reconstruction loss on sigmoid outputs), Adam(1e-3), batch ``--batch-size``, and either
  pythae's ``BaseTrainer`` on a ``BaseDataset`` of exactly N batches of the images, or a plain
  loop calling the model's forward, ``backward`` and ``optimizer.step`` on pre-shuffled batches.
  It then runs one warm-up measurement.
* ``{"op": "measure", "key": K}`` -> ``{"seconds": s, "cpu_seconds": c, "steps": N}`` for N
  training steps (wall time and the process's CPU time).
  For ``trainer`` this is one call of ``BaseTrainer.train_step(epoch)``: pythae's own epoch loop
  (DataLoader over ``BaseDataset`` with per-example ``__getitem__`` and collation, forward,
  ``zero_grad``/``backward``/``step``, ``loss.item()``, progress-bar callbacks). pythae's
  ``train()`` adds, per epoch, a ``deepcopy`` of the model and, at the end, saving it; they are
  not per-step costs and are left out.
* ``{"op": "quit"}``.

Usage (normally started by the parent):

    .venv-pythae/bin/python benchmarks/train_throughput_pythae.py --images X.npy --threads 2
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
from machine import package_version  # benchmarks/ (this script's folder, on sys.path)
from pythae.data.datasets import BaseDataset
from pythae.models import VAE, VAEConfig
from pythae.models.base.base_utils import ModelOutput
from pythae.models.nn import BaseDecoder, BaseEncoder
from pythae.trainers import BaseTrainer, BaseTrainerConfig
from throughput.protocol import serve  # standard library only

LATENT_DIM = 20
FC_UNITS, FC_DEPTH = 1000, 4
CONV_ENCODER_FILTERS = (28, 28, 56, 118)  # tf_infomax.networks.conv.MNIST_ENCODER_FILTERS
CONV_DECODER_FILTERS = (118, 118, 56, 28, 28)  # MNIST_DECODER_FILTERS


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's 'same' padding (before, after) of one spatial axis."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def tf_same_conv(in_ch: int, out_ch: int, size: int, kernel: int, stride: int) -> nn.Sequential:
    """Conv2d with TensorFlow's (possibly asymmetric) 'same' padding, for an input size x size."""
    before, after = same_padding(size, kernel, stride)
    return nn.Sequential(
        nn.ZeroPad2d((before, after, before, after)), nn.Conv2d(in_ch, out_ch, kernel, stride)
    )


class FCEncoder(BaseEncoder):
    """784 -> 4 x 1000 LeakyReLU(0.2) -> 2 x 20 (one linear layer split in mean, log-variance)."""

    def __init__(self, pixels: int, latent_dim: int = LATENT_DIM):
        BaseEncoder.__init__(self)
        layers, width = [nn.Flatten()], pixels
        for _ in range(FC_DEPTH):
            layers += [nn.Linear(width, FC_UNITS), nn.LeakyReLU(0.2)]
            width = FC_UNITS
        layers.append(nn.Linear(width, 2 * latent_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        mean, log_var = self.net(x).chunk(2, dim=-1)
        return ModelOutput(embedding=mean, log_covariance=log_var)


class FCDecoder(BaseDecoder):
    """20 -> 4 x 1000 LeakyReLU(0.2) -> 784 -> sigmoid (pythae's bce takes probabilities)."""

    def __init__(self, shape: tuple[int, int, int], latent_dim: int = LATENT_DIM):
        BaseDecoder.__init__(self)
        layers, width = [], latent_dim
        for _ in range(FC_DEPTH):
            layers += [nn.Linear(width, FC_UNITS), nn.LeakyReLU(0.2)]
            width = FC_UNITS
        layers += [nn.Linear(width, math.prod(shape)), nn.Sigmoid(), nn.Unflatten(1, shape)]
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return ModelOutput(reconstruction=self.net(z))


class ConvEncoder(BaseEncoder):
    """Table 5 bottom, as tf_infomax.networks.conv.conv_encoder: 4x4 stride-2 'same' convs."""

    def __init__(self, shape: tuple[int, int, int], latent_dim: int = LATENT_DIM):
        BaseEncoder.__init__(self)
        channels, size, _ = shape
        layers = []
        for width in CONV_ENCODER_FILTERS:
            layers += [tf_same_conv(channels, width, size, 4, 2), nn.ReLU()]
            channels, size = width, math.ceil(size / 2)
        layers += [nn.Flatten(), nn.Linear(channels * size * size, 2 * latent_dim)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        mean, log_var = self.net(x).chunk(2, dim=-1)
        return ModelOutput(embedding=mean, log_covariance=log_var)


class ConvDecoder(BaseDecoder):
    """As conv_decoder: FC to 2x2x118, 4 x [4x4 stride-2 up-conv], crop 32 -> 28, 4x4 conv."""

    def __init__(self, shape: tuple[int, int, int], latent_dim: int = LATENT_DIM):
        BaseDecoder.__init__(self)
        channels, height, _ = shape
        n_up = len(CONV_DECODER_FILTERS) - 1
        self.start = math.ceil(height / 2**n_up)
        first = CONV_DECODER_FILTERS[0]
        self.fc = nn.Sequential(nn.Linear(latent_dim, self.start**2 * first), nn.ReLU())
        layers, width = [], first
        for out in CONV_DECODER_FILTERS[1:]:
            # k=4, s=2, p=1 doubles the size, as Keras' 'same' Conv2DTranspose does.
            layers += [nn.ConvTranspose2d(width, out, 4, 2, 1), nn.ReLU()]
            width = out
        size = self.start * 2**n_up
        crop = size - height
        layers.append(nn.ZeroPad2d((-(crop // 2), -(crop - crop // 2)) * 2))  # centre crop
        layers += [tf_same_conv(width, channels, height, 4, 1), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)
        self.first = first

    def forward(self, z):
        h = self.fc(z).view(-1, self.first, self.start, self.start)
        return ModelOutput(reconstruction=self.net(h))


def build_vae(arch: str, shape: tuple[int, int, int]) -> VAE:
    config = VAEConfig(input_dim=shape, latent_dim=LATENT_DIM, reconstruction_loss="bce")
    if arch == "fc":
        encoder, decoder = FCEncoder(math.prod(shape)), FCDecoder(shape)
    elif arch == "conv":
        encoder, decoder = ConvEncoder(shape), ConvDecoder(shape)
    else:
        raise ValueError(f"unknown arch {arch!r}")
    return VAE(config, encoder=encoder, decoder=decoder)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class TrainerRun:
    """pythae's BaseTrainer over a BaseDataset of exactly ``steps`` batches; one epoch = N steps."""

    def __init__(self, arch, images, steps, batch_size, workdir):
        self.steps = steps
        data = torch.from_numpy(images[: steps * batch_size])
        self.model = build_vae(arch, tuple(data.shape[1:]))
        config = BaseTrainerConfig(
            output_dir=workdir,
            per_device_train_batch_size=batch_size,
            num_epochs=1,
            learning_rate=1e-3,
            optimizer_cls="Adam",
            no_cuda=True,
            seed=0,
        )
        dataset = BaseDataset(data, torch.zeros(len(data)))
        self.trainer = BaseTrainer(self.model, train_dataset=dataset, training_config=config)
        self.trainer.prepare_training()
        self.epoch = 0

    def run(self) -> tuple[float, float]:
        self.epoch += 1
        start, cpu = time.perf_counter(), time.process_time()
        self.trainer.train_step(self.epoch)
        return time.perf_counter() - start, time.process_time() - cpu


class PlainRun:
    """A plain loop over pythae's VAE: forward, zero_grad, backward, Adam step."""

    def __init__(self, arch, images, steps, batch_size, seed=0):
        self.steps, self.batch_size = steps, batch_size
        self.data = torch.from_numpy(images)
        self.model = build_vae(arch, tuple(self.data.shape[1:]))
        self.model.train()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.generator = torch.Generator().manual_seed(seed)
        self.order = torch.randperm(len(self.data), generator=self.generator)
        self.position = 0

    def batch(self):
        if self.position + self.batch_size > len(self.order):
            self.order = torch.randperm(len(self.data), generator=self.generator)
            self.position = 0
        index = self.order[self.position : self.position + self.batch_size]
        self.position += self.batch_size
        return {"data": self.data[index]}

    def run(self) -> tuple[float, float]:
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(self.steps):
            loss = self.model(self.batch()).loss
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
        loss.item()
        return time.perf_counter() - start, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", required=True, help=".npy float32 (N, C, H, W) in [0, 1]")
    parser.add_argument("--threads", type=int, required=True, help="torch.set_num_threads")
    parser.add_argument("--interop-threads", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    if args.interop_threads:
        torch.set_num_interop_threads(args.interop_threads)
    torch.manual_seed(0)
    images = np.load(args.images)

    workdir = tempfile.mkdtemp(prefix="pythae-bench-")
    runs: dict[str, TrainerRun | PlainRun] = {}

    def info(command: dict) -> dict:
        import pythae

        return {
            "torch": torch.__version__,
            "pythae": getattr(pythae, "__version__", None) or package_version("pythae"),
            "numpy": np.__version__,
            "python": sys.version.split()[0],
            "torch_num_threads": torch.get_num_threads(),
            "torch_num_interop_threads": torch.get_num_interop_threads(),
            "mkldnn": torch.backends.mkldnn.is_available(),
            "omp_env": {k: v for k, v in os.environ.items() if k.startswith("OMP_")},
            "parallel_info": torch.__config__.parallel_info().splitlines()[:8],
            "images": list(images.shape),
        }

    def setup(command: dict) -> dict:
        key, arch, steps = command["key"], command["arch"], int(command["steps"])
        if command["loop"] == "trainer":
            run = TrainerRun(arch, images, steps, args.batch_size, workdir)
        else:
            run = PlainRun(arch, images, steps, args.batch_size)
        runs[key] = run
        warmup, _ = run.run()
        return {"key": key, "parameters": count_parameters(run.model), "warmup_seconds": warmup}

    def measure(command: dict) -> dict:
        run = runs[command["key"]]
        seconds, cpu_seconds = run.run()
        return {
            "key": command["key"],
            "seconds": seconds,
            "cpu_seconds": cpu_seconds,
            "steps": run.steps,
        }

    # pythae's prints and logs go to stderr: they must not corrupt the protocol.
    return serve(lambda: {"info": info, "setup": setup, "measure": measure})


if __name__ == "__main__":
    sys.exit(main())
