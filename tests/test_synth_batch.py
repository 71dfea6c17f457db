"""`teacher.batch: true` (synth/batch.py) against the Batch API server on loopback (tests/batch_server.py), which the
official `openai` client talks to as it talks to OpenAI: the same rows as direct calls, line failures and expired,
failed or cancelled batches recovered, a SIGKILL mid-batch re-attached without a line submitted twice, `--wait false`
then collect, `--cancel-batches`, `--fresh`, a budget that stops cleanly, and batch and direct runs mixed."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from redraft.cli import main
from redraft.filters.config import JudgeConfig
from redraft.recipes.runner import curate, run_recipe
from redraft.synth.config import TeacherConfig
from redraft.synth.errors import BatchesPending

from test_judge import DIALOGUES, old_output
from test_synth_faults import (KEY_VAR, SECRET, assert_key_not_on_disk, fault_server, read_rows, reference_run,
                               server_stats)

SERVER = Path(__file__).with_name("batch_server.py")
N_PAIRS = 40
TURNS = 3
BATCH = ("teacher.batch=true",)


def batch_server(*args: str):
    return fault_server(*args, script=SERVER)


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pairs") / "pairs.tsv"
    lines = [f"我们第{i}次一起去上海。\tThis is our trip number {i} to Shanghai." for i in range(N_PAIRS)]
    lines[11] = "POISON 句子。\tA poisoned sentence that the server always refuses."
    # a duplicate pair: its requests are asked once (both in the first task's share when 2 tasks read contiguous halves;
    # across tasks running at once each task would submit its own line)
    lines[13] = lines[5]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def overrides(port: int, pairs: Path, *extra: str) -> list[str]:
    return [f"source.path={pairs}", f"teacher.base_url=http://127.0.0.1:{port}/v1", "teacher.model=batch-model",
            f"teacher.api_key_env={KEY_VAR}", "teacher.timeout=10", "teacher.max_retries=2",
            "teacher.batch_poll_seconds=0.02", f"synth.turns={TURNS}", "filters=[]", "dedupe=false", *extra]


def funnel(out: Path) -> dict:
    return json.loads((out / "stats.json").read_text())


def no_line_sent_twice(stats: dict) -> None:
    """A line goes in a second batch only after it came back unanswered (error line, expiry, cancel)."""
    twice = {k: n for k, n in stats["lines_received"].items() if n > 1 + stats["unanswered"].get(k, 0)}
    assert not twice, twice
    assert max(stats["served"].values()) == 1  # and no request answered (paid) twice


def sorted_rows(out: Path) -> list[dict]:
    return sorted(read_rows(out), key=lambda row: row["id"])


def recorded(out: Path) -> list[Path]:
    return sorted((out / ".redraft" / "batches").glob("*.json"))


@pytest.fixture(scope="module")
def direct(tmp_path_factory, pairs_file):
    """The reference: direct calls to the same server's /v1/chat/completions."""
    return reference_run(batch_server(), tmp_path_factory.mktemp("direct") / "out",
                         lambda port: overrides(port, pairs_file))


def test_batch_rows_equal_direct_rows(tmp_path, pairs_file, direct, monkeypatch, capfd):
    direct_out, direct_stats = direct
    monkeypatch.setenv(KEY_VAR, SECRET)
    out = tmp_path / "out"
    with batch_server() as port:
        run_recipe("bayling-zh-en", overrides(port, pairs_file, *BATCH, "teacher.batch_max_lines=15"),
                   output=str(out))
        stats = server_stats(port)
    assert read_rows(out) == read_rows(direct_out) and len(read_rows(out)) == N_PAIRS - 1
    assert funnel(out) == funnel(direct_out) == {"input": N_PAIRS, "kept": N_PAIRS - 1, "dropped": {},
                                                 "failed": {"server_error": 1}}
    # every request a batch line held is the body direct mode sent, byte for byte after parsing
    assert stats["bodies"] == direct_stats["bodies"]
    assert stats["counts"].get("200", 0) == 0 and stats["counts"]["line_200"] == direct_stats["counts"]["200"]
    no_line_sent_twice(stats)
    # one round per turn (the poisoned line asked again in the next two, then failed as direct mode fails it); the
    # duplicate pair's lines once; files of at most 15 lines
    lines = sorted(stats["lines_received"].values())
    assert len(lines) == TURNS * (N_PAIRS - 2) + 1 and lines[-1] == 3 and lines[-2] == 1
    assert max(b["lines"] for b in stats["batches"].values()) <= 15
    assert all(b["status"] == "completed" for b in stats["batches"].values())
    assert stats["batch_http"] == stats["http_requests"]  # files and batches only, no chat completion
    assert not recorded(out)  # every batch collected
    err = capfd.readouterr().err
    assert f"synth 0 round {TURNS}: batches" in err and "in progress" in err and "lines 39/39" in err
    assert f"{TURNS * (N_PAIRS - 2) + 3} lines in {TURNS} batch rounds" in err
    assert_key_not_on_disk(out)


def test_line_failures_and_expired_and_failed_batches_are_recovered(tmp_path, pairs_file, direct, monkeypatch):
    direct_out, _ = direct
    monkeypatch.setenv(KEY_VAR, SECRET)
    out = tmp_path / "out"
    # the first batch expires half answered, the second fails validation; 30% of first attempts are error lines
    with batch_server("--line-faults", "0.3", "--expire", "1", "--fail", "2") as port:
        run_recipe("bayling-zh-en", overrides(port, pairs_file, *BATCH, "teacher.max_retries=4",
                                              "teacher.batch_max_bytes=9000"), output=str(out))
        stats = server_stats(port)
    statuses = [b["status"] for b in stats["batches"].values()]
    assert statuses[:2] == ["expired", "failed"] and stats["counts"]["line_500"] > 1
    assert stats["counts"]["line_429"] > 0
    assert max(b["lines"] for b in stats["batches"].values()) < N_PAIRS - 1  # split by bytes
    assert read_rows(out) == read_rows(direct_out)
    assert funnel(out) == funnel(direct_out)  # the poisoned pair failed with the reason its lines got
    no_line_sent_twice(stats)
    assert not recorded(out)


def test_lines_that_keep_failing_fail_their_items_with_the_reason(tmp_path, pairs_file, monkeypatch):
    monkeypatch.setenv(KEY_VAR, SECRET)
    with batch_server("--fail", ",".join(str(i) for i in range(1, 20))) as port:  # every batch fails
        run_recipe("bayling-zh-en", overrides(port, pairs_file, *BATCH, "teacher.max_retries=1",
                                              "synth.fail_fast_after=100"), output=str(tmp_path / "out"))
        stats = server_stats(port)
    assert funnel(tmp_path / "out")["failed"] == {"batch_failed": N_PAIRS}
    assert len(stats["batches"]) == 2  # the round, and the one retry


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "Ctrl-C"])
def test_killed_while_a_batch_runs_then_rerun_submits_no_line_twice(tmp_path, pairs_file, direct, sig):
    direct_out, _ = direct
    out = tmp_path / "out"
    with batch_server("--in-progress", "1.5") as port:
        args = overrides(port, pairs_file, *BATCH)
        proc = run_in_subprocess(args, out)
        deadline = time.monotonic() + 120
        # round 1 collected, round 2's batch in progress
        while [b["status"] for b in server_stats(port)["batches"].values()] != ["completed", "in_progress"]:
            assert proc.poll() is None, proc.stderr.read()[-3000:]
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.killpg(proc.pid, sig)  # the command's whole process group, as a terminal or a scheduler does
        assert proc.wait(timeout=60) != 0
        assert recorded(out)  # the running batch, recorded before the wait, and left running
        assert server_stats(port)["batches"]["batch_000002"]["status"] in ("in_progress", "finalizing", "completed")
        proc = run_in_subprocess(args, out)
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err[-3000:]
        stats = server_stats(port)
    assert read_rows(out) == read_rows(direct_out)
    assert funnel(out) == funnel(direct_out)
    no_line_sent_twice(stats)
    assert len(stats["batches"]) == TURNS  # round 2's batch re-attached, not replaced
    assert not recorded(out)


def run_in_subprocess(args: list[str], output: Path) -> subprocess.Popen:
    code = ("from redraft.recipes.runner import run_recipe; "
            f"run_recipe('bayling-zh-en', {args!r}, output={str(output)!r})")
    return subprocess.Popen([sys.executable, "-c", code], env={**os.environ, KEY_VAR: SECRET, "REDRAFT_PROGRESS": "0"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)


def cli_args(args: list[str], out: Path, *flags: str) -> list[str]:
    return ["run", "bayling-zh-en", "-o", str(out), *(x for a in args for x in ("--set", a)), *flags]


def test_wait_false_submits_each_tasks_batches_and_exits_then_reruns_collect(tmp_path, pairs_file, direct,
                                                                            monkeypatch, capsys):
    direct_out, _ = direct
    monkeypatch.setenv(KEY_VAR, SECRET)
    out = tmp_path / "out"
    with batch_server("--in-progress", "0.6") as port:
        args = cli_args(overrides(port, pairs_file, *BATCH, "executor.tasks=2"), out, "--wait", "false")
        assert main(args) == 75
        err = capsys.readouterr().err
        assert "at the Batch API; run the same command again to collect them (nothing was published)" in err
        assert not (out / "stats.json").exists() and not (out / "data").exists()
        first = server_stats(port)["batches"]
        assert {b["metadata"]["redraft"] for b in first.values()} == {"synth 0", "synth 1"}  # a task each
        runs = 1
        while (code := main(args)) == 75:
            runs += 1
            assert runs < 40
            time.sleep(0.3)
        runs += 1
        assert code == 0
        stats = server_stats(port)
    assert runs > TURNS  # a round per turn, each collected by the next run
    assert sorted_rows(out) == sorted_rows(direct_out)  # two tasks: the same rows, in two shards
    assert funnel(out) == funnel(direct_out)
    no_line_sent_twice(stats)
    assert not recorded(out)


def test_cancel_batches_then_rerun_collects_and_fresh_says_what_it_forgets(tmp_path, pairs_file, direct,
                                                                         monkeypatch, capsys):
    direct_out, _ = direct
    monkeypatch.setenv(KEY_VAR, SECRET)
    out = tmp_path / "out"
    with batch_server("--in-progress", "2", "--finalizing", "0.3") as port:
        args = cli_args(overrides(port, pairs_file, *BATCH), out)
        assert main([*args, "--wait", "false"]) == 75
        assert main([*args, "--cancel-batches"]) == 0
        assert capsys.readouterr().out.strip() == "batch_000001: cancelling"
        assert main(args) == 0  # re-attaches to the cancelled batch: keeps what it answered, asks the rest again
        stats = server_stats(port)
        assert stats["batches"]["batch_000001"]["status"] == "cancelled"
        assert read_rows(out) == read_rows(direct_out) and funnel(out) == funnel(direct_out)
        no_line_sent_twice(stats)
        assert not recorded(out)

        again = tmp_path / "again"
        with pytest.raises(BatchesPending, match="run the same command again to collect them"):
            run_recipe("bayling-zh-en", overrides(port, pairs_file, *BATCH), output=str(again), wait=False)
        args = cli_args(overrides(port, pairs_file, *BATCH), again)
        batch = list(server_stats(port)["batches"])[-1]
        capsys.readouterr()
        assert main([*args, "--fresh", "--wait", "false"]) == 75
        err = capsys.readouterr().err
        assert f"--fresh forgets 1 batch(es) a run here left at the Batch API, which may still run and be billed: " \
               f"{batch}" in err and "--cancel-batches" in err
        assert recorded(again)  # the new run's batch


def test_budget_stops_cleanly_and_batch_and_direct_runs_mix(tmp_path, pairs_file, direct, monkeypatch, capfd):
    direct_out, _ = direct
    monkeypatch.setenv(KEY_VAR, SECRET)
    # $1 per completion token, half that in batches; a line is reckoned at max_tokens (40) before it goes out, and a
    # dialogue's first line reserves its three
    prices = ("teacher.price_per_million_completion_tokens=1000000", "teacher.max_tokens=40")
    budget = 500.0
    with batch_server() as port:
        out = tmp_path / "batch-then-direct"
        run_recipe("bayling-zh-en", overrides(port, pairs_file, *BATCH, *prices, f"synth.max_cost={budget}"),
                   output=str(out))
        stats = server_stats(port)
        spent = stats["batch_usage"]["completion_tokens"] * 0.5
        assert 0.3 * budget < spent <= budget
        # the budget finishes the dialogues it started: every answered line belongs to a kept dialogue
        kept, failed = funnel(out)["kept"], funnel(out)["failed"]
        assert kept >= 5 and failed == {"budget_exhausted": N_PAIRS - kept}
        assert stats["counts"]["line_200"] == TURNS * (kept - 1)  # the duplicate pair (5, kept) is asked once
        assert not recorded(out)
        err = capfd.readouterr().err
        assert "line(s) refused, their documents fail as budget_exhausted" in err
        cost, direct_cost = map(float, re.search(r"cost \$([\d.]+) \(direct calls: \$([\d.]+)\)", err).groups())
        assert direct_cost == 2 * cost and spent <= cost <= budget  # cost: the duplicate pair's calls count too
    # finished with direct calls: the batch answers from the cache, the rest asked directly, nothing twice
        run_recipe("bayling-zh-en", overrides(port, pairs_file, *prices), output=str(out))
        assert read_rows(out) == read_rows(direct_out) and funnel(out) == funnel(direct_out)
        assert max(server_stats(port)["served"].values()) == 1

    with batch_server() as port:
        out = tmp_path / "direct-then-batch"
        run_recipe("bayling-zh-en", overrides(port, pairs_file, *prices, f"synth.max_cost={budget}"),
                   output=str(out))
        assert funnel(out)["failed"].get("budget_exhausted", 0) > 0
        run_recipe("bayling-zh-en", overrides(port, pairs_file, *BATCH, *prices), output=str(out))
        stats = server_stats(port)
        assert stats["counts"]["200"] > 0 and stats["counts"]["line_200"] > 0
    assert read_rows(out) == read_rows(direct_out) and funnel(out) == funnel(direct_out)
    no_line_sent_twice(stats)


def test_the_judge_through_batches_gives_the_direct_verdicts(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_VAR, SECRET)
    src = old_output(tmp_path / "in") / "data"
    outs = {}
    with batch_server("--judge") as port:
        for batch in (False, True):
            teacher = TeacherConfig(base_url=f"http://127.0.0.1:{port}/v1", model="judge-model", api_key_env=KEY_VAR,
                                    max_retries=1, timeout=10, temperature=0, batch=batch, batch_poll_seconds=0.02)
            outs[batch] = tmp_path / f"out-{batch}"
            curate(str(src), str(outs[batch]), filters=[], judge=JudgeConfig(teacher=teacher, min_score=3, retries=2))
        stats = server_stats(port)
    assert read_rows(outs[True]) == read_rows(outs[False])
    assert funnel(outs[True]) == funnel(outs[False]) == {"input": len(DIALOGUES), "kept": 6,
                                                         "dropped": {"judge_low_score": 2}, "failed": {}}
    assert len(stats["batches"]) == 3  # the verdicts; the malformed one's two follow-ups, a round each


def test_batch_prices_and_the_provider_batches_need():
    from redraft.synth.calls import prices

    teacher = TeacherConfig(model="m", batch=True, price_per_million_prompt_tokens=2,
                            price_per_million_completion_tokens=8)
    assert prices(teacher) == (2.0, 8.0) and prices(teacher, batch=True) == (1.0, 4.0)  # batch_price_factor 0.5
    explicit = teacher.model_copy(update={"batch_price_per_million_completion_tokens": 3.0})
    assert prices(explicit, batch=True) == (1.0, 3.0)
    with pytest.raises(ValueError, match="teacher.batch: true needs provider 'openai'"):
        TeacherConfig(provider="embedded", batch=True)
