"""What a run recorded of the batches it submitted to the Batch API (synth/batch.py) and has not collected: one JSON
file per task step under `STATE/batches/`, read by the runner (`--wait false`, `--fresh`) without the `openai`
client."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from redraft.storage import location

BATCH_FOLDER = "batches"  # in the run's state folder: each task's records of the batches it has not collected


class BatchRecords:
    """The batches one task submitted and has not collected: a JSON file replaced atomically on every change."""

    def __init__(self, path: Path):
        self.path = path
        self.entries: list[dict] = json.loads(path.read_text())["batches"] if path.exists() else []

    def add(self, entry: dict) -> None:
        self.entries.append(entry)
        self.save()

    def remove(self, entry: dict) -> None:
        self.entries = [e for e in self.entries if e is not entry]
        self.save()

    def save(self) -> None:
        if not self.entries:
            self.path.unlink(missing_ok=True)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w") as f:
            json.dump({"batches": self.entries}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)


def recorded_batches(state_dir: str | os.PathLike) -> list[dict]:
    """Every batch a run in this state folder submitted and has not collected."""
    folder = location(state_dir) / BATCH_FOLDER
    return [e for f in sorted(folder.glob("*.json")) for e in json.loads(f.read_text())["batches"]]


def describe(entries: list[dict]) -> str:
    ids = [e["id"] or e["file"] for e in entries]
    return (f"{len(entries)} batch(es) holding {sum(len(e['custom_ids']) for e in entries):,} requests "
            f"({', '.join(ids[:5])}{' ...' if len(ids) > 5 else ''})")


def forget_batches(state_dir: str | os.PathLike) -> None:
    """`--fresh` is about to delete the records: say which batches it forgets."""
    entries = recorded_batches(state_dir)
    if entries:
        ids = [e["id"] or e["file"] for e in entries]
        print(f"--fresh forgets {len(entries)} batch(es) a run here left at the Batch API, which may still run and be "
              f"billed: {', '.join(ids)}. `redraft run RECIPE --cancel-batches` cancels recorded batches (run it "
              "before --fresh); these you can cancel in the provider's dashboard", file=sys.stderr)
