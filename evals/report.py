"""The report of an eval run (DIR/README.md with PNG plots in DIR/plots/) and `redraft eval compare`."""

from __future__ import annotations

import json
import re
from pathlib import Path

from redraft.errors import UsageError
from redraft.storage import check_reachable, is_url, location

# the metrics that headline each suite, and whether they are shares (shown as percentages)
HEADLINE = {
    "translation": [("bleu", False), ("chrf", False)],
    "constrained": [("bleu", False), ("chrf", False), ("constraint_recall", True), ("all_met", True)],
    "interactive": [("compliance", True), ("language_ok", True), ("first_turn_bleu", False),
                    ("first_turn_chrf", False)],
    "bayling80": [("ratio", True), ("win_rate", True), ("not_worse_rate", True), ("ratio_system_first", True),
                  ("ratio_system_second", True)],
}


def headline(record: dict) -> list[tuple[str, float | None, bool]]:
    m = record["metrics"]
    return [(k, m.get(k), share) for k, share in HEADLINE.get(record["suite"], []) if k in m]


def fmt(value, share: bool = False) -> str:
    """A value as a markdown table cell."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{100 * value:.1f}%" if share else f"{value:.2f}"
    return str(value).replace("|", "\\|").replace("\n", "↵")


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name)


def _bars(path: Path, labels: list[str], series: dict[str, list[float | None]], title: str, xlabel: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 0.45 * len(labels) * max(1, len(series)) + 1.2))
    height = 0.8 / max(1, len(series))
    for j, (name, values) in enumerate(series.items()):
        ys = [i + j * height for i in range(len(labels))]
        ax.barh(ys, [v or 0.0 for v in values], height=height, label=name)
        for y, v in zip(ys, values):
            ax.text(v or 0.0, y, f" {v:.1f}" if v is not None else " –", va="center", fontsize=8)
    ax.set_yticks([i + height * (len(series) - 1) / 2 for i in range(len(labels))], labels)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    if len(series) > 1:
        ax.legend(fontsize=8)
    fig.tight_layout()
    with path.open("wb") as f:  # a local path or a URL's (storage.path)
        fig.savefig(f, format="png", dpi=110)
    plt.close(fig)


def _scale(value, share: bool):
    return None if value is None else 100 * value if share else value


def write_report(folder: Path, results: dict) -> None:
    plots = folder / "plots"
    plots.mkdir(exist_ok=True)
    model = results["model"]
    lines = [f"# Evaluation of `{model['name']}`", "",
             f"Model: `{model['name']}` ({model['kind']}); versions: "
             + ", ".join(f"{k} {v}" for k, v in results["versions"].items() if v) + ".", "",
             "| suite | kind | n | failed | scores |", "|---|---|---|---|---|"]
    labels, values = [], []
    for name, record in results["suites"].items():
        m = record["metrics"]
        scores = ", ".join(f"{k} {fmt(v, share)}" for k, v, share in headline(record))
        lines.append(f"| {name} | {record['suite']} | {m.get('n')} | {m.get('failed', 0)} | {scores} |")
        for k, v, share in headline(record):
            labels.append(f"{name}: {k}")
            values.append(_scale(v, share))
    if labels:
        _bars(plots / "scores.png", labels, {model["name"]: values}, "Scores (BLEU, chrF; shares in %)", "score")
        lines += ["", "![scores](plots/scores.png)"]
    for name, record in results["suites"].items():
        lines += ["", f"## {name}", "", f"Suite `{record['suite']}`, computed in {record.get('seconds', 0)} s. Data:"]
        lines += [f"- `{p}` (sha256 {digest[:12]}…)" for p, digest in record["data"].items()]
        lines += ["", "| metric | value |", "|---|---|"]
        for k, v in record["metrics"].items():
            if not isinstance(v, dict):
                share = any(k == h and s for h, s in HEADLINE.get(record["suite"], []))
                lines.append(f"| {k} | {fmt(v, share)} |")
        for title, table in record.get("tables", {}).items():
            if not table:
                continue
            columns = list(next(iter(table.values())))
            lines += ["", f"### {title}", "", "| | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
            for row, cells in table.items():
                lines.append(f"| {row} | " + " | ".join(fmt(cells[c], c in ("complied", "ratio")) for c in columns)
                             + " |")
            key = "complied" if "complied" in columns else "ratio" if "ratio" in columns else None
            if key:
                png = f"{_slug(name)}-{_slug(title)}.png"
                _bars(plots / png, list(table), {model["name"]: [_scale(c[key], True) for c in table.values()]},
                      f"{name}: {title}", f"{key} (%)")
                lines += ["", f"![{title}](plots/{png})"]
    lines += ["", "Every prompt and answer, with its scores: `generations.parquet`. The settings and data hashes "
                  "behind each number: `results.json`.", ""]
    (folder / "README.md").write_text("\n".join(lines), encoding="utf-8")


def load_results(folder: str | Path) -> dict:
    check_reachable(folder)
    path = location(folder) / "results.json"
    if not path.is_file():
        raise UsageError(f"{folder}: no results.json (not a `redraft eval` output folder)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise UsageError(f"{path}:{e.lineno}: not valid JSON: {e.msg}") from None


def compare(folders: list[str], out: str | None = None) -> list[str]:
    """The headline metrics of several runs side by side (one column per run); with `out`, also compare.md and
    compare.png there."""
    runs = [load_results(f) for f in folders]
    names = [r["model"]["name"] for r in runs]
    if len(set(names)) < len(names):
        names = [f"{n} ({Path(f).name})" for n, f in zip(names, folders)]
    keys: dict[tuple[str, str], bool] = {}
    for r in runs:
        for suite, record in r["suites"].items():
            for k, _, share in headline(record):
                keys.setdefault((suite, k), share)
    table = {key: [next((v for k, v, _ in headline(r["suites"][key[0]]) if k == key[1]), None)
                   if key[0] in r["suites"] else None for r in runs] for key in keys}
    lines = ["| suite | metric | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    lines += [f"| {s} | {k} | " + " | ".join(fmt(v, keys[(s, k)]) for v in vals) + " |"
              for (s, k), vals in table.items()]
    if out:
        check_reachable(out)
        o = location(out)
        if not is_url(o):
            o.mkdir(parents=True, exist_ok=True)
        _bars(o / "compare.png", [f"{s}: {k}" for s, k in table],
              {n: [_scale(vals[i], keys[key]) for key, vals in table.items()] for i, n in enumerate(names)},
              "Scores side by side (BLEU, chrF; shares in %)", "score")
        (o / "compare.md").write_text("\n".join(["# Comparison", "", *lines, "", "![compare](compare.png)", ""]),
                                      encoding="utf-8")
    return lines
