"""Reports for `redraft stats` and the dataset card: the funnel (stats.json), length, language and revision-kind
summaries of the kept rows, and PNG plots of them.

stats.json (SPEC): {"input": N, "kept": K, "dropped": {reason: n}, "failed": {reason: n}} with
input == kept + sum(dropped) + sum(failed). Rows are read lazily with polars, one column set at a time.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from redraft.output import check_not_publishing
from redraft.storage import check_reachable, location

ROW_SUFFIXES = (".parquet", ".jsonl", ".json")


def row_files(path: Path) -> list[Path]:
    path = location(path)
    if path.is_file():
        return [path]
    root = path
    if (path / "data").is_dir():
        check_not_publishing(path)
        root = path / "data"
    return sorted(f for f in root.rglob("*") if f.suffix in ROW_SUFFIXES and f.is_file())


def scan(files: list[Path]) -> pl.LazyFrame:
    if any(not isinstance(f, Path) for f in files):  # on an object store: read through fsspec
        frames = [(pl.read_parquet if f.suffix == ".parquet" else pl.read_ndjson)(f.read_bytes()).lazy()
                  for f in files]
        return pl.concat(frames, how="diagonal_relaxed") if frames else scan([])
    parquet = [str(f) for f in files if f.suffix == ".parquet"]
    frames = [pl.scan_parquet(parquet)] if parquet else []
    frames += [pl.scan_ndjson(str(f)) for f in files if f.suffix in (".jsonl", ".json")]
    if not frames:
        return pl.LazyFrame({"source_text": []}, schema={"source_text": pl.String})
    return pl.concat(frames, how="diagonal_relaxed")


def read_funnel(path: Path, kept: int) -> dict:
    """stats.json when the folder has one; else input = kept + rejected rows, reasons from rejected/."""
    path = location(path)
    if path.is_dir() and (path / "stats.json").is_file():
        return json.loads((path / "stats.json").read_text())
    stats = {"input": kept, "kept": kept, "dropped": {}, "failed": {}}
    rejected = row_files(path / "rejected") if path.is_dir() and (path / "rejected").is_dir() else []
    if rejected:
        counts = scan(rejected).group_by("status", "reason").len().collect()
        for status, reason, n in counts.iter_rows():
            stats.setdefault(status or "dropped", {})[reason or "unknown"] = n
            stats["input"] += n
    return stats


def summarize(rows_dir_or_files) -> dict:
    """The funnel plus summaries of the kept rows: counts by language pair, revision kind and number of turns,
    and source/reference length quantiles (characters)."""
    files = row_files(rows_dir_or_files) if not isinstance(rows_dir_or_files, list) else list(map(location, rows_dir_or_files))
    rows = scan(files)
    kept = rows.select(pl.len()).collect().item()
    stats = read_funnel(rows_dir_or_files, kept) if not isinstance(rows_dir_or_files, list) else \
        {"input": kept, "kept": kept, "dropped": {}, "failed": {}}
    return {**stats, "summary": summary_of(rows)}


def summary_of(rows: pl.LazyFrame) -> dict:
    """Counts by language pair, revision kind and number of turns (most frequent first), and length quantiles."""
    cols = rows.collect_schema().names()
    summary: dict = {}
    if {"src_lang", "tgt_lang"} <= set(cols):
        langs = rows.group_by("src_lang", "tgt_lang").len().sort("len", descending=True).collect()
        summary["languages"] = {f"{a}-{b}": n for a, b, n in langs.iter_rows()}
    if "revisions" in cols:
        kinds = rows.select(pl.col("revisions").explode().drop_nulls()).group_by("revisions").len() \
            .sort("len", descending=True).collect()
        summary["revision_kinds"] = dict(kinds.iter_rows())
    if "messages" in cols:
        turns = rows.select(pl.col("messages").list.len().alias("turns")).group_by("turns").len().sort("turns").collect()
        summary["turns"] = {str(t): n for t, n in turns.iter_rows()}
    lengths = {}
    for col in ("source_text", "reference_text"):
        if col in cols:
            q = rows.select([pl.col(col).str.len_chars().quantile(p).alias(str(p)) for p in (0.05, 0.5, 0.95)]
                            + [pl.col(col).str.len_chars().mean().alias("mean")]).collect()
            lengths[col] = {k: (None if v is None else round(float(v), 1)) for k, v in q.row(0, named=True).items()}
    summary["lengths"] = lengths
    return summary


def write_plots(out_dir: Path, stats: dict, rows) -> list[Path]:
    """PNG plots into out_dir: funnel, lengths, languages and (dialogues) revision kinds. `rows`: a folder, files,
    or a polars (lazy) frame of kept rows. Returns the written paths."""
    import numpy as np
    from matplotlib.figure import Figure  # not pyplot: no global figure state, no backend switched for the caller

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if isinstance(rows, (str, Path, list)):
        rows = scan(row_files(rows) if not isinstance(rows, list) else list(map(Path, rows)))
    rows = rows.lazy()
    cols = rows.collect_schema().names()
    summary = stats.get("summary") or summary_of(rows)
    written = []

    def axes(height: float):
        return Figure(figsize=(7, height)).subplots()

    def save(ax, name):
        path = out_dir / f"{name}.png"
        ax.figure.tight_layout()
        ax.figure.savefig(path, dpi=100)
        written.append(path)

    stages = [("input", stats["input"])] + [(f"{s}: {r}", n) for s in ("dropped", "failed")
                                             for r, n in sorted(stats.get(s, {}).items(), key=lambda x: -x[1])]
    stages.append(("kept", stats["kept"]))
    ax = axes(0.35 * len(stages) + 1.2)
    ax.barh([s for s, _ in stages][::-1], [n for _, n in stages][::-1], color="tab:blue")
    ax.set_xlabel("items")
    ax.set_title("funnel")
    save(ax, "funnel")

    ax = axes(3.5)
    for col in ("source_text", "reference_text"):
        if col in cols:
            lens = rows.select(pl.col(col).str.len_chars()).collect().to_series().to_numpy()
            if len(lens):
                counts, edges = np.histogram(lens, bins=50)
                ax.stairs(counts, edges, fill=True, alpha=0.6, label=col)  # one artist, not 50 bars
    ax.set_xlabel("characters")
    if ax.get_legend_handles_labels()[0]:  # no rows, no histogram: matplotlib warns about an empty legend
        ax.legend()
    ax.set_title("lengths")
    save(ax, "lengths")

    for key, title in (("languages", "languages"), ("revision_kinds", "revision kinds")):
        counts = summary.get(key) or {}
        if counts:
            ax = axes(0.3 * len(counts) + 1.2)
            ax.barh(list(counts)[::-1], list(counts.values())[::-1], color="tab:green")
            ax.set_title(title)
            save(ax, key)
    return written


def print_report(input_path: str, plots: str | None = None) -> int:
    """`redraft stats INPUT [--plots DIR]`: print the funnel and summaries; with DIR, write the PNG plots there
    (never into INPUT unless asked: stats only reads)."""
    from redraft.errors import UsageError

    check_reachable(str(input_path))
    path = location(input_path)
    if not path.exists():
        raise UsageError(f"{input_path}: no such file or folder")
    if not row_files(path) and not (path / "stats.json").is_file():
        raise UsageError(f"{input_path}: no dataset here (an output folder, or .parquet/.jsonl/.json row files)")
    stats = summarize(path)
    print(f"input {stats['input']}")
    for status in ("dropped", "failed"):
        for reason, n in sorted(stats.get(status, {}).items(), key=lambda x: -x[1]):
            print(f"  {status} {reason}: {n}")
    print(f"kept {stats['kept']}")
    for key, values in stats["summary"].items():
        print(f"{key}: {json.dumps(values, ensure_ascii=False)}")
    for p in write_plots(Path(plots), stats, path) if plots else []:
        print(f"plot {p}")
    return 0
