"""The sbatch script takes the recipe's paths quoted, against the live Slurm cluster (tests/clusters.py): a virtualenv
and an output folder whose paths hold spaces run. (Names and values with shell syntax exit 2 before any job:
tests/test_executors.py.)"""

import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from clusters import slurm_cluster  # noqa: F401  (a fixture)


@pytest.mark.parametrize("route", ["interpreter", "venv_path"])
def test_a_virtualenv_and_an_output_folder_with_spaces_run_on_slurm(tmp_path, slurm_cluster, route):  # noqa: F811
    """`interpreter`: redraft run from a virtualenv whose path holds a space (the jobs activate the one the command
    runs from); `venv_path`: that virtualenv named in the recipe. The command's environment has no virtualenv on
    PATH, so the jobs find redraft only through the activation line of their script."""
    activate = Path(sys.prefix) / "bin" / "activate"
    if not activate.exists():
        pytest.skip("needs to run from a virtualenv")
    venv = tmp_path / "venv with space"
    venv.symlink_to(sys.prefix)
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("Das Haus ist alt.\tThe house is old.\nDer Hund schläft.\tThe dog sleeps.\n", encoding="utf-8")
    out = tmp_path / "out folder" / "run 1"
    sets = ["executor.kind=slurm", "executor.tasks=2", "executor.workers=2", "executor.slurm.time=00:10:00",
            'executor.slurm.sbatch_args={comment: "spaces & an ampersand"}']  # a value sbatch reads, quoted
    if route == "venv_path":
        sets.append(f"executor.slurm.venv_path={venv / 'bin' / 'activate'}")
    python = venv / "bin" / "python" if route == "interpreter" else Path(sys.executable)
    path = [p for p in os.environ["PATH"].split(os.pathsep) if p and not Path(p).resolve().is_relative_to(
        Path(sys.prefix).resolve())]
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env.update(PATH=os.pathsep.join(path), REDRAFT_PROGRESS="0", REDRAFT_SLURM_POLL="0.5")
    r = subprocess.run([str(python), "-m", "redraft.cli", "filter", str(pairs), "--langs", "de-en", "-o", str(out),
                        *(a for s in sets for a in ("--set", s))], capture_output=True, text=True, env=env,
                       cwd=tmp_path, timeout=300)
    logs = "\n".join(p.read_text(errors="replace")[-2000:] for p in out.glob(".redraft/work-*/logs-*/slurm/*.out"))
    assert r.returncode == 0, r.stderr + logs
    assert "submitted Slurm jobs" in r.stderr
    work = next(out.glob(".redraft/work-*"))  # its executor.pik is code the jobs run: only its owner may write there
    assert work.stat().st_mode & 0o777 == 0o700, oct(work.stat().st_mode)
    assert sorted(pq.read_table(out / "data").column("reference_text").to_pylist()) == [
        "The dog sleeps.", "The house is old."]
