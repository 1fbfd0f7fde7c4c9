"""The paper's figures as small PNG files (matplotlib, Agg backend).

* ``aggregate_posterior.png``: the prior p(z) next to the aggregated posterior
  q(z) = (1/N) sum_n q(z|x_n) in two latent dimensions (Figure 2 a-e);
* ``latent_codes.png``: posterior means coloured by class (Figure 2 f-j);
* ``samples.png``: E[x|z] for z ~ p(z) (Figure 3);
* ``reconstructions.png``: test images above E[x|z = E_q[z|x]];
* ``traversals.png``: one code, one latent dimension per row swept over -4..4 (Figure 9);
* ``tsne.png``: a t-SNE map (scikit-learn) of the posterior means, coloured by class.

With an autoregressive decoder (PixelVAE), samples and traversals are exact draws from p(x|z).

Latent figures use the two dimensions given (by default the two most active ones, see
``tf_infomax.metrics.active_units.most_active_dims``); for D > 2 the densities are the exact 2-D
marginals of q(z) and p(z), and the title says which dimensions are shown.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tf_infomax.metrics.aggregate_posterior import log_aggregate_posterior  # noqa: E402
from tf_infomax.networks.traversal import traversal_codes  # noqa: E402

DPI = 80
DENSITY_POSTERIORS = 2000  # mixture components used for the density grid
GRID_POINTS = 100


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path


def _dims_label(dims: Sequence[int], latent_dim: int) -> str:
    return "" if latent_dim <= 2 else f" (dims {dims[0]}, {dims[1]} of {latent_dim})"


def _latent_extent(points: np.ndarray) -> float:
    return float(max(3.5, 1.1 * np.quantile(np.abs(points), 0.995)))


def aggregate_posterior_figure(
    mean: np.ndarray,
    log_var: np.ndarray,
    path: str | Path,
    *,
    dims: Sequence[int] = (0, 1),
    seed: int = 0,
) -> Path:
    """Density contours of p(z) = N(0, I) and of q(z) in the latent dimensions ``dims``."""
    dims = list(dims)
    rng = np.random.default_rng(seed)
    keep = rng.permutation(mean.shape[0])[:DENSITY_POSTERIORS]
    mean2, log_var2 = mean[keep][:, dims], log_var[keep][:, dims]
    extent = _latent_extent(mean2)
    axis = np.linspace(-extent, extent, GRID_POINTS)
    grid = np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)
    densities = {
        "prior p(z)": np.exp(-0.5 * np.sum(grid**2, 1)) / (2 * math.pi),
        "aggregated posterior q(z)": np.exp(log_aggregate_posterior(grid, mean2, log_var2)),
    }
    fig, axes = plt.subplots(1, 2, figsize=(7, 3.5), sharex=True, sharey=True)
    for ax, (title, density) in zip(axes, densities.items(), strict=True):
        # Clip the top 0.5% so a few very narrow posteriors do not wash out the colour scale.
        density = np.minimum(density, np.quantile(density, 0.995))
        ax.contourf(axis, axis, density.reshape(GRID_POINTS, GRID_POINTS), levels=20)
        ax.set_title(title, fontsize=9)
        ax.set_aspect("equal")
        ax.set_xlabel(f"z{dims[0]}")
    axes[0].set_ylabel(f"z{dims[1]}")
    fig.suptitle(f"Prior and aggregated posterior{_dims_label(dims, mean.shape[1])}", fontsize=9)
    return _save(fig, path)


def _class_scatter(fig, ax, points: np.ndarray, labels: np.ndarray | None) -> None:
    """Scatter 2-D points, one tab10 colour per class below 10 classes, else a colour bar."""
    if labels is None:
        ax.scatter(points[:, 0], points[:, 1], s=3, alpha=0.7)
        return
    classes = np.asarray(labels)
    few = classes.max() < 10  # one tab10 colour per class, as Figure 2 (f)
    scatter = ax.scatter(
        points[:, 0],
        points[:, 1],
        c=classes,
        s=3,
        alpha=0.7,
        cmap="tab10" if few else "viridis",
        vmin=-0.5 if few else None,
        vmax=9.5 if few else None,
    )
    if few:
        ax.legend(*scatter.legend_elements(), fontsize=6, markerscale=0.6, loc="best")
    else:
        fig.colorbar(scatter, ax=ax, label="class")


def latent_codes_figure(
    mean: np.ndarray,
    labels: np.ndarray | None,
    path: str | Path,
    *,
    dims: Sequence[int] = (0, 1),
    max_points: int = 5000,
) -> Path:
    """Scatter of posterior means in ``dims``, coloured by class when labels are given."""
    dims = list(dims)
    points = mean[:max_points][:, dims]
    fig, ax = plt.subplots(figsize=(4.5, 4))
    _class_scatter(fig, ax, points, None if labels is None else np.asarray(labels)[:max_points])
    ax.set_xlabel(f"z{dims[0]}")
    ax.set_ylabel(f"z{dims[1]}")
    ax.set_title(f"Latent codes E_q[z|x]{_dims_label(dims, mean.shape[1])}", fontsize=9)
    return _save(fig, path)


def tsne_figure(
    mean: np.ndarray,
    labels: np.ndarray,
    path: str | Path,
    *,
    max_points: int,
    seed: int = 0,
) -> dict:
    """A 2-D t-SNE map of the first ``max_points`` posterior means, coloured by label.

    scikit-learn's ``TSNE`` (Barnes-Hut, PCA initialisation) with perplexity 30, or
    (N - 1) / 3 for fewer than 91 points. Returns the settings, with ``path``.
    """
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    count = min(int(max_points), len(mean))
    if count < 4:
        raise ValueError(f"t-SNE needs at least 4 codes, got {count}.")
    perplexity = float(min(30.0, (count - 1) / 3))
    embedding = TSNE(2, perplexity=perplexity, init="pca", random_state=seed)
    with threadpool_limits(1):  # beside TensorFlow's thread pools one thread was faster
        points = embedding.fit_transform(np.asarray(mean[:count], np.float64))
    fig, ax = plt.subplots(figsize=(4.5, 4))
    _class_scatter(fig, ax, points, np.asarray(labels)[:count])
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(
        f"t-SNE of E_q[z|x] ({count} codes, {mean.shape[1]} dims, perplexity {perplexity:.3g})",
        fontsize=9,
    )
    return {
        "path": str(_save(fig, path)),
        "num_points": count,
        "perplexity": perplexity,
        "kl_divergence": float(embedding.kl_divergence_),
        "seed": seed,
    }


def _show(ax, image: np.ndarray) -> None:
    image = np.clip(np.asarray(image, np.float32), 0.0, 1.0)
    if image.shape[-1] == 1:
        ax.imshow(image[..., 0], cmap="gray", vmin=0, vmax=1)
    else:
        ax.imshow(image)
    ax.set_xticks([])
    ax.set_yticks([])


def image_grid_figure(
    rows: Sequence[np.ndarray],
    path: str | Path,
    *,
    title: str = "",
    row_labels: Sequence[str] | None = None,
) -> Path:
    """A grid of images in [0, 1]: ``rows`` is a list of (columns, H, W, C) arrays."""
    num_rows, num_cols = len(rows), max(len(r) for r in rows)
    height = 0.6 * num_rows + 0.3
    fig, axes = plt.subplots(num_rows, num_cols, figsize=(0.6 * num_cols, height), squeeze=False)
    for r, row in enumerate(rows):
        for c in range(num_cols):
            if c < len(row):
                _show(axes[r, c], row[c])
            else:
                axes[r, c].axis("off")
        if row_labels:
            axes[r, 0].set_ylabel(row_labels[r], fontsize=6, rotation=0, ha="right")
    fig.suptitle(title, fontsize=8)
    fig.subplots_adjust(wspace=0.05, hspace=0.05, top=1.0 - 0.3 / height)
    return _save(fig, path)


def _decoded(model: Any, z: np.ndarray, seed: int) -> np.ndarray:
    """E[x|z], or exact samples x ~ p(x|z) for an autoregressive decoder (no closed-form mean)."""
    if getattr(model, "decoder_conditions_on_x", False):
        return np.asarray(model.decoder.sample(z, seed=seed))
    return np.asarray(model.decode(z).mean())


def write_figures(
    model: Any,
    mean: np.ndarray,
    log_var: np.ndarray,
    labels: np.ndarray | None,
    images: np.ndarray,
    out_dir: str | Path,
    *,
    dims: Sequence[int],
    traversal_dims: Sequence[int],
    seed: int = 0,
) -> dict[str, str]:
    """Write all figures of a model to ``out_dir``; return {figure name: path}.

    Args:
        model: an ``InfoMaxVAE`` (uses ``sample``, ``call`` and ``decode``).
        mean, log_var, labels: posterior parameters and labels of the evaluation set.
        images: a few evaluation images (the first one is the traversal's base code).
        dims: the two latent dimensions of the latent figures.
        traversal_dims: latent dimensions to sweep, one row each.
        seed: seed of the prior samples.
    """
    out = Path(out_dir)
    shown = np.asarray(images[:10])
    codes = traversal_codes(mean[0], traversal_dims)  # (rows, values, D), -4..4 (Figure 9)
    sweeps = _decoded(model, codes.reshape(-1, codes.shape[-1]), seed)
    sweeps = sweeps.reshape(*codes.shape[:2], *shown.shape[1:])
    paths = {
        "aggregate_posterior": aggregate_posterior_figure(
            mean, log_var, out / "aggregate_posterior.png", dims=dims, seed=seed
        ),
        "latent_codes": latent_codes_figure(mean, labels, out / "latent_codes.png", dims=dims),
        "samples": image_grid_figure(
            list(np.asarray(model.sample(64, seed=seed)).reshape(8, 8, *shown.shape[1:])),
            out / "samples.png",
            title="Samples E[x|z], z ~ p(z)",
        ),
        "reconstructions": image_grid_figure(
            [shown, np.asarray(model(shown))],
            out / "reconstructions.png",
            title="Test images (top) and reconstructions E[x|z=E_q[z|x]] (bottom)",
        ),
        "traversals": image_grid_figure(
            list(sweeps),
            out / "traversals.png",
            title="Traversals: z_d from -4 to 4, other dims fixed",
            row_labels=[f"z{d}" for d in traversal_dims],
        ),
    }
    return {name: str(path) for name, path in paths.items()}
