"""A run's Slurm jobs: submitted held, recorded in `WORK/slurm-jobs.json` ({stage: job id}, written atomically), then
released, so that no kill or Ctrl-C makes a re-run submit twice.

A run killed after `sbatch` returned and before the record was written leaves jobs that are held, so none of their
tasks ran; the next run that submits finds them by their output files, which lie under the output folder's
`.redraft/` (`abandoned_jobs`), and cancels them. A run killed after recording and before releasing leaves recorded
held jobs: the re-run re-attaches to them and releases them.
"""

from __future__ import annotations

import getpass
import json
import os
import subprocess
from pathlib import Path

JOBS_FILE = "slurm-jobs.json"
HOLD = {"hold": ""}  # the sbatch option (a bare `#SBATCH --hold` line) every stage is submitted with
HELD = "JobHeldUser"  # squeue's reason for a job so held


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


def jobs_of(folder: Path) -> dict[str, str]:
    """Job id -> the reason it waits (`JobHeldUser`: held), of this user's jobs Slurm lists whose output file lies
    in `folder` (a work folder's stages write theirs in `logs-*/slurm/`)."""
    out = subprocess.run(["squeue", "-h", "-u", getpass.getuser(), "-O", "ArrayJobID:|,Reason:|,StdOut:"],
                         capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"squeue failed: {out.stderr.strip()}")
    inside = tuple(f"{f}/" for f in {str(folder.absolute()), str(folder.resolve())})
    jobs = {}
    for line in out.stdout.splitlines():
        job, reason, stdout = (field.strip() for field in line.split("|", 2))
        if stdout.startswith(inside):
            jobs[job] = reason
    return jobs


def abandoned_jobs(state: Path) -> list[str]:
    """Jobs submitted held into any work folder under `state` (OUT/.redraft/) by a run killed before it released
    them: the run they belong to was abandoned, since the one starting now submits its own."""
    return [job for job, reason in jobs_of(state).items() if reason == HELD]


def release(work: Path) -> None:
    """Let this work folder's held jobs start."""
    held = [job for job, reason in jobs_of(work).items() if reason == HELD]
    if held:
        out = subprocess.run(["scontrol", "release", ",".join(held)], capture_output=True, text=True)
        if out.returncode:
            raise RuntimeError(f"scontrol release {','.join(held)} failed: {(out.stderr or out.stdout).strip()}")


def cancel(jobs: list[str]) -> None:
    if jobs:
        subprocess.run(["scancel", *jobs], capture_output=True)
