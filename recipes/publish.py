"""The last step of a dataset run: its staging folder turned into the output folder SPEC describes, then published.

The stages leave kept rows in `staging/data/`, rejected ones in `staging/rejected/` and the input counts beside
them; `publish_dataset` copies the staging folder (which stays, so a re-run with nothing left to do can publish
again), names the shards, writes `stats.json`, `recipe.yaml`, the plots, the dataset card and the `output.formats`
exports, and hands the copy to `redraft.output.publish`, which replaces the earlier run's parts in OUT atomically
(the card last: it is what `load_dataset` reads).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from redraft.card import dataset_card
from redraft.export import write_formats
from redraft.output import DATASET_PARTS, publish


def count_rows(folder: Path) -> int:
    return sum(pq.ParquetFile(f).metadata.num_rows for f in sorted(folder.glob("*.parquet")))


def count_funnel(counts_dir: Path, data_dir: Path, rejected_dir: Path) -> dict:
    """stats.json: input, kept, dropped and failed by reason. Raises if the funnel does not add up."""
    n_input = sum(json.loads(f.read_text())["input"] for f in counts_dir.glob("*.json"))
    dropped, failed = Counter(), Counter()
    for f in sorted(rejected_dir.glob("*.parquet")):
        t = pq.read_table(f, columns=["status", "reason"])
        for status, reason in zip(t["status"].to_pylist(), t["reason"].to_pylist()):
            (failed if status == "failed" else dropped)[reason] += 1
    stats = {"input": n_input, "kept": count_rows(data_dir), "dropped": dict(sorted(dropped.items())),
             "failed": dict(sorted(failed.items()))}
    if stats["input"] != stats["kept"] + sum(dropped.values()) + sum(failed.values()):
        raise RuntimeError(f"internal error: the funnel does not add up: {stats}")
    return stats


def ensure_nonempty(data_dir: Path, schema: pa.Schema) -> None:
    """`load_dataset` needs at least one shard, even when every row was dropped."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if not any(data_dir.glob("*.parquet")):
        pq.write_table(schema.empty_table(), data_dir / "00000.parquet")


def _task_order(shard: Path) -> tuple[str, str]:
    """A kept-rows file's place in input order: by task (`RANK.parquet`), then by the writer's file counter when a
    task's rows filled several (`NNN_RANK.parquet`); task t's share precedes task t+1's in the input."""
    counter, _, rank = shard.stem.rpartition("_")
    return rank, counter


def name_shards(data_dir: Path) -> str:
    """Name the shards `train-FINGERPRINT-NNNNN.parquet` in input order and return the glob the dataset card points
    at.

    `datasets` caches a local folder that has `configs` in its card by the card's config alone, not by the files, so a
    re-run with new rows would load the old ones from its cache; a content fingerprint in the pattern prevents that.
    """
    shards = sorted(data_dir.glob("*.parquet"), key=_task_order)
    h = hashlib.blake2b(digest_size=5)
    for f in shards:
        h.update(f.read_bytes())
    fingerprint = h.hexdigest()
    for i, f in enumerate(shards):
        f.rename(data_dir / f"train-{fingerprint}-{i:05d}.parquet")
    return f"data/train-{fingerprint}-*.parquet"


def publish_dataset(staging: Path, out: Path, stats: dict, *, title: str, kind: str, languages: list[str],
                    record: str, license: str = "apache-2.0", formats: list[str] = ()) -> Path:
    """Assemble the output folder from `staging` and publish it into `out`. `record`: recipe.yaml's text (the
    resolved recipe, or what a curation ran); `languages`: the declared ones, to which those in the rows are added."""
    import polars as pl

    from redraft.filters.stats import write_plots

    final = staging.parent / "published"
    if final.exists():
        shutil.rmtree(final)
    shutil.copytree(staging, final)
    data_files = name_shards(final / "data")
    (final / "stats.json").write_text(json.dumps(stats, indent=2) + "\n")
    (final / "recipe.yaml").write_text(record, encoding="utf-8")
    languages = set(languages) | set(pl.scan_parquet(final / "data" / "*.parquet").select(
        pl.concat_list("src_lang", "tgt_lang").explode().unique()).collect().to_series().to_list())
    plots = [p.relative_to(final).as_posix() for p in write_plots(final / "plots", stats, final / "data")]
    (final / "README.md").write_text(dataset_card(title, stats, languages, kind, record, license=license,
                                                  plots=plots, data_files=data_files), encoding="utf-8")
    write_formats(final, formats, title)
    publish(final, out, DATASET_PARTS)
    return out
