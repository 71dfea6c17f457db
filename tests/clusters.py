"""Fixtures for tests against live clusters: a local Ray head and a single-node Slurm cluster.

`.ci/clusters.sh start` starts both on loopback and `.ci/run` sets REDRAFT_CLUSTERS=1, so a cluster missing in CI fails
the tests that need it; elsewhere they skip. Import what a test module needs: `from clusters import ray_address, srun`.
"""
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

RAY_ADDRESS = os.environ.get("REDRAFT_RAY_ADDRESS", "127.0.0.1:6379")
# Ray rewrites a loopback address to the machine's IP (where a loopback head does not listen) unless this is 0; it is
# read when ray is imported, so set it before any test imports ray.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")


def cluster_missing(what: str):
    """Fail under CI (REDRAFT_CLUSTERS=1), skip elsewhere."""
    if os.environ.get("REDRAFT_CLUSTERS") == "1":
        pytest.fail(f"{what}; CI starts the clusters with .ci/clusters.sh start", pytrace=False)
    pytest.skip(f"{what} (start one with .ci/clusters.sh start)")


@pytest.fixture(scope="session")
def ray_address() -> str:
    """host:port of a running Ray head. Its workers need redraft importable: installed, or PYTHONPATH in runtime_env."""
    try:
        import ray  # noqa: F401
    except ImportError:
        cluster_missing('ray is not installed (pip install -e ".[ray]")')
    host, port = RAY_ADDRESS.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError:
        cluster_missing(f"no Ray head at {RAY_ADDRESS}")
    return RAY_ADDRESS


@dataclass(frozen=True)
class SlurmCluster:
    partition: str  # the default partition
    venv_path: str  # this interpreter's venv `activate` script, what SlurmPipelineExecutor's venv_path wants
    cpus: int  # CPUs of the node(s) in that partition


@pytest.fixture(scope="session")
def slurm_cluster() -> SlurmCluster:
    """A Slurm cluster whose default partition has a node ready to run jobs."""
    if not shutil.which("sinfo") or not shutil.which("sbatch"):
        cluster_missing("no sinfo/sbatch on PATH")
    out = subprocess.run(["sinfo", "-h", "-o", "%P %T %c"], capture_output=True, text=True, timeout=30)
    rows = [line.split() for line in out.stdout.splitlines()]
    ready = [(p.rstrip("*"), int(c)) for p, state, c in rows
             if p.endswith("*") and state.rstrip("*~#") in ("idle", "mixed", "allocated")]
    if out.returncode or not ready:
        cluster_missing(f"no Slurm node ready in the default partition (sinfo: {out.stdout or out.stderr!r})")
    return SlurmCluster(partition=ready[0][0], venv_path=str(Path(sys.prefix) / "bin" / "activate"), cpus=ready[0][1])


def srun(cmd: list[str], *, ntasks: int = 1, cpus_per_task: int = 1, env: dict | None = None, timeout: float = 300,
         cwd: str | Path | None = None, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Run cmd as a Slurm job step (srun blocks until it ends) with this process's environment plus env."""
    args = ["srun", f"--ntasks={ntasks}", f"--cpus-per-task={cpus_per_task}", "--mem-per-cpu=1G",
            "--time=00:10:00", "--export=ALL", *extra, *cmd]
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def slurm_jobs():
    """A function listing this user's job ids that Slurm still lists (pending, running, completing)."""
    import getpass

    def jobs() -> list[str]:
        out = subprocess.run(["squeue", "-h", "-u", getpass.getuser(), "-o", "%F"], capture_output=True, text=True)
        return sorted(set(out.stdout.split()))
    return jobs
