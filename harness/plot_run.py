#!/usr/bin/env python3
"""Plots of a `preemptbench run` result (schema "preemptbench.run/1").

    plot_run.py RUN_JSON OUT_DIR

Writes, as PNG and SVG each:
  latency-vs-throughput-WORKLOAD   p99 wakeup latency (filled markers, solid
                                   line) and p50 (open markers, dotted) against
                                   background throughput, one curve per model
                                   across the load levels (each point labelled
                                   with its load); the median over rounds.
  histogram-WORKLOAD               per-model latency histograms, log y axis,
                                   OSADL style: linear latency bins, one line
                                   per model, one panel per load level,
                                   rounds merged.

`preemptbench run` calls it after writing run.json. Exit codes: 0 done,
2 bad arguments or not a run document, 3 matplotlib is not installed.
"""

import json
import math
import os
import re
import statistics
import sys

SCHEMA = "preemptbench.run/1"
EXIT_USAGE = 2
EXIT_NO_MATPLOTLIB = 3


def fail(message, code=EXIT_USAGE):
    print(f"plot_run.py: {message}", file=sys.stderr)
    sys.exit(code)


def safe(name):
    return re.sub(r"[^A-Za-z0-9._-]", "-", name) or "unnamed"


def load_text(load):
    return f"{load:g}"


def nice_width(raw):
    """The smallest 1, 2 or 5 x 10^k (k >= -1) at least `raw`, in µs."""
    raw = max(raw, 0.1)
    exp = math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        w = m * 10**exp
        if w >= raw - 1e-12:
            return w
    return 10 ** (exp + 1)


def measured(cells):
    """Cells that ran and measured something."""
    return [c for c in cells if not c.get("error") and c["latency_ns"]["count"] > 0]


def models_in_order(doc, cells):
    order = list(doc.get("config", {}).get("models", []))
    for c in cells:
        if c["model"] not in order:
            order.append(c["model"])
    return order


def save(fig, out_dir, stem, written):
    for ext in ("png", "svg"):
        path = os.path.join(out_dir, f"{stem}.{ext}")
        # No timestamp in the SVG: the same run plots to the same file.
        meta = {"Date": None} if ext == "svg" else {}
        fig.savefig(path, dpi=120, metadata=meta)
        written.append(path)


def plot_latency_vs_throughput(plt, doc, workload, cells, out_dir, written):
    fig, ax = plt.subplots(figsize=(8, 5.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    lowest, highest = math.inf, 0.0
    for i, model in enumerate(models_in_order(doc, cells)):
        by_load = {}
        for c in cells:
            if c["model"] == model:
                by_load.setdefault(c["load"], []).append(c)
        if not by_load:
            continue
        loads = sorted(by_load)
        x = [statistics.median(c["throughput"]["ops_per_s"] or 0.0 for c in by_load[l]) for l in loads]
        p99 = [statistics.median(c["latency_ns"]["p99"] for c in by_load[l]) / 1000 for l in loads]
        p50 = [statistics.median(c["latency_ns"]["p50"] for c in by_load[l]) / 1000 for l in loads]
        color = colors[i % len(colors)]
        ax.plot(x, p99, "-o", color=color, label=f"{model} p99")
        ax.plot(x, p50, ":o", color=color, markerfacecolor="none", label=f"{model} p50")
        for xi, yi, l in zip(x, p99, loads):
            ax.annotate(f"x{load_text(l)}", (xi, yi), textcoords="offset points", xytext=(4, 4),
                        fontsize=7, color=color)
        lowest = min([lowest] + [v for v in p50 + p99 if v > 0])
        highest = max([highest] + p50 + p99)
    if highest > 0 and lowest < math.inf and highest / lowest > 20:
        ax.set_yscale("log")
    ax.set_xlabel("background throughput (ops/s)")
    ax.set_ylabel("wakeup latency (µs)")
    ax.set_title(f"{workload}: latency vs throughput per model ({doc.get('label', '')})")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    save(fig, out_dir, f"latency-vs-throughput-{safe(workload)}", written)
    plt.close(fig)


def plot_histograms(plt, doc, workload, cells, out_dir, written):
    """One panel per load level (shared axes), one line per model."""
    models = models_in_order(doc, cells)
    loads = sorted({c["load"] for c in cells})
    max_us = max(c["histogram"]["max"] for c in cells) / 1000
    width = nice_width(max_us / 200)
    nbins = int(max_us / width) + 1
    edges = [b * width for b in range(nbins)]
    fig, axes = plt.subplots(len(loads), 1, figsize=(8, 2.2 + 2.6 * len(loads)), sharex=True,
                             sharey=True, squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, load in zip(axes[:, 0], loads):
        for i, model in enumerate(models):
            mine = [c for c in cells if c["model"] == model and c["load"] == load]
            if not mine:
                continue
            counts = [0] * nbins
            overflow = 0
            for c in mine:
                h = c["histogram"]
                overflow += h.get("overflow", 0)
                for lower, upper, n in h["buckets"]:
                    counts[min(int((lower + upper) / 2 / 1000 / width), nbins - 1)] += n
            # Empty bins drop below the axis, so each model is one connected line.
            y = [n if n > 0 else 0.5 for n in counts]
            peak = max(c["histogram"]["max"] for c in mine) / 1000
            label = f"{model} (max {peak:.1f} µs)" + (f", {overflow} overflow" if overflow else "")
            ax.step(edges, y, where="post", color=colors[i % len(colors)], label=label,
                    linewidth=1)
        ax.set_yscale("log")
        ax.set_ylim(bottom=0.8)
        ax.set_ylabel("samples")
        ax.set_title(f"load {load_text(load)}", fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    axes[-1, 0].set_xlabel(f"latency (µs, {width:g} µs bins)")
    fig.suptitle(f"{workload}: latency histogram per model ({doc.get('label', '')})")
    fig.tight_layout()
    save(fig, out_dir, f"histogram-{safe(workload)}", written)
    plt.close(fig)


def main(argv):
    if len(argv) != 3:
        fail("usage: plot_run.py RUN_JSON OUT_DIR")
    try:
        import matplotlib

        matplotlib.use("Agg")
        matplotlib.rcParams["svg.hashsalt"] = "preemptbench"
        import matplotlib.pyplot as plt
    except ImportError:
        fail("matplotlib is not installed (Debian: apt install python3-matplotlib)",
             EXIT_NO_MATPLOTLIB)
    try:
        with open(argv[1], encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"{argv[1]}: {e}")
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        fail(f"{argv[1]}: not a {SCHEMA} document")
    out_dir = argv[2]
    os.makedirs(out_dir, exist_ok=True)

    cells = measured(doc.get("cells", []))
    workloads = []
    for c in cells:
        if c["workload"] not in workloads:
            workloads.append(c["workload"])
    written = []
    for w in workloads:
        mine = [c for c in cells if c["workload"] == w]
        plot_latency_vs_throughput(plt, doc, w, mine, out_dir, written)
        plot_histograms(plt, doc, w, mine, out_dir, written)
    print(f"plots: {len(written)} files in {out_dir}"
          + ("" if cells else " (no cell measured anything)"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
