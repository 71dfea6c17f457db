"""The executor section's errors, without a cluster: bad settings name the field, a missing engine says how to get
one, and nothing is published."""

import gc
import os
import sys
import time
from pathlib import Path

import pytest

from redraft.cli import main
from redraft.errors import UsageError
from redraft.recipes.executors import connect_ray
from redraft.recipes.schema import ExecutorConfig


@pytest.fixture
def pairs(tmp_path) -> Path:
    path = tmp_path / "pairs.tsv"
    path.write_text("Das Haus ist alt.\tThe house is old.\nDas Haus ist alt.\tThe house is old.\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("setting, field", [("executor.kind=spark", "executor.kind"),
                                            ("executor.tasks=0", "executor.tasks"),
                                            ("executor.slurm.cpus_per_task=-1", "executor.slurm.cpus_per_task"),
                                            ("executor.ray.nodes=3", "executor.ray.nodes"),
                                            # what would reach the sbatch script's shell or end its #SBATCH line
                                            ("executor.slurm.job_name=x$(id)", "executor.slurm.job_name"),
                                            ("executor.slurm.partition=debug;id", "executor.slurm.partition"),
                                            ("executor.slurm.qos=normal`id`", "executor.slurm.qos"),
                                            ("executor.slurm.time=04:00:00 $(id)", "executor.slurm.time"),
                                            ('executor.slurm.sbatch_args={account: "a\\nid"}',
                                             "executor.slurm.sbatch_args"),
                                            ('executor.slurm.venv_path="/venv/bin/activate\\nid"',
                                             "executor.slurm.venv_path")])
def test_bad_executor_settings_exit_2_naming_the_field(tmp_path, pairs, capsys, setting, field):
    assert main(["dedupe", str(pairs), "--langs", "de-en", "-o", str(tmp_path / "out"), "--set", setting]) == 2
    err = capsys.readouterr().err
    assert field in err and "--set" in err, err
    assert not (tmp_path / "out").exists()
    assert main(["validate", "demo", "--set", setting]) == 2
    assert field in capsys.readouterr().err


def test_without_a_recipe_only_executor_settings_are_accepted(tmp_path, pairs, capsys):
    assert main(["filter", str(pairs), "--langs", "de-en", "-o", str(tmp_path / "out"),
                 "--set", "teacher.model=x"]) == 2
    assert "only executor.* can be set" in capsys.readouterr().err


def test_executor_settings_from_set_alone_are_used(tmp_path, pairs, capsys):
    out = tmp_path / "out"
    assert main(["dedupe", str(pairs), "--langs", "de-en", "-o", str(out), "--set", "executor.tasks=3",
                 "--set", "executor.workers=1"]) == 0
    assert sorted(p.name for p in out.glob(".redraft/work-*/logs-dedupe-filter/completions/*")) == [
        "00000", "00001", "00002"]


def test_slurm_without_sbatch_exits_2_with_the_fix(tmp_path, pairs, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))  # python, but no Slurm commands
    assert main(["dedupe", str(pairs), "--langs", "de-en", "-o", str(tmp_path / "out"),
                 "--set", "executor.kind=slurm"]) == 2
    assert "sbatch" in capsys.readouterr().err
    assert not (tmp_path / "out" / "data").exists()


def test_ray_with_no_cluster_at_the_address_exits_2_at_once(tmp_path, pairs, capsys):
    started = time.monotonic()
    assert main(["dedupe", str(pairs), "--langs", "de-en", "-o", str(tmp_path / "out"), "--set", "executor.kind=ray",
                 "--set", "executor.ray.address=127.0.0.1:9"]) == 2
    assert time.monotonic() - started < 30  # ray.init alone would retry for minutes
    err = capsys.readouterr().err
    assert "no Ray cluster at '127.0.0.1:9'" in err and "ray start --head" in err
    assert not (tmp_path / "out" / "data").exists()


def test_ray_not_installed_says_which_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(UsageError, match=r"redraft\[ray\]"):
        connect_ray(ExecutorConfig(kind="ray", ray={"address": "local"}))


def test_ray_auto_without_a_head_says_how_to_start_one(monkeypatch, tmp_path):
    pytest.importorskip("ray")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setattr("tempfile.gettempdir", lambda: str(tmp_path))  # no ray_current_cluster file there
    if os.environ.get("RAY_ADDRESS"):
        pytest.skip("RAY_ADDRESS set")
    with pytest.raises(UsageError, match="ray start --head"):
        connect_ray(ExecutorConfig(kind="ray"))


@pytest.mark.parametrize("workers", [1, 2])
def test_local_tasks_start_with_the_loaded_objects_frozen_and_one_pool_serves_every_stage(tmp_path, workers):
    from probe_step import Probe

    from redraft.recipes.executors import Stage, run_stages

    record = tmp_path / "probe.txt"
    frozen_before = gc.get_freeze_count()
    run_stages([Stage(f"s{i}", [Probe(str(record), f"s{i}")], 2) for i in range(3)],
               ExecutorConfig(tasks=2, workers=workers), tmp_path / "work")
    runs = [line.split() for line in record.read_text().splitlines()]
    assert sorted((stage, int(rank)) for stage, rank, _, _ in runs) == [(f"s{i}", r) for i in range(3) for r in (0, 1)]
    assert all(int(frozen) > 0 for *_, frozen in runs)  # FreezeLoaded ran first in every task
    pids = {pid for _, _, pid, _ in runs}
    assert gc.get_freeze_count() == frozen_before  # nothing of the caller's stays frozen (a notebook's objects)
    if workers == 1:
        assert pids == {str(os.getpid())}  # in this process
    else:  # the same spawned workers for the three stages (a pool per stage: at least 3 processes)
        assert len(pids) <= 2 and str(os.getpid()) not in pids
