"""The request layer against the project's fault-injecting server on loopback (tests/synth_fault_server.py):
429 with Retry-After, 500, replies slower than the timeout, truncated JSON, dropped connections; then a SIGKILL
part-way and a re-run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from redraft.recipes.runner import run_recipe
from redraft.synth.errors import TeacherUnavailable

SERVER = Path(__file__).with_name("synth_fault_server.py")
KEY_VAR = "REDRAFT_TEST_SYNTH_KEY"
SECRET = "sk-test-9f8e7d6c5b4a-never-on-disk"
N_PAIRS = 60
CONCURRENCY = 4


@contextmanager
def fault_server(*args: str, key: str = SECRET, script: Path = SERVER):
    """A loopback teacher (`script`: tests/synth_fault_server.py or a server built on it) started with `args`."""
    env = {**os.environ, KEY_VAR: key}
    proc = subprocess.Popen([sys.executable, str(script), "--port", "0", "--api-key-env", KEY_VAR, *args],
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        port = int(proc.stdout.readline())
        yield port
    finally:
        proc.kill()
        proc.wait()


def server_stats(port: int) -> dict:
    return json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5).read())


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pairs") / "pairs.tsv"
    lines = [f"我们第{i}次一起去北京旅游。\tThis is our trip number {i} to Beijing together." for i in range(N_PAIRS)]
    lines[17] = "POISON 句子。\tA poisoned sentence that the server always refuses."
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def overrides(port: int, pairs: Path, *extra: str) -> list[str]:
    return [f"source.path={pairs}", f"teacher.base_url=http://127.0.0.1:{port}/v1", "teacher.model=fault-model",
            f"teacher.api_key_env={KEY_VAR}", "teacher.timeout=1", "teacher.max_retries=3",
            f"teacher.max_concurrency={CONCURRENCY}", "synth.turns=3", "filters=[]", "dedupe=false", *extra]


def read_rows(out: Path) -> list[dict]:
    return [row for f in sorted((out / "data").glob("*.parquet")) for row in pq.read_table(f).to_pylist()]


def run_in_subprocess(args: list[str], output: Path) -> subprocess.Popen:
    code = ("import sys; from redraft.recipes.runner import run_recipe; "
            f"run_recipe('bayling-zh-en', {args!r}, output={str(output)!r})")
    return subprocess.Popen([sys.executable, "-c", code], env={**os.environ, KEY_VAR: SECRET, "REDRAFT_PROGRESS": "0"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def assert_key_not_on_disk(folder: Path) -> None:
    for f in folder.rglob("*"):
        if f.is_file():
            assert SECRET.encode() not in f.read_bytes(), f"the API key was written to {f}"


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory, pairs_file):
    """The reference: a run against a well-behaved server."""
    return reference_run(fault_server("--faults", "0"), tmp_path_factory.mktemp("clean") / "out",
                         lambda port: overrides(port, pairs_file))


def reference_run(server, out: Path, sets) -> tuple[Path, dict]:
    """A run into `out` against `server` (a `fault_server(...)`) with the key set and `sets(port)` as overrides: `out`
    and the server's stats."""
    with server as port:
        os.environ[KEY_VAR] = SECRET
        try:
            run_recipe("bayling-zh-en", sets(port), output=str(out))
        finally:
            del os.environ[KEY_VAR]
        return out, server_stats(port)


def test_faults_are_retried_and_rows_equal_a_clean_run(tmp_path, pairs_file, clean_run):
    clean_out, clean_stats = clean_run
    out = tmp_path / "out"
    with fault_server("--faults", "0.5", "--slow-seconds", "2") as port:
        proc = run_in_subprocess(overrides(port, pairs_file), out)
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-3000:]
        stats = server_stats(port)
    for kind in ("429", "500", "slow", "truncated", "drop"):
        assert stats["counts"].get(kind, 0) > 0, stats["counts"]
    assert read_rows(out) == read_rows(clean_out)
    assert max(stats["served"].values()) == 1  # no call answered (paid) twice
    assert sum(stats["served"].values()) == sum(clean_stats["served"].values())
    funnel = json.loads((out / "stats.json").read_text())
    assert funnel["input"] == N_PAIRS and funnel["kept"] == N_PAIRS - 1
    assert funnel["failed"] == {"server_error": 1}  # the POISON pair, rejected with its reason
    assert_key_not_on_disk(out)


def test_sigkill_then_rerun_loses_nothing_and_pays_nothing_twice(tmp_path, pairs_file, clean_run):
    clean_out, clean_stats = clean_run
    out = tmp_path / "out"
    total_calls = sum(clean_stats["served"].values())
    with fault_server("--faults", "0.3", "--latency", "0.05", "--slow-seconds", "2") as port:
        proc = run_in_subprocess(overrides(port, pairs_file), out)
        deadline = time.monotonic() + 120
        while server_stats(port)["counts"].get("200", 0) < total_calls // 2:
            assert proc.poll() is None, proc.stderr.read()[-3000:]
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        served_before = sum(server_stats(port)["served"].values())
        assert served_before < total_calls

        proc = run_in_subprocess(overrides(port, pairs_file), out)
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-3000:]
        stats = server_stats(port)
    assert read_rows(out) == read_rows(clean_out)
    funnel = json.loads((out / "stats.json").read_text())
    assert funnel == json.loads((clean_out / "stats.json").read_text())
    # calls answered before the kill are not asked again, except those in flight at the moment of the kill
    paid_twice = sum(n - 1 for n in stats["served"].values() if n > 1)
    assert paid_twice <= CONCURRENCY, paid_twice
    assert sum(stats["served"].values()) - paid_twice == total_calls
    assert_key_not_on_disk(out)


def test_sustained_429s_shrink_concurrency_and_every_item_still_completes(tmp_path, monkeypatch):
    from redraft.recipes.schema import Recipe
    from redraft.synth.dialogue import SynthesizeDialogues
    from redraft.synth.teacher_step import TeacherSession
    from redraft.types import ParallelPair, pair_to_document

    monkeypatch.setenv(KEY_VAR, SECRET)
    with fault_server("--faults", "1.0", "--kinds", "429") as port:  # every first attempt is told to slow down
        recipe = Recipe.model_validate({
            "name": "t", "source": {"path": "x", "src_lang": "zh", "tgt_lang": "en"}, "output": {"path": "x"},
            "teacher": {"base_url": f"http://127.0.0.1:{port}/v1", "model": "m", "api_key_env": KEY_VAR,
                        "max_concurrency": 16, "max_retries": 4, "timeout": 5},
            "synth": {"turns": 1}})
        session = TeacherSession(SynthesizeDialogues(recipe, tmp_path))
        try:
            pairs = [ParallelPair.make("zh", "en", f"第{i}句。", f"Sentence {i}.") for i in range(40)]
            outcomes = [session.result(f) for f in [session.submit(pair_to_document(p)) for p in pairs]]
            limiter = session.calls["assistant"].teacher.limiter
        finally:
            session.close()
        stats = server_stats(port)
    assert all(hasattr(o, "messages") for o in outcomes)
    assert stats["counts"]["429"] == 40 and limiter.rate_limited == 40
    assert limiter.lowest_limit <= 8  # backed off; it recovers on successes (test_synth_units)


def test_bad_key_stops_at_once_with_a_clear_message(tmp_path, pairs_file):
    with fault_server() as port:
        os.environ[KEY_VAR] = "sk-wrong"
        try:
            with pytest.raises(TeacherUnavailable, match=f"refused the API key from \\${KEY_VAR}"):
                run_recipe("bayling-zh-en", overrides(port, pairs_file), output=str(tmp_path / "out"))
        finally:
            del os.environ[KEY_VAR]
        assert server_stats(port)["counts"]["401"] <= CONCURRENCY + 1


def test_missing_key_variable_is_reported_before_any_request(tmp_path, pairs_file, monkeypatch):
    monkeypatch.delenv(KEY_VAR, raising=False)
    with pytest.raises(TeacherUnavailable, match=KEY_VAR):
        run_recipe("bayling-zh-en", overrides(1, pairs_file, "teacher.base_url=https://api.example.com/v1"),
                   output=str(tmp_path / "out"))


def test_wrong_url_stops_early(tmp_path, pairs_file, monkeypatch):
    monkeypatch.setenv(KEY_VAR, SECRET)
    with fault_server() as port:
        pass  # a port nothing listens on any more
    start = time.monotonic()
    with pytest.raises(TeacherUnavailable, match=r"8 of 8 items failed .*(connection_error|timeout)"):
        run_recipe("bayling-zh-en", overrides(port, pairs_file, "teacher.max_retries=1", "synth.fail_fast_after=8"),
                   output=str(tmp_path / "out"))
    assert time.monotonic() - start < 60


def test_unknown_model_stops_at_once(tmp_path, pairs_file, monkeypatch):
    monkeypatch.setenv(KEY_VAR, SECRET)
    with fault_server("--status-all", "404") as port:
        with pytest.raises(TeacherUnavailable, match="no such model"):
            run_recipe("bayling-zh-en", overrides(port, pairs_file), output=str(tmp_path / "out"))


def test_rerun_reuses_the_cache_across_servers_and_fresh_discards_it(tmp_path, pairs_file, clean_run, monkeypatch):
    """The cache key holds no URL or key: another server (another port) is not asked again; --fresh asks again."""
    clean_out, clean_stats = clean_run
    out = tmp_path / "out"
    shutil.copytree(clean_out, out)
    monkeypatch.setenv(KEY_VAR, SECRET)
    with fault_server() as port:
        run_recipe("bayling-zh-en", overrides(port, pairs_file), output=str(out))
        assert server_stats(port)["counts"].get("200", 0) == 0
        assert read_rows(out) == read_rows(clean_out)
        run_recipe("bayling-zh-en", overrides(port, pairs_file), output=str(out), fresh=True)
        assert server_stats(port)["counts"]["200"] == sum(clean_stats["served"].values())
    assert read_rows(out) == read_rows(clean_out)


def test_rerun_with_3_and_8_tasks_pays_no_call_twice(tmp_path, pairs_file, clean_run, monkeypatch):
    """The cache a 1-task run wrote serves re-runs split into 3 and 8 tasks, each task reading its share of it."""
    clean_out, _ = clean_run
    out = tmp_path / "out"
    shutil.copytree(clean_out, out)
    monkeypatch.setenv(KEY_VAR, SECRET)
    with fault_server() as port:
        for tasks in (3, 8):
            run_recipe("bayling-zh-en", overrides(port, pairs_file, f"executor.tasks={tasks}"), output=str(out))
            assert server_stats(port)["counts"].get("200", 0) == 0, tasks
            by_id = lambda rows: sorted(rows, key=lambda r: r["id"])  # noqa: E731
            assert by_id(read_rows(out)) == by_id(read_rows(clean_out))
            assert json.loads((out / "stats.json").read_text()) == json.loads((clean_out / "stats.json").read_text())
