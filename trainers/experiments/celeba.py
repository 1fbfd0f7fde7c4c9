"""CelebA (paper, Section 6.4, Figures 5 and 9): VAE vs InfoMax-VAE, z_dim 100, Table 8 nets.

alpha = 10, beta = 1 (Table 8 caption), the CelebA critic 12288 + z -> 2000 -> 1000 -> 100 ->
10 -> 1, 64 x 64 centre crops. The paper gives no training length; ours is ``EPOCHS``.

CelebA cannot be downloaded in the sandbox this was written in; with internet (a GPU is
advisable):
    tf-infomax reproduce celeba --root runs/celeba --results runs/celeba/results.json
    python -m trainers.experiments.celeba --root runs/celeba --out runs/celeba/figures

The study (``after_evaluation``) writes, per run, ``figures/figure5_samples.png`` (Figure 5:
E[x|z], z ~ p(z)) and ``figures/figure9_traversal.png`` (Figure 9: a test code with 90% of it
fixed, each of the other 10 dimensions swept from -4 to 4, one per row), published beside the
results; the second command writes them again for trained runs, as ``<run>_samples.png`` and
``<run>_traversal.png``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from tf_infomax.networks.celeba import CELEBA_LATENT_DIM, CELEBA_WEIGHTS
from tf_infomax.training import TrainConfig

EPOCHS = 20
METHODS = ("vae", "infomax-vae")


def get_config(smoke: bool = False) -> dict[str, TrainConfig]:
    """Run name -> config. The smoke variant: one InfoMax-VAE, z_dim 4, 8 images, small critic."""
    latent = 4 if smoke else CELEBA_LATENT_DIM
    return {
        f"celeba_z{latent}_{method}": TrainConfig.from_flat(
            model=method,
            dataset="celeb_a",
            arch="celeba",
            latent_dim=latent,
            critic_units=(16,) if smoke else None,
            epochs=1 if smoke else EPOCHS,
            batch_size=4 if smoke else 100,
            limit=8 if smoke else None,
            validation_limit=0 if smoke else None,
            **(CELEBA_WEIGHTS if method == "infomax-vae" else {}),
        )
        for method in (("infomax-vae",) if smoke else METHODS)
    }


def write_figures(run_dir: str | Path, out_dir: str | Path, *, seed: int = 0) -> dict[str, Path]:
    """Samples (Figure 5) and a 10% latent traversal (Figure 9) of a trained run, as PNGs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tf_infomax import data
    from tf_infomax.networks import latent_traversal, tile_images
    from tf_infomax.training import load_config, load_model

    run_dir, out_dir = Path(run_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config, model = load_config(run_dir), load_model(run_dir)
    test = data.load(
        config.data.dataset, "test", batch_size=1, shuffle=False, data_dir=config.data.data_dir
    )
    images, _ = next(iter(test))
    code = np.asarray(model.encode(images).mean)[0]
    traversal = latent_traversal(lambda z: np.asarray(model.decode(z).mean()), code)
    samples = np.asarray(model.sample(64, seed=seed)).reshape(8, 8, *model.image_shape)
    paths = {
        "samples": out_dir / f"{run_dir.name}_samples.png",
        "traversal": out_dir / f"{run_dir.name}_traversal.png",
    }
    for key, grid in (("samples", tile_images(samples)), ("traversal", traversal)):
        plt.imsave(paths[key], np.clip(grid.squeeze(), 0.0, 1.0), cmap="gray")
    return paths


def after_evaluation(run, smoke: bool = False) -> dict:
    """Figures 5 and 9 of the run, in its ``figures/`` folder."""
    paths = write_figures(run.path, run.path / "figures", seed=run.config().seed)
    named = {}
    for key, figure in (("samples", "figure5_samples"), ("traversal", "figure9_traversal")):
        target = run.path / "figures" / f"{figure}.png"
        paths[key].replace(target)
        named[key] = str(target.relative_to(run.path))
    return {"paper_figures": named}


def figures_for(run: str) -> tuple[str, ...]:
    return ("figure5_samples", "figure9_traversal")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Figures 5 and 9 of trained CelebA runs.")
    parser.add_argument("--root", required=True, help="folder of the run directories")
    parser.add_argument("--out", required=True, help="folder of the PNG files")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for name in get_config():
        for key, path in write_figures(Path(args.root) / name, args.out, seed=args.seed).items():
            print(f"{name} {key}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
