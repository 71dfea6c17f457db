"""`redraft eval`: run an eval config's suites against its model and publish DIR/results.json,
DIR/generations.parquet and DIR/README.md (with plots/).

A finished suite is kept in DIR/.redraft/suites/ under a fingerprint of its config, the model and the sha256 of its
data files; a re-run reuses every suite whose fingerprint is unchanged and runs the others, whose answers already
given come from the response cache in DIR/.redraft/cache/. Everything published is written to a staging folder
first and published into DIR only once the whole run succeeded (redraft/output.py), so a failed or killed run leaves
an earlier result as it was.

DIR may be a URL (`s3://...`): its `.redraft/` state (finished suites, response cache) is then a local folder named
after the URL (`state_dir`), and the published files are uploaded, then published there as into a local folder (redraft/output.py: `publish`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from redraft.output import check_output_dir, check_owned, claim_output_dir, clear_state, publish
from redraft.storage import check_reachable, is_url, location
from redraft.synth.teacher_step import LoopThread

from .config import EvalConfig
from .models import make_model
from .segments import file_digest
from .suites import Env, SuiteResult, suite_modules

# in the order they are published: results.json, which `redraft eval compare` reads, last
EVAL_PARTS = ("plots", "generations.parquet", "README.md", "results.json")
_TURN = pa.struct([("role", pa.string()), ("content", pa.string())])
GENERATION_SCHEMA = pa.schema([
    ("suite", pa.string()), ("row", pa.int64()), ("id", pa.string()), ("turn", pa.int64()), ("kind", pa.string()),
    ("messages", pa.list_(_TURN)), ("answer", pa.string()), ("reference", pa.string()), ("error", pa.string()),
    ("bleu", pa.float64()), ("chrf", pa.float64()), ("complied", pa.bool_()), ("language_ok", pa.bool_()),
    ("details", pa.string())])


def versions() -> dict:
    out = {}
    for package in ("redraft", "sacrebleu", "transformers", "torch"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = None
    return out


def fingerprint(suite: dict, model: dict, data: dict) -> str:
    blob = json.dumps({"suite": suite, "model": model, "data": data}, sort_keys=True, ensure_ascii=False)
    return hashlib.blake2b(blob.encode(), digest_size=12).hexdigest()


def _write_atomic(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)


def load_done(folder: Path, name: str, fp: str) -> tuple[dict, pa.Table] | None:
    meta, rows = folder / f"{name}.json", folder / f"{name}.parquet"
    if not (meta.is_file() and rows.is_file()):
        return None
    record = json.loads(meta.read_text())
    return (record, pq.read_table(rows)) if record.get("fingerprint") == fp else None


def save_done(folder: Path, name: str, record: dict, result: SuiteResult) -> pa.Table:
    table = pa.Table.from_pylist(result.rows, schema=GENERATION_SCHEMA)
    _write_atomic(folder / f"{name}.parquet", lambda p: pq.write_table(table, p))
    _write_atomic(folder / f"{name}.json", lambda p: p.write_text(json.dumps(record, ensure_ascii=False, indent=1)))
    return table


def state_dir(out: str) -> Path:
    """Where the state of an eval output at a URL lives: a local folder named after the URL (object stores cannot
    append to the response cache), under $XDG_CACHE_HOME/redraft (~/.cache/redraft)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "redraft" / "eval-state"
    return cache / hashlib.blake2b(out.rstrip("/").encode(), digest_size=8).hexdigest()


def run_eval(config: EvalConfig, out: str | Path, fresh: bool = False) -> Path:
    from .report import write_report

    for s in config.suites:  # a URL among the data: its bucket answers, before any work
        for p in suite_modules()[s.suite].data_files(s):
            check_reachable(p)
    remote = is_url(out)
    if remote:
        check_reachable(out)
        out = location(out)
        if out.is_dir():
            check_owned(out)
        work = state_dir(str(out))  # a local stand-in for the output folder: its .redraft/ is the state
    else:
        out = work = Path(out)
        check_output_dir(out)
    state = claim_output_dir(work)
    if fresh:
        clear_state(work)
    (state / "suites").mkdir(parents=True, exist_ok=True)
    model = make_model(config.model, state / "cache")
    env = Env(LoopThread("redraft-eval"), state)
    records, tables = {}, []
    try:
        described = model.describe()
        for s in config.suites:
            module = suite_modules()[s.suite]
            data = {str(p): file_digest(p) for p in module.data_files(s) if location(p).is_file()}
            settings = s.model_dump(mode="json")
            fp = fingerprint(settings, described, data)
            done = load_done(state / "suites", s.name, fp)
            if done is None:
                started = time.monotonic()
                result = module.run(s, model, env)
                record = {"fingerprint": fp, "suite": s.suite, "config": settings, "data": data,
                          "metrics": result.metrics, "tables": result.tables,
                          "seconds": round(time.monotonic() - started, 2)}
                done = record, save_done(state / "suites", s.name, record, result)
            records[s.name], _ = done
            tables.append(done[1])
    finally:
        env.loop.close(model.close)
    results = {"model": described, "suites": records, "versions": versions(),
               "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    staging = state / f"staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    (staging / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=1))
    pq.write_table(pa.concat_tables(tables) if tables else GENERATION_SCHEMA.empty_table(),
                   staging / "generations.parquet")
    write_report(staging, results)
    publish(staging, out, EVAL_PARTS)  # at a URL: uploaded, then published by copies under the journal
    return out
