"""examples/train.sbatch on the test Slurm cluster: two torchrun agents (srun tasks) meet at the rendezvous and train
exactly like `redraft train --nproc 2` on one machine."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from test_trainer_distributed import make_config, metrics

from redraft.trainer import train

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "train.sbatch"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_sbatch_example_trains_like_a_local_run(tmp_path, slurm_cluster, tiny_llama_dir, dialogue_dirs):
    local = make_config(tmp_path, tiny_llama_dir, dialogue_dirs, "local")
    assert train(str(local), [], 2) == 0

    config = make_config(tmp_path, tiny_llama_dir, dialogue_dirs, "slurm")
    (tmp_path / ".venv").symlink_to(sys.prefix)  # the script sources .venv/bin/activate from where it is submitted
    # One node here, so two tasks on it stand for two nodes: --nnodes 2, one process each, world size 2 as above.
    job = subprocess.run(
        ["sbatch", "--wait", "--parsable", "--nodes=1", "--ntasks-per-node=2", "--cpus-per-task=1", "--mem-per-cpu=2G",
         "--time=00:10:00", f"--partition={slurm_cluster.partition}", f"--output={tmp_path}/slurm-%j.out",
         str(EXAMPLE), str(config)],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env={**os.environ, "MASTER_PORT": str(free_port()), "OMP_NUM_THREADS": "1"})
    job_id = job.stdout.strip().split(";")[0]
    log = tmp_path / f"slurm-{job_id}.out"
    assert job.returncode == 0, f"{job.stderr}\n{log.read_text() if log.exists() else '(no slurm log)'}"

    run = tmp_path / "slurm"
    assert (run / "final" / "model.safetensors").is_file()
    m_local, m_slurm = metrics(tmp_path / "local"), metrics(run)
    assert [m["step"] for m in m_slurm] == [1, 2, 3]
    assert json.loads((run / "final" / "training_manifest.json").read_text())["world_size"] == 2
    for a, b in zip(m_local, m_slurm, strict=True):
        assert b["trained_tokens"] == a["trained_tokens"]
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-6)
    w_local = load_file(tmp_path / "local" / "final" / "model.safetensors")
    w_slurm = load_file(run / "final" / "model.safetensors")
    assert w_local.keys() == w_slurm.keys()
    for k in w_local:
        torch.testing.assert_close(w_slurm[k], w_local[k], rtol=1e-6, atol=1e-7)
