"""A run's Slurm jobs: submitted held, recorded in `WORK/slurm-jobs.json` ({stage: job id}, written atomically), then
released, so that no kill or Ctrl-C makes a re-run submit twice.

A run killed after `sbatch` returned and before the record was written leaves jobs that are held, so none of their
tasks ran; the re-run finds them by their output files, which lie in its work folder (`jobs_of`), cancels them and
submits again. A run killed after recording and before releasing leaves recorded held jobs: the re-run re-attaches to
them and releases them.
"""

from __future__ import annotations

import getpass
import json
import os
import subprocess
from pathlib import Path

JOBS_FILE = "slurm-jobs.json"
HOLD = {"hold": ""}  # the sbatch option (a bare `#SBATCH --hold` line) every stage is submitted with


def recorded_jobs(work: Path) -> dict[str, str]:
    try:
        return json.loads((work / JOBS_FILE).read_text())
    except FileNotFoundError:
        return {}


def record_jobs(work: Path, jobs: dict[str, str]) -> None:
    tmp = work / f".{JOBS_FILE}.tmp"
    with open(tmp, "w") as f:
        json.dump(jobs, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, work / JOBS_FILE)


def jobs_of(work: Path) -> list[str]:
    """The job ids Slurm lists for this work folder: this user's jobs whose output file lies in it (the stages'
    `logs-*/slurm/` folders)."""
    out = subprocess.run(["squeue", "-h", "-u", getpass.getuser(), "-O", "ArrayJobID:|,StdOut:"],
                         capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"squeue failed: {out.stderr.strip()}")
    inside = tuple(f"{w}/" for w in {str(work.absolute()), str(work.resolve())})
    jobs = []
    for line in out.stdout.splitlines():
        job, _, stdout = line.partition("|")
        if stdout.strip().startswith(inside) and job.strip() not in jobs:
            jobs.append(job.strip())
    return jobs


def release(work: Path) -> None:
    """Let this work folder's held jobs start (a job not held any more is left as it is)."""
    jobs = jobs_of(work)
    if jobs:
        subprocess.run(["scontrol", "release", ",".join(jobs)], capture_output=True)


def cancel(jobs: list[str]) -> None:
    if jobs:
        subprocess.run(["scancel", *jobs], capture_output=True)
