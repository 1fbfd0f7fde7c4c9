"""`tf-infomax report`: one generic renderer of results rows into Markdown tables and plots.

A results file holds the rows of one or more experiments (``trainers/study.py``). Each
experiment gets a section: its module's ``report(rows, context)`` hook where it has one,
else a table of its runs' registered metrics. Every experiment whose runs span several
decoder depths also gets one PNG per headline metric against depth (the paper's values
beside ours where ``trainers/paper_tables.py`` has them). Interpretation is prose written by
hand in ``<report>_notes.md`` beside the report, which the report links to; nothing here
draws conclusions.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tf_infomax.config import LEGACY_DEFAULTS
from tf_infomax.metrics.registry import METRICS

# The metrics plotted against decoder depth (the paper's Tables 2-3).
DEPTH_PLOT_METRICS = {
    "mutual_information": "mutual information (post-hoc critic, nats)",
    "active_units": "active units (epsilon = 0.01)",
    "log_likelihood": "log-likelihood (nats)",
}


@dataclass
class ReportContext:
    """What a section may need beside its rows: all rows, extra result files, the output."""

    rows: list[dict]
    out: Path
    iwae_k_rows: list[dict] = field(default_factory=list)

    @property
    def figures_dir(self) -> Path:
        return self.out.parent / "figures" / self.out.stem


# ------------------------------------------------------------------------------ formatting
def mean_sd(values: Iterable) -> tuple[float | None, float | None]:
    """Mean and standard deviation of the finite numbers among ``values`` (None if none)."""
    numbers = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if not numbers:
        return None, None
    return statistics.fmean(numbers), (statistics.stdev(numbers) if len(numbers) > 1 else None)


def fmt(value, digits: int = 2, spread: float | None = None) -> str:
    """``1.23`` / ``1.23 ± 0.04`` / ``-`` for missing values, ``inf`` for infinite ones."""
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if not math.isfinite(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, int):
        return str(value)
    text = f"{value:.{digits}f}"
    return f"{text} ± {spread:.{digits}f}" if spread is not None else text


def fmt_mean(values: Iterable, digits: int = 2) -> str:
    mean, spread = mean_sd(values)
    return fmt(mean, digits, spread)


def table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return lines


def headline(row: dict, key: str):
    """A metric's headline value in a row; probe accuracies as ``linear/mlp`` text."""
    value = row.get(key)
    if isinstance(value, dict):
        return "/".join(fmt(v, 3) for v in value.values())
    return value


def probe_accuracy(row: dict, kind: str):
    """The ``linear`` or ``mlp`` probe's test accuracy in a row (None if not measured)."""
    value = row.get("probe_accuracy")
    return value.get(kind) if isinstance(value, dict) else None


def paper_threshold_au(row: dict):
    """Active units at the paper's epsilon = 0.05 (eq. 7), from the row's metric settings."""
    return (
        (row.get("metric_settings") or {}).get("active_units", {}).get("count_at_paper_threshold")
    )


# -------------------------------------------------------------------------------- sections
def runs_section(rows: list[dict]) -> list[str]:
    """The default section: one line per run, the registered metrics as columns."""
    metrics = [m for m in METRICS if any(m in r for r in rows)]
    header = ["run", "model", "estimator", "layers", "seed", "epochs", "best epoch"]
    header += ["train time (s)", *metrics]
    body = []
    for row in rows:
        cells = [row["run"], row.get("model"), row.get("estimator"), row.get("decoder_layers")]
        cells += [row.get("seed"), row.get("epochs"), row.get("best_epoch")]
        cells += [row.get("train_wall_time_s"), *(headline(row, m) for m in metrics)]
        body.append([fmt(c, 0 if i == 7 else 3) for i, c in enumerate(cells)])
    return table(header, body)


def settings_section(rows: list[dict]) -> list[str]:
    """How each number was made: training length, clipping, and the metrics' settings."""
    header = ["run", "epochs", "train examples", "grad clip (vae/critic)", "log-var floor"]
    header += ["IWAE K x images", "MI critics (bound, steps, train pairs, count)"]
    header += ["AU at 0.01 / 0.05"]
    body = []
    for row in rows:
        config, settings = row.get("config", {}), row.get("metric_settings", {})
        iwae, mi = settings.get("log_likelihood", {}), settings.get("mutual_information", {})
        body.append(
            [
                row["run"],
                str(row.get("epochs")),
                str(row.get("train_examples") or "all"),
                f"{_option(config.get('clipnorm'))}/{_option(config.get('critic_clipnorm'))}",
                _floor(config),
                f"{iwae.get('num_samples', '-')} x {iwae.get('num_examples', '-')}",
                f"{mi.get('bound', '-')}, {mi.get('steps', '-')}, {_pairs(mi)}, "
                f"{mi.get('critics', 1) if mi else '-'}",
                f"{fmt(row.get('active_units'))} / {fmt(paper_threshold_au(row))}",
            ]
        )
    return ["", "### Settings of each run", "", *table(header, body)]


def critics_section(rows: list[dict]) -> list[str]:
    """Every post-hoc MI critic of the runs evaluated with several (``--mi-critics``)."""
    body = []
    for row in rows:
        mi = row.get("metric_settings", {}).get("mutual_information", {})
        if mi.get("critics", 1) > 1:
            values = ", ".join(fmt(v) for v in mi["critic_values"])
            trained = ", ".join(fmt(v) for v in mi["critic_train_estimates"])
            seeds = ", ".join(str(v) for v in mi["critic_seeds"])
            body.append([row["run"], seeds, values, fmt(row.get("mutual_information")), trained])
    if not body:
        return []
    header = ["run", "critic seeds", "held-out estimates", "reported (median)"]
    header += ["training-batch estimates"]
    return [
        "",
        "### Post-hoc MI, every critic",
        "",
        "Each run's post-hoc MI is the median of fresh critics trained with different seeds; a "
        "critic whose held-out estimate sits far below its training estimate has failed on "
        "that encoder.",
        "",
        *table(header, body),
    ]


def _pairs(mi: dict) -> str:
    """Training images of the post-hoc MI critic (None in the entry: all)."""
    if "train_limit" not in mi:
        return "-"
    return "all" if mi["train_limit"] is None else str(mi["train_limit"])


def _option(value) -> str:
    """A numeric option as the command line writes it (``none`` for None)."""
    return "none" if value is None else f"{value:g}"


def _floor(config: dict) -> str:
    """The run's log-variance floor; a config.json from before the option meant 0.1's -10."""
    if not config:
        return "-"
    return _option(config.get("min_log_var", LEGACY_DEFAULTS["min_log_var"]))


def figures_section(title: str, rows: list[dict]) -> list[str]:
    """The figures the study published for its runs (``figure_files``)."""
    figures = [(row["run"], f) for row in rows for f in row.get("figure_files", [])]
    if not figures:
        return []
    lines = ["", f"### {title}", ""]
    for run, path in figures:
        lines += [f"**{run}**: ![{run}]({path})", ""]
    return lines


def _variant(row: dict) -> str:
    """The method, with the estimator where InfoMax-VAE trains with another than f-KL."""
    estimator = row.get("estimator")
    if row.get("model") == "infomax-vae" and estimator not in (None, "f-kl"):
        return f"infomax-vae ({estimator})"
    return row.get("model", "?")


def depth_figures(experiment: str, rows: list[dict], context: ReportContext) -> list[str]:
    """One PNG per metric of ``DEPTH_PLOT_METRICS`` against decoder depth: means over seeds
    per method, the paper's values dashed (Fashion-MNIST FC runs); [] for a single depth."""
    from trainers.paper_tables import paper_value

    depths = sorted({r["decoder_layers"] for r in rows if r.get("decoder_layers")})
    if len(depths) < 2:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variants = list(dict.fromkeys(_variant(r) for r in rows))
    paper_data = all(
        (r.get("config") or {}).get("dataset") == "fashion_mnist" and r.get("arch") == "fc"
        for r in rows
    )
    lines = ["", "### Metrics against decoder depth", ""]
    context.figures_dir.mkdir(parents=True, exist_ok=True)
    for metric, label in DEPTH_PLOT_METRICS.items():
        fig, ax = plt.subplots(figsize=(4.5, 3.2), dpi=100)
        drawn, papers = False, set()
        for index, name in enumerate(variants):
            ours = [
                (d, mean_sd(r.get(metric) for r in rows if _variant(r) == name
                            and r["decoder_layers"] == d)[0])
                for d in depths
            ]  # fmt: skip
            ours = [(d, v) for d, v in ours if v is not None]
            if ours:
                ax.plot(*zip(*ours, strict=True), "o-", color=f"C{index}", label=f"{name}, ours")
                drawn = True
            model = name.split(" ")[0]
            paper = [(d, paper_value(metric, model, d)) for d in depths] if paper_data else []
            paper = [(d, v) for d, v in paper if v is not None]
            if paper and model not in papers:
                papers.add(model)
                ax.plot(*zip(*paper, strict=True), "s--", color=f"C{index}", alpha=0.5,
                        label=f"{model}, paper")  # fmt: skip
        if not drawn:
            plt.close(fig)
            continue
        ax.set_xlabel("decoder hidden layers")
        ax.set_ylabel(label, fontsize=8)
        ax.set_xticks(depths)
        ax.legend(fontsize=6)
        fig.tight_layout()
        path = context.figures_dir / f"{experiment}_{metric}_vs_depth.png"
        fig.savefig(path)
        plt.close(fig)
        lines.append(f"![{metric} against depth]({path.relative_to(context.out.parent)})")
    return lines


# ---------------------------------------------------------------------------------- render
def render(rows: list[dict], command: str, source: str, context: ReportContext) -> str:
    """The whole report: a header, one section per experiment, the link to the notes."""
    from trainers.study import experiment_module

    experiments = list(dict.fromkeys(r.get("experiment", "results") for r in rows))
    lines = [
        f"# {', '.join(experiments)}",
        "",
        f"Generated by `{command}` from `{source}` ({len(rows)} runs); do not edit by hand.",
    ]
    notes = context.out.with_name(f"{context.out.stem}_notes.md")
    if notes.exists():
        lines.append(
            f"What we read in these numbers is written by hand in [{notes.name}]({notes.name})."
        )
    for experiment in experiments:
        mine = [r for r in rows if r.get("experiment", "results") == experiment]
        try:  # rows of an experiment this version does not define get the default section
            module = experiment_module(experiment)
        except ValueError:
            module = None
        doc = (module.__doc__ or "").strip() if module else ""
        title = " ".join(doc.split("\n\n")[0].split())  # the docstring's first paragraph
        lines += ["", f"## {experiment}: {title}" if title else f"## {experiment}", ""]
        if module is not None and hasattr(module, "report"):
            lines += module.report(mine, context)
        else:
            lines += runs_section(mine) + settings_section(mine)
            lines += figures_section("Figures", mine)
        lines += depth_figures(experiment, mine, context)
    return "\n".join(lines) + "\n"
