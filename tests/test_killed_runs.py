"""`kill -9` of a command's own process (the leader alone, not its process group) leaves none of its processes behind
within 10 s: not datatrove's pool workers or its `multiprocess.Manager()` server, not torchrun or its ranks.

Each test starts a command in a subprocess, waits until it is at work (and its children exist), sends SIGKILL to the
leader only, then looks for survivors: every descendant seen while it ran (tracked with psutil, since orphans lose
their ancestry), and every process carrying the test's mark in its environment (which children inherit)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil
import pytest
import yaml

from conftest import ZH_EN, write_dialogue_dir
from test_synth_faults import KEY_VAR, SECRET, fault_server, server_stats

MARK = "REDRAFT_TEST_LEADER_MARK"
TESTS = Path(__file__).parent


class Leader:
    """A redraft command run as a subprocess, with the processes it started."""

    def __init__(self, args: list[str], tmp_path: Path, env: dict | None = None, key: bool = True):
        self.mark = uuid.uuid4().hex
        self.log = tmp_path / f"leader-{self.mark[:8]}.log"  # a file: orphans holding a pipe would block reading it
        env = {**{k: v for k, v in os.environ.items() if k != KEY_VAR}, **({KEY_VAR: SECRET} if key else {}),
               "REDRAFT_PROGRESS": "0", MARK: self.mark, **(env or {}),
               "PYTHONPATH": os.pathsep.join([str(TESTS), *filter(None, [os.environ.get("PYTHONPATH")])])}
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "redraft.cli", *args], env=env,
                                         stdout=log, stderr=subprocess.STDOUT)
        self.seen: dict[int, psutil.Process] = {}

    def __enter__(self) -> "Leader":
        return self

    def __exit__(self, *exc) -> None:  # a test that failed before the kill leaves nothing running either
        for p in [*self.descendants(), *self.marked()]:
            _kill(p)
        self.proc.kill()
        self.proc.wait()

    def descendants(self) -> list[psutil.Process]:
        try:
            found = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        self.seen.update((p.pid, p) for p in found)
        return found

    def wait_until(self, ready, what: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while not ready(self.descendants()):
            assert self.proc.poll() is None, f"ended before {what}: {self.log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"not {what} after {timeout} s: {self.log.read_text()[-3000:]}"
            time.sleep(0.05)

    def marked(self) -> list[psutil.Process]:
        found = []
        for p in psutil.process_iter():
            try:
                if p.pid != self.proc.pid and p.environ().get(MARK) == self.mark:
                    found.append(p)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                pass
        return found

    def kill_and_check_nothing_survives(self, within: float = 10) -> None:
        self.descendants()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        deadline = time.monotonic() + within
        while (survivors := [p for p in {*self.seen.values(), *self.marked()} if _alive(p)]) and \
                time.monotonic() < deadline:
            time.sleep(0.2)
        described = [f"{p.pid} {' '.join(_cmdline(p))[:200]}" for p in survivors]
        for p in survivors:  # leave nothing running, whatever the verdict
            _kill(p)
        assert not survivors, f"{len(survivors)} process(es) outlived the killed leader by {within} s: {described}"


def _kill(p: psutil.Process) -> None:
    try:
        p.kill()
    except psutil.NoSuchProcess:
        pass


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _cmdline(p: psutil.Process) -> list[str]:
    try:
        return p.cmdline()
    except psutil.Error:
        return ["?"]


def served(port: int) -> int:
    return server_stats(port)["requests"]


def pairs_file(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "pairs.tsv"
    path.write_text("".join(f"我们第{i}次一起去北京旅游。\tThis is our trip number {i} to Beijing together.\n"
                            for i in range(n)), encoding="utf-8")
    return path


def run_args(out: Path, pairs: Path, port: int, *sets: str) -> list[str]:
    """`redraft run` of 2 tasks against the loopback teacher on `port`, no filters or dedupe, plus `sets`."""
    sets = (f"source.path={pairs}", f"teacher.base_url=http://127.0.0.1:{port}/v1", "teacher.model=m",
            f"teacher.api_key_env={KEY_VAR}", "teacher.max_concurrency=2", "filters=[]", "dedupe=false",
            "executor.tasks=2", *sets)
    return ["run", "bayling-zh-en", "-o", str(out), *(a for s in sets for a in ("--set", s))]


@pytest.mark.parametrize("workers", [1, 2])
def test_killed_run_leaves_no_process(tmp_path, workers):
    pairs = pairs_file(tmp_path, 40)
    with fault_server("--latency", "0.5") as port:
        with Leader(run_args(tmp_path / "out", pairs, port, f"executor.workers={workers}"), tmp_path) as leader:
            leader.wait_until(lambda _: served(port) >= 2, "asking the teacher")
            leader.kill_and_check_nothing_survives()


@pytest.mark.parametrize("address", ["local", "cluster"])
def test_killed_run_on_ray_leaves_no_process(tmp_path, request, address):
    """`local`: a Ray cluster of the run's own (its agents would wait a minute); `cluster`: a running one, where the
    run's tasks stop with it (the teacher is asked nothing more)."""
    env = {f"{KEY_VAR}_FILE": str(tmp_path / "key")}  # the way to hand a key to Ray workers
    (tmp_path / "key").write_text(SECRET)
    if address == "cluster":
        address = request.getfixturevalue("ray_address")
    else:  # a Ray of its own, away from the machine's (Ray looks for it under TMPDIR), with socket paths kept short
        env["TMPDIR"] = tempfile.mkdtemp(prefix="rk", dir="/tmp")
        request.addfinalizer(lambda: shutil.rmtree(env["TMPDIR"], ignore_errors=True))
    pairs = pairs_file(tmp_path, 40)
    with fault_server("--latency", "0.5") as port:
        with Leader(run_args(tmp_path / "out", pairs, port, "executor.workers=2", "executor.kind=ray",
                             f"executor.ray.address={address}"), tmp_path, env=env, key=False) as leader:
            leader.wait_until(lambda _: served(port) >= 2, "asking the teacher", timeout=300)
            leader.kill_and_check_nothing_survives()
            asked = served(port)
            time.sleep(3)
            assert served(port) == asked, "the run's tasks went on asking the teacher"


def test_killed_filter_leaves_no_process(tmp_path):
    dialogues = write_dialogue_dir(tmp_path / "in", ZH_EN, "zh", "en", "kill-test", repeat=6)
    with fault_server("--judge", "--latency", "0.5") as port:
        with Leader(["filter", str(dialogues), "-o", str(tmp_path / "out"), "--judge-model", "m",
                         "--judge-url", f"http://127.0.0.1:{port}/v1", "--set", "executor.tasks=2",
                     "--set", "executor.workers=2"], tmp_path, env={"OPENAI_API_KEY": SECRET}) as leader:
            leader.wait_until(lambda _: served(port) >= 2, "asking the judge")
            leader.kill_and_check_nothing_survives()


def test_killed_dedupe_leaves_no_process(tmp_path):
    pairs = pairs_file(tmp_path, 3000)
    with Leader(["dedupe", str(pairs), "--langs", "zh-en", "--near", "-o", str(tmp_path / "out"),
                 "--set", "executor.tasks=2", "--set", "executor.workers=2"], tmp_path) as leader:
        leader.wait_until(lambda children: len(children) >= 2, "running tasks in worker processes")
        leader.kill_and_check_nothing_survives()


def test_killed_train_leaves_no_process(tmp_path, tiny_llama_dir, dialogue_dirs):
    config = tmp_path / "train.yaml"
    config.write_text(yaml.safe_dump({
        "model": str(tiny_llama_dir), "data": [str(d) for d in dialogue_dirs], "output_dir": str(tmp_path / "run"),
        "seq_len": 128, "micro_batch_size": 2, "max_steps": 100000, "progress": False}))
    with Leader(["train", str(config), "--nproc", "2"], tmp_path) as leader:
        def ranks(children) -> int:
            return sum("redraft.trainer.main" in (cmd := _cmdline(p)) and "torch.distributed.run" not in cmd
                       for p in children)

        leader.wait_until(lambda children: ranks(children) == 2, "running torchrun and two ranks")
        time.sleep(2)  # the ranks at work: loading the model, reading the data
        leader.kill_and_check_nothing_survives()


def test_killed_eval_leaves_no_process(tmp_path, tiny_llama_dir):
    src, ref = tmp_path / "src.txt", tmp_path / "ref.txt"
    src.write_text("".join(f"{zh}\n" for zh, _ in ZH_EN * 20), encoding="utf-8")
    ref.write_text("".join(f"{en}\n" for _, en in ZH_EN * 20), encoding="utf-8")
    with Leader(["eval", "translation", "--src", str(src), "--ref", str(ref), "--langs", "zh-en",
                 "--model", str(tiny_llama_dir), "--max-tokens", "200", "--batch-size", "1",
                 "-o", str(tmp_path / "out")], tmp_path) as leader:

        def generating(_) -> bool:  # the model is loaded in the leader (eval starts no process of its own)
            try:
                return any(m.path.endswith("model.safetensors")
                           for m in psutil.Process(leader.proc.pid).memory_maps())
            except psutil.Error:
                return False

        leader.wait_until(generating, "generating with the model")
        time.sleep(1)
        leader.kill_and_check_nothing_survives()
