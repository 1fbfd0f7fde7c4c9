"""Markdown tables of a training-throughput result, for docs/performance.md.

    python benchmarks/render_throughput.py [benchmarks/results/train_throughput.json]

Prints the configuration table, the FC matmul limit and the ratios against the issue's
targets, every number read from the JSON that ``benchmarks/train_throughput.py`` wrote.
"""

from __future__ import annotations

import json
import pathlib
import sys

RESULTS = pathlib.Path(__file__).parent / "results" / "train_throughput.json"


def _num(value, digits=0, percent=False) -> str:
    if value is None:
        return "-"
    if percent:
        return f"{value:.0%}"
    return f"{value:,.{digits}f}"


def configuration_table(result: dict) -> list[str]:
    lines = [
        "| configuration | examples/s (median) | best repeat | step ms | CPU ms/step | GFLOP/s "
        "| of limit |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, c in result["configurations"].items():
        cells = [
            f"`{key}`",
            _num(c["examples_per_s_median"]),
            _num(c["examples_per_s_best"]),
            _num(c["step_ms_median"], 1),
            _num(c.get("cpu_ms_per_step_median")),
            _num(c.get("gflops_median"), 1),
            _num(c.get("fraction_of_matmul_limit_median"), percent=True),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def matmul_table(result: dict) -> list[str]:
    limit = result.get("matmul_limit")
    if not limit:
        return []
    modes = [
        (f"gflops_{mode}_{setting}_best", f"{mode}, {setting.replace('_', ' ')}")
        for setting in limit["settings"]
        for mode in ("graph", "xla")
    ]
    lines = [
        "| GEMM (m x k x n) | " + " | ".join(title for _, title in modes) + " |",
        "| --- |" + " ---: |" * len(modes),
    ]
    for rate in limit["rates"]:
        m, k, n = rate["shape"]
        flags = ("ᵀA " if rate["transpose_a"] else "") + ("ᵀB" if rate["transpose_b"] else "")
        cells = [f"{m}x{k}x{n} {flags}".strip()] + [_num(rate.get(key)) for key, _ in modes]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for method, lim in limit["limits"].items():
        lines.append(
            f"* FC {method}: {lim['gemm_flops_per_step'] / 1e9:.2f} GFLOP of GEMMs per step take "
            f"{lim['limit_step_ms']:.1f} ms at the best rates: **limit "
            f"{lim['limit_examples_per_s']:,.0f} examples/s** ({lim['limit_gflops_weighted']:.1f}"
            " GFLOP/s)."
        )
    return lines


def ratio_table(result: dict) -> list[str]:
    lines = ["| | " + " | ".join(result["headline"]) + " |"]
    lines.append("| --- |" + " ---: |" * len(result["headline"]))
    rows = [
        ("our VAE (best configuration)", lambda h: _best(h, "vae")),
        ("our InfoMax-VAE (best configuration)", lambda h: _best(h, "infomax-vae")),
        ("pythae VAE, BaseTrainer loop", lambda h: _best(h, "pythae_vae_trainer")),
        ("pythae VAE, plain loop", lambda h: _best(h, "pythae_vae_plain")),
    ]
    ratios = [
        ("InfoMax-VAE / pythae VAE trainer (target >= 1.2)", "infomax_vae_over_pythae_vae_trainer"),
        ("InfoMax-VAE / pythae VAE plain (target >= 1.2)", "infomax_vae_over_pythae_vae_plain"),
        ("VAE / pythae VAE trainer", "vae_over_pythae_vae_trainer"),
        ("VAE / pythae VAE plain", "vae_over_pythae_vae_plain"),
        ("VAE / matmul limit (target >= 70%)", "vae_fraction_of_matmul_limit"),
        ("InfoMax-VAE / its matmul limit", "infomax_vae_fraction_of_matmul_limit"),
        ("InfoMax-VAE step / VAE step (target <= 1.3)", "infomax_vae_step_over_vae_step"),
    ]
    for title, get in rows:
        cells = [get(h) for h in result["headline"].values()]
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    for title, key in ratios:
        cells = [_num(h["ratios"].get(key), 2) for h in result["headline"].values()]
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    return lines


def _best(headline: dict, name: str) -> str:
    entry = headline.get(name)
    if not entry:
        return "-"
    setting = entry["configuration"].split("/", 3)[-1]
    return f"{entry['examples_per_s']:,.0f} ex/s ({setting})"


def main(argv: list[str]) -> int:
    path = pathlib.Path(argv[0]) if argv else RESULTS
    result = json.loads(path.read_text())
    m = result["machine"]
    print(
        f"Run of {result['date_utc']} (`{result['command']}`, {result['wall_seconds']:.0f} s); "
        f"load average {m['load_average_start']} at the start, {m['load_average_end']} at the "
        f"end, on {m['cpus_usable']} CPUs ({m['cpu_model']}); TF intra-op threads "
        f"{m['tf_intra_op_threads']}."
    )
    for title, table in (
        ("Configurations", configuration_table(result)),
        ("Matmul limit (FC)", matmul_table(result)),
        ("Ratios and targets", ratio_table(result)),
    ):
        if table:
            print(f"\n#### {title}\n")
            print("\n".join(table))
    print(f"\nTargets reached: {result['targets_reached']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
