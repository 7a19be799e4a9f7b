"""Evaluation reports people can read: Markdown with embedded PNG charts, plus the JSON behind them."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HEADLINE = [
    "recall@1",
    "recall@5",
    "recall@10",
    "mrr@10",
    "ndcg@10",
    "answer_correct",
    "token_f1",
    "citation_precision",
    "citation_recall",
    "quote_verification",
    "abstain_precision",
    "abstain_recall",
    "abstain_f1",
    "passed",
    "baseline_answer_correct",
    "baseline_passed",
]
CHARTED = ["recall@5", "mrr@10", "ndcg@10", "answer_correct", "token_f1", "citation_precision", "abstain_f1"]
RETRIEVAL = ["recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10"]


def report_dir(root: Path, name: str) -> Path:
    """evals/reports/<timestamp>-<name>/ (created)."""
    safe = re.sub(r"[^\w\-]+", "-", name).strip("-") or "eval"
    path = root / f"{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}-{safe}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _plt():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def bar_chart(
    path: Path,
    groups: Sequence[str],
    series: Mapping[str, Sequence[float]],
    title: str,
    ylim: tuple[float, float] | None = (0, 1.05),
) -> Path:
    """Grouped bars: one group per x label, one bar per series."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(groups) * max(1, len(series)) / 2 + 3), 4))
    width = 0.8 / max(1, len(series))
    for i, (label, values) in enumerate(series.items()):
        xs = [g + i * width - 0.4 + width / 2 for g in range(len(groups))]
        bars = ax.bar(xs, values, width, label=label)
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
    ax.set_xticks(range(len(groups)), groups, rotation=20, ha="right")
    if ylim:
        ax.set_ylim(*ylim)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def latency_chart(path: Path, latencies: Mapping[str, Sequence[float]]) -> Path:
    """Distribution of total answer time per mode."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.boxplot(list(latencies.values()), tick_labels=list(latencies.keys()), showfliers=True)
    ax.set_ylabel("ms")
    ax.set_title("Total time per question")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3f}"
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def write_eval_report(run: dict[str, Any], out: Path, flips: list[dict[str, Any]] | None = None) -> dict[str, Path]:
    """Write report.json, report.md and the charts for an EvalRun's dict; returns their paths."""
    modes = list(run["modes"])
    paths = {"json": out / "report.json", "markdown": out / "report.md"}
    paths["json"].write_text(json.dumps({**run, "flips": flips or []}, ensure_ascii=False, indent=1), encoding="utf-8")

    summaries = {m: run["modes"][m]["summary"] for m in modes}
    paths["metrics_chart"] = bar_chart(
        out / "metrics_by_mode.png", CHARTED, {m: [summaries[m][k] for k in CHARTED] for m in modes}, "Metrics by mode"
    )
    types = sorted({t for m in modes for t in run["modes"][m]["by_type"]})
    paths["types_chart"] = bar_chart(
        out / "pass_rate_by_type.png",
        types,
        {m: [run["modes"][m]["by_type"].get(t, {}).get("passed", 0.0) for t in types] for m in modes},
        "Pass rate by question type",
    )
    paths["latency_chart"] = latency_chart(
        out / "latency.png",
        {m: [q["timings_ms"].get("total", 0.0) for q in run["modes"][m]["questions"]] for m in modes},
    )

    md = [f"# Evaluation: {run['name']}", "", f"- file: `{run['file']}`", f"- run: {run['created']}"]
    md += [f"- settings: `{json.dumps(run.get('settings', {}), ensure_ascii=False)}`", ""]
    md += ["## Summary", "", _table(["metric", *modes], [[k, *[summaries[m][k] for m in modes]] for k in HEADLINE])]
    md += ["", "![Metrics by mode](metrics_by_mode.png)", "", "## By question type", ""]
    rows = []
    for t in types:
        for m in modes:
            s = run["modes"][m]["by_type"].get(t)
            if s:
                rows.append([t, m, int(s["questions"]), s["passed"], s["recall@5"] if s["answerable"] else "-"])
    md += [_table(["type", "mode", "questions", "pass rate", "recall@5"], rows)]
    md += ["", "![Pass rate by type](pass_rate_by_type.png)", "", "## Latency (ms)", ""]
    lat = ["retrieve", "answer", "total"]
    md += [
        _table(
            ["mode", *[f"{x} p50" for x in lat], *[f"{x} p95" for x in lat]],
            [[m, *[summaries[m][f"latency_{x}_p{p}"] for p in (50, 95) for x in lat]] for m in modes],
        )
    ]
    md += ["", "![Latency](latency.png)", ""]
    if flips is not None:
        md += ["## Changes since the compared run", ""]
        md += [
            _table(
                ["mode", "id", "change", "question", "reason"],
                [[f["mode"], f["id"], f["change"], f["question"], f["reason"]] for f in flips],
            )
            if flips
            else "No question changed between pass and fail.",
            "",
        ]
    for m in modes:
        md += [f"## Questions ({m})", ""]
        md += [
            _table(
                ["id", "type", "question", "expected", "got", "result"],
                [
                    [
                        q["id"],
                        q["type"],
                        q["question"],
                        q["expected"] or "(not in the reports)",
                        q["got"][:300],
                        "pass" if q["passed"] else f"FAIL: {q['reason']}",
                    ]
                    for q in run["modes"][m]["questions"]
                ],
            ),
            "",
        ]
    paths["markdown"].write_text("\n".join(md), encoding="utf-8")
    return paths


def write_retrieval_report(
    name: str, meta: dict[str, Any], metrics: dict[str, dict[str, float]], out: Path
) -> dict[str, Path]:
    """report.json, report.md and a chart for a BEIR-style retrieval benchmark."""
    modes = list(metrics)
    paths = {"json": out / "report.json", "markdown": out / "report.md"}
    paths["json"].write_text(
        json.dumps({"name": name, **meta, "metrics": metrics}, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    paths["chart"] = bar_chart(
        out / "retrieval_by_mode.png",
        RETRIEVAL,
        {m: [metrics[m][k] for k in RETRIEVAL] for m in modes},
        f"{name}: retrieval by mode",
    )
    md = [f"# Retrieval benchmark: {name}", ""]
    md += [f"- {k}: {v}" for k, v in meta.items()]
    md += [
        "",
        _table(["metric", *modes], [[k, *[metrics[m][k] for m in modes]] for k in RETRIEVAL]),
        "",
        "![Retrieval by mode](retrieval_by_mode.png)",
        "",
    ]
    paths["markdown"].write_text("\n".join(md), encoding="utf-8")
    return paths
