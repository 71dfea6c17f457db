"""Synthesis tasks over contiguous shares of a pairs file, as issue L's readers cut them: each pair's position is the
byte offset of its line, and task `rank` of `tasks` gets the `rank`-th run of consecutive lines. Each task runs
`SynthesizeDialogues` against a loopback teacher and reports what its response cache read, as one JSON line.

In-process: `run_task(...)`; as a process of its own (tasks run in parallel, like on a cluster):
python tests/cache_shares.py --port P --pairs FILE --state DIR --tasks T --rank R --segment N --report FILE
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from redraft.recipes.schema import Recipe
from redraft.synth import cache as cache_module
from redraft.synth import teacher_step
from redraft.synth.dialogue import SynthesizeDialogues
from redraft.types import POSITION, ParallelPair, pair_to_document

KEY_VAR = "REDRAFT_TEST_SYNTH_KEY"
CONCURRENCY = 4
TURNS = 3


def positioned_pairs(pairs_file: Path) -> list[tuple[int, ParallelPair]]:
    """(byte offset of the line, pair) for every line of a TSV file."""
    out, offset = [], 0
    with open(pairs_file, "rb") as f:
        for raw in f:
            src, tgt = raw.decode("utf-8").rstrip("\n").split("\t")
            out.append((offset, ParallelPair.make("zh", "en", src, tgt)))
            offset += len(raw)
    return out


def share(items: list, rank: int, tasks: int) -> list:
    return items[rank * len(items) // tasks:(rank + 1) * len(items) // tasks]


def recipe(port: int, tasks: int) -> Recipe:
    return Recipe.model_validate({
        "name": "shares", "source": {"path": "x", "src_lang": "zh", "tgt_lang": "en"}, "output": {"path": "x"},
        "teacher": {"base_url": f"http://127.0.0.1:{port}/v1", "model": "fault-model", "api_key_env": KEY_VAR,
                    "max_concurrency": CONCURRENCY, "timeout": 5, "max_retries": 3},
        "synth": {"turns": TURNS}, "filters": [], "dedupe": False,
        "executor": {"tasks": tasks, "workers": tasks}})  # all running at once: they split the teacher's limits


class RecordedCache(cache_module.ResponseCache):
    """The response cache, noting what it read when it closes."""

    closed: list[dict] = []

    def close(self) -> None:
        RecordedCache.closed.append({"writer": self.writer_name, "bytes_read": self.bytes_read,
                                     "answers_read": self.answers_read})
        super().close()


def run_task(port: int, pairs_file: Path, state: Path, tasks: int, rank: int) -> dict:
    """Runs task `rank` of `tasks` and returns {rank, first, last (its positions), items, bytes_read, answers_read}."""
    mine = share(positioned_pairs(pairs_file), rank, tasks)
    docs = []
    for position, pair in mine:
        doc = pair_to_document(pair)
        doc.metadata[POSITION] = position
        docs.append(doc)
    step = SynthesizeDialogues(recipe(port, tasks), str(state))
    saved, teacher_step.ResponseCache = teacher_step.ResponseCache, RecordedCache
    try:
        out = list(step.run(iter(docs), rank=rank, world_size=tasks))
    finally:
        teacher_step.ResponseCache = saved
    read = RecordedCache.closed.pop()
    return {"rank": rank, "first": mine[0][0], "last": mine[-1][0], "items": len(out), **read}


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pairs", type=Path, required=True)
    p.add_argument("--state", type=Path, required=True)
    p.add_argument("--tasks", type=int, required=True)
    p.add_argument("--rank", type=int, required=True)
    p.add_argument("--segment", type=int, default=cache_module.SEGMENT_ANSWERS)
    p.add_argument("--report", type=Path, required=True)
    a = p.parse_args()
    cache_module.SEGMENT_ANSWERS = a.segment
    os.environ.setdefault("REDRAFT_PROGRESS", "0")
    result = run_task(a.port, a.pairs, a.state, a.tasks, a.rank)
    with open(a.report, "a") as f:
        f.write(json.dumps(result) + "\n")
