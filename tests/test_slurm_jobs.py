"""A Slurm run killed between `sbatch` and its record of the jobs (`slurm-jobs.json`), or between recording and
releasing them, against the live Slurm cluster (tests/clusters.py): the re-run never has a task run twice, and
finishes the run (recipes/slurm_jobs.py). The kills come from tests/kill_harness."""

import getpass
import os
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

from clusters import slurm_cluster  # noqa: F401  (a fixture)
from test_output_folder import killed_at

PAIRS = "Das Haus ist alt.\tThe house is old.\nDer Hund schläft.\tThe dog sleeps.\n"


def run_filter(tmp_path: Path, out: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    pairs = tmp_path / "pairs.tsv"
    if not pairs.exists():  # written once: the work folder is named by the input's size and time too
        pairs.write_text(PAIRS, encoding="utf-8")
    sets = ["executor.kind=slurm", "executor.tasks=2", "executor.workers=2", "executor.slurm.time=00:10:00"]
    return subprocess.run([sys.executable, "-m", "redraft.cli", "filter", str(pairs), "--langs", "de-en", "-o", str(out),
                           *(a for s in sets for a in ("--set", s))], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "REDRAFT_PROGRESS": "0", "REDRAFT_SLURM_POLL": "0.5", **(env or {})})


def listed(work: Path) -> dict[str, str]:
    """Job id -> reason it waits, of the jobs Slurm lists whose output file lies in `work`."""
    out = subprocess.run(["squeue", "-h", "-u", getpass.getuser(), "-O", "ArrayJobID:|,Reason:|,StdOut:"],
                         capture_output=True, text=True, check=True).stdout
    rows = (line.split("|", 2) for line in out.splitlines())
    return {job.strip(): reason.strip() for job, reason, stdout in rows if stdout.strip().startswith(f"{work}/")}


def started(work: Path) -> set[str]:
    """The jobs whose array tasks started (Slurm creates a task's output file when it starts)."""
    return {f.name.split("_")[0] for f in work.glob("logs-*/slurm/*.out")}


def test_killed_after_sbatch_returned_the_rerun_submits_once(tmp_path, slurm_cluster):  # noqa: F811
    out = tmp_path / "out"
    killed = run_filter(tmp_path, out, killed_at("redraft.recipes.executors:_submit:0"))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    work = next(out.glob(".redraft/work-*"))
    unrecorded = listed(work)
    assert unrecorded and set(unrecorded.values()) == {"JobHeldUser"}, unrecorded  # none of their tasks may start
    assert not (work / "slurm-jobs.json").exists()

    rerun = run_filter(tmp_path, out)
    assert rerun.returncode == 0, rerun.stderr
    assert f"cancelling Slurm jobs {' '.join(unrecorded)}" in rerun.stderr
    assert not started(work) & set(unrecorded) and not listed(work)
    assert sorted(pq.read_table(out / "data").column("reference_text").to_pylist()) == [
        "The dog sleeps.", "The house is old."]


def test_killed_after_recording_the_rerun_reattaches_and_releases(tmp_path, slurm_cluster):  # noqa: F811
    import json

    out = tmp_path / "out"
    killed = run_filter(tmp_path, out, killed_at("redraft.recipes.slurm_jobs:record_jobs:0"))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    work = next(out.glob(".redraft/work-*"))
    recorded = json.loads((work / "slurm-jobs.json").read_text())
    assert set(listed(work).values()) == {"JobHeldUser"}

    rerun = run_filter(tmp_path, out)
    assert rerun.returncode == 0, rerun.stderr
    assert "re-attaching to Slurm jobs" in rerun.stderr and "submitted Slurm jobs" not in rerun.stderr
    assert started(work) == set(recorded.values()) and not listed(work)
    assert len(pq.read_table(out / "data")) == 2
