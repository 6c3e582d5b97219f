#!/usr/bin/env python3
"""Plots of a `preemptbench report` (its report.json, "preemptbench.report/1").

    plot_report.py REPORT_JSON OUT_DIR

Writes PNGs into OUT_DIR, one set per workload, and lists them (file, title)
in OUT_DIR/plots.json for the HTML and Markdown reports:
  latency-vs-throughput-W  p99 wakeup latency against background throughput,
                           one line per machine and model across load levels
                           (rows that report a throughput: `preemptbench run`)
  histogram-W              the rows' latency histograms overlaid, OSADL style:
                           linear latency bins, log count axis
  cdf-W                    the tail of each row's latency distribution
                           (1 - CDF, log-log), p99.9 and p99.99 marked

`preemptbench report` calls it after writing report.json. Exit codes: 0 done,
2 bad arguments or not a report, 3 matplotlib is not installed.
"""

import json
import math
import os
import re
import sys

SCHEMA = "preemptbench.report/1"
EXIT_USAGE = 2
EXIT_NO_MATPLOTLIB = 3
MAX_SERIES = 10


# As kStolenMarkPct in report/include/pb/report/table.h.
STOLEN_MARK_PCT = 1.0


def fail(message, code=EXIT_USAGE):
    print(f"plot_report.py: {message}", file=sys.stderr)
    sys.exit(code)


def safe(name):
    return re.sub(r"[^A-Za-z0-9._-]", "-", name) or "unnamed"


def nice_width(raw):
    """The smallest 1, 2 or 5 x 10^k at least `raw` (µs)."""
    raw = max(raw, 0.001)
    exp = math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        w = m * 10**exp
        if w >= raw - 1e-12:
            return w
    return 10 ** (exp + 1)


def series_name(row, vary):
    parts = [row[k] for k in ("label", "kernel", "host_model", "model") if k in vary]
    if row.get("load") is not None and "load" in vary:
        parts.append(f"load {row['load']:g}")
    return " · ".join(str(p) for p in parts) or row["label"]


def varying(rows, keys):
    """The key fields whose value differs between rows (so legends stay short)."""
    out = {k for k in keys if len({str(r.get(k)) for r in rows}) > 1}
    return out or {"label"}


def by_workload(rows):
    groups = {}
    for r in rows:
        groups.setdefault(r["workload"], []).append(r)
    return groups


def buckets(row):
    h = row.get("histogram")
    return h["buckets"] if h else []


def save(fig, out_dir, stem, title, written):
    name = f"{stem}.png"
    fig.savefig(os.path.join(out_dir, name), dpi=110)
    written.append({"file": name, "title": title})


def plot_latency_vs_throughput(plt, workload, rows, out_dir, written):
    rows = [r for r in rows if r.get("ops_per_s") is not None and r.get("p99_ns") is not None]
    if not rows:
        return
    lines = {}
    for r in rows:
        lines.setdefault((r["label"], r["kernel"], r["host_model"], r["model"]), []).append(r)
    vary = varying(rows, ("label", "kernel", "host_model", "model"))
    marked = False
    fig, ax = plt.subplots(figsize=(8, 5.5))
    for i, (_, pts) in enumerate(sorted(lines.items())[:MAX_SERIES]):
        pts.sort(key=lambda r: (r["load"] is None, r["load"] or 0))
        xs = [r["ops_per_s"] for r in pts]
        ys = [r["p99_ns"] / 1000 for r in pts]
        line, = ax.plot(xs, ys, marker="o", label=series_name(pts[0], vary))
        # The rounds' own p99 as a bar from the smallest to the largest.
        for r, x in zip(pts, xs):
            if r.get("p99_round_min_ns") is not None and r.get("p99_round_max_ns") is not None:
                ax.vlines(x, r["p99_round_min_ns"] / 1000, r["p99_round_max_ns"] / 1000,
                          color=line.get_color(), alpha=0.5, linewidth=2)
        for r, x, y in zip(pts, xs, ys):
            text = f"{r['load']:g}" if r.get("load") is not None else ""
            if (r.get("host_stolen_pct_max") or 0) >= STOLEN_MARK_PCT:
                text += " †"
                marked = True
            if text:
                ax.annotate(text, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_xlabel("background throughput (ops/s)")
    ax.set_ylabel("p99 wakeup latency (µs)")
    title = f"{workload}: latency vs throughput (labels: load; bars: p99 range over rounds)"
    if marked:
        title += f"\n† the host stole ≥{STOLEN_MARK_PCT:g}% of a vCPU's time in a round"
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save(fig, out_dir, f"latency-vs-throughput-{safe(workload)}", f"{workload}: p99 latency vs throughput", written)
    plt.close(fig)


def plot_histograms(plt, workload, rows, out_dir, written):
    rows = [r for r in rows if buckets(r)][:MAX_SERIES]
    if not rows:
        return
    top_us = max(r["max_ns"] for r in rows) / 1000
    tail_us = max((r.get("p9999_ns") or r["max_ns"]) for r in rows) / 1000
    xmax = max(min(top_us, 10 * tail_us), 1)
    width = nice_width(xmax / 200)
    nbins = int(math.ceil(xmax / width)) + 1
    vary = varying(rows, ("label", "kernel", "host_model", "model", "load"))
    fig, ax = plt.subplots(figsize=(9, 5.5))
    for r in rows:
        counts = [0] * (nbins + 1)  # the last bin: everything beyond xmax
        for lower, upper, n in buckets(r):
            # A log-linear bucket goes whole into the bin of its midpoint:
            # counts stay whole wakeups (buckets are < 1 % wide).
            b = int(((lower + upper) / 2000) // width)
            counts[min(b, nbins)] += n
        xs = [b * width for b in range(nbins)]
        label = series_name(r, vary)
        if counts[nbins] > 0:
            label += f" ({counts[nbins]} beyond {nbins * width:g} µs)"
        ax.step(xs, [c if c > 0 else float("nan") for c in counts[:nbins]], where="post", label=label)
    ax.set_yscale("log")
    ax.set_xlabel(f"latency (µs, {width:g} µs bins)")
    ax.set_ylabel("wakeups")
    ax.set_title(f"{workload}: latency histogram")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save(fig, out_dir, f"histogram-{safe(workload)}", f"{workload}: latency histograms (log y)", written)
    plt.close(fig)


def plot_cdf(plt, workload, rows, out_dir, written):
    rows = [r for r in rows if buckets(r)][:MAX_SERIES]
    if not rows:
        return
    vary = varying(rows, ("label", "kernel", "host_model", "model", "load"))
    fig, ax = plt.subplots(figsize=(9, 5.5))
    for r in rows:
        total = sum(n for _, _, n in buckets(r)) + r["histogram"].get("overflow", 0)
        if total <= 0:
            continue
        xs, ys, seen = [], [], 0
        for _, upper, n in buckets(r):
            seen += n
            xs.append(max(upper, 1) / 1000)
            ys.append(max(1 - seen / total, 0))
        # The last point has 1 - CDF = 0: invisible on a log axis; end at 1/total.
        ys = [y if y > 0 else float("nan") for y in ys]
        line, = ax.step(xs, ys, where="post", label=series_name(r, vary))
        for key, marker in (("p999_ns", "o"), ("p9999_ns", "s")):
            if r.get(key) is not None:
                y = 1e-3 if key == "p999_ns" else 1e-4
                ax.plot([r[key] / 1000], [y], marker=marker, color=line.get_color(), markersize=6)
    for y, text in ((1e-3, "p99.9"), (1e-4, "p99.99")):
        ax.axhline(y, color="grey", linestyle="--", linewidth=0.8)
        ax.annotate(text, (0.01, y), xycoords=("axes fraction", "data"), textcoords="offset points",
                    xytext=(0, 3), fontsize=8, color="grey")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("latency (µs)")
    ax.set_ylabel("1 − CDF (fraction of wakeups later than x)")
    ax.set_title(f"{workload}: latency distribution tail (● p99.9, ■ p99.99)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save(fig, out_dir, f"cdf-{safe(workload)}", f"{workload}: latency CDF tail, p99.9 and p99.99 marked", written)
    plt.close(fig)


def main(argv):
    if len(argv) != 3:
        fail("usage: plot_report.py REPORT_JSON OUT_DIR")
    try:
        with open(argv[1], encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"{argv[1]}: {e}")
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        fail(f"{argv[1]}: not a {SCHEMA} document")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        fail("matplotlib is not installed (Debian: apt install python3-matplotlib)", EXIT_NO_MATPLOTLIB)
    out_dir = argv[2]
    written = []
    rows = [r for r in doc["rows"] if r.get("count", 0) > 0]
    for workload, group in sorted(by_workload(rows).items()):
        plot_latency_vs_throughput(plt, workload, group, out_dir, written)
        plot_histograms(plt, workload, group, out_dir, written)
        plot_cdf(plt, workload, group, out_dir, written)
    with open(os.path.join(out_dir, "plots.json"), "w", encoding="utf-8") as f:
        json.dump(written, f, indent=1)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
