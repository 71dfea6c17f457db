"""The response cache scales with the task (issue L): a task reads only the segments that overlap its share of the
input, whatever the number of tasks or the cache's size, and a re-run with another task count, after a clean run or
a SIGKILL, pays for no call twice (requests counted at the loopback teacher, tests/synth_fault_server.py)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cache_shares import CONCURRENCY, TURNS, positioned_pairs, run_task, share
from redraft.synth import cache as cache_module
from redraft.synth.cache import ResponseCache, cache_key
from redraft.synth.teacher import Completion
from test_synth_faults import KEY_VAR, SECRET, fault_server, server_stats

TESTS = Path(__file__).parent


def key(i: int, turn: int = 0) -> str:
    return cache_key("m", [{"role": "user", "content": f"item {i}"}], {"temperature": 0.7}, turn)


def answer(i: int) -> Completion:
    return Completion(f"answer {i} " + "x" * 300, 40, 80)


def byte_positions(n: int, seed: int = 0) -> list[int]:
    """Positions like a reader's byte offsets: increasing, irregular gaps."""
    rng, out, at = random.Random(seed), [], 0
    for _ in range(n):
        out.append(at)
        at += rng.randint(60, 240)
    return out


def write_like_a_task(folder: Path, positions: list[int], writer: str = "responses-00000", window: int = 8,
                      close: bool = True) -> ResponseCache:
    """Two answers per item, completed out of order within a sliding window of items, as a TeacherStep does."""
    cache, rng = ResponseCache(folder, writer), random.Random(1)
    for start in range(0, len(positions), window):
        block = [(i, t) for i in range(start, min(start + window, len(positions))) for t in range(2)]
        rng.shuffle(block)
        for i, t in block:
            assert cache.get(key(i, t), positions[i]) is None
            cache.put(key(i, t), answer(i), positions[i])
    if close:
        cache.close()
    return cache


def segments_on_disk(folder: Path) -> list[dict]:
    """Every positioned file with the range of positions it really holds (read from its lines) and its size."""
    out = []
    for f in folder.glob("*.jsonl"):
        data = f.read_bytes()
        pos = [json.loads(line)["pos"] for line in data.splitlines() if b'"pos"' in line]
        if pos:
            out.append({"path": f, "low": min(pos), "high": max(pos), "size": len(data), "answers": len(pos)})
    return sorted(out, key=lambda s: s["path"])


def bytes_between(folder: Path, first: int, last: int) -> int:
    """The size of the answers about positions first..last."""
    return sum(len(line) + 1 for f in folder.glob("*.jsonl") for line in f.read_bytes().splitlines()
               if first <= json.loads(line).get("pos", -1) <= last)


def overlapping_bytes(segments: list[dict], first: int, last: int) -> int:
    return sum(s["size"] for s in segments if s["low"] <= last and s["high"] >= first)


# --- the cache alone ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("tasks", [1, 3, 8, 64])
def test_a_task_reads_only_the_segments_overlapping_its_share(tmp_path, monkeypatch, tasks):
    monkeypatch.setattr(cache_module, "SEGMENT_ANSWERS", 40)
    n = 1200
    positions = byte_positions(n)
    write_like_a_task(tmp_path, positions)
    segments = segments_on_disk(tmp_path)
    biggest = max(s["size"] for s in segments)
    assert len(segments) >= n * 2 // 40
    files_before = sorted(p.name for p in tmp_path.iterdir())
    for rank in range(tasks):
        items = share(list(range(n)), rank, tasks)
        cache = ResponseCache(tmp_path, f"responses-{rank:05d}")
        assert cache.bytes_read == 0  # opening reads names only
        for i in items:
            for t in range(2):
                assert cache.get(key(i, t), positions[i]) == answer(i)
        first, last = positions[items[0]], positions[items[-1]]
        assert cache.bytes_read <= overlapping_bytes(segments, first, last)
        assert cache.bytes_read <= bytes_between(tmp_path, first, last) + 4 * biggest  # a segment or two each end
        assert len(cache) <= 2 * len(items) + 4 * 40
        cache.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == files_before  # a re-run writes nothing


def test_a_killed_writer_s_segment_is_found_by_the_shares_it_may_hold(tmp_path):
    positions = byte_positions(600)
    code = (f"import os, signal, sys; sys.path.insert(0, {str(TESTS)!r}); from redraft.synth import cache; "
            "cache.SEGMENT_ANSWERS = 40; from test_synth_cache import write_like_a_task; from pathlib import Path; "
            f"write_like_a_task(Path({str(tmp_path)!r}), {positions[:300]!r}, close=False); "
            "os.kill(os.getpid(), signal.SIGKILL)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    segments = segments_on_disk(tmp_path)
    assert sum(s["answers"] for s in segments) == 600  # every answer flushed before the kill
    whole = ResponseCache(tmp_path, "responses-00001")  # another task count: one task, all 300 items
    assert all(whole.get(key(i, t), positions[i]) == answer(i) for i in range(300) for t in range(2))
    beyond = ResponseCache(tmp_path, "responses-00002")  # a share past what the killed writer could hold
    assert all(beyond.get(key(i, 0), positions[i]) is None for i in range(400, 600))
    assert beyond.bytes_read == 0
    middle = ResponseCache(tmp_path, "responses-00003")
    assert all(middle.get(key(i, 1), positions[i]) == answer(i) for i in range(100, 150))
    assert middle.bytes_read <= overlapping_bytes(segments, positions[100], positions[149]) + \
        max(s["size"] for s in segments)  # and the killed writer's last segment, named by what it may hold


def test_a_duplicate_item_gets_an_entry_at_its_own_position(tmp_path):
    task = ResponseCache(tmp_path, "responses-00000")
    task.put(key(1), answer(1), 10)  # paid for the pair at position 10
    assert task.get(key(1), 10**6) == answer(1)  # the same pair again, far on in the input: from the cache
    task.close()
    own = [s for s in segments_on_disk(tmp_path) if s["low"] == 10**6]
    assert len(own) == 1
    rerun = ResponseCache(tmp_path, "responses-00005")  # another task count: a share around 10**6 only
    assert rerun.get(key(1), 10**6) == answer(1)
    assert rerun.bytes_read == own[0]["size"]
    rerun.close()
    assert len(segments_on_disk(tmp_path)) == 2  # found at its own position: not written again


def test_an_item_asked_about_out_of_input_order_still_finds_its_answer(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module, "SEGMENT_ANSWERS", 10)
    positions = byte_positions(200)
    write_like_a_task(tmp_path, positions)
    cache = ResponseCache(tmp_path, "responses-00001")
    assert cache.get(key(150), positions[150]) == answer(150)
    read = cache.bytes_read
    assert cache.get(key(20), positions[20]) == answer(20)  # below every position asked so far
    assert cache.bytes_read > read


def test_a_duplicate_waiting_on_a_call_in_flight_is_recorded_at_its_position(tmp_path):
    from redraft.synth.calls import Budget, TeacherCalls
    from redraft.synth.config import TeacherConfig

    class Slow:
        model, params, uses_seed, calls = "m", {}, True, 0

        async def complete(self, messages, *, seed):
            Slow.calls += 1
            await asyncio.sleep(0.05)
            return Completion("the answer", 3, 2)

    async def both():
        cache = ResponseCache(tmp_path, "responses-00000")
        calls = TeacherCalls("assistant", TeacherConfig(model="m"), Slow(), cache, Budget())
        messages = [{"role": "user", "content": "same pair"}]
        got = await asyncio.gather(calls.complete(messages, seed=1, position=7),
                                   calls.complete(messages, seed=1, position=9000))
        cache.close()
        return got

    assert asyncio.run(both()) == [Completion("the answer", 3, 2)] * 2 and Slow.calls == 1
    lines = [json.loads(line) for f in tmp_path.glob("seg-*.jsonl") for line in f.read_text().splitlines()]
    assert sorted(rec["pos"] for rec in lines) == [7, 9000]


def test_caches_without_positions_are_read_whole_as_before(tmp_path):
    old = {"key": key(3), "text": "from an old run", "prompt_tokens": 1, "completion_tokens": 2,
           "finish_reason": "stop"}
    (tmp_path / "responses-00000.jsonl").write_text(json.dumps(old) + "\n")  # what the cache wrote before segments
    cache = ResponseCache(tmp_path, "responses-00001")
    assert cache.bytes_read == (tmp_path / "responses-00000.jsonl").stat().st_size
    assert cache.get(key(3), 123) == Completion("from an old run", 1, 2)
    cache.put(key(4), answer(4), 124)
    cache.put(key(5), answer(5))  # not about an input item: the eval caches
    cache.close()
    assert not (tmp_path / "responses-00001.jsonl").read_text().count('"pos"')
    assert [s["low"] for s in segments_on_disk(tmp_path)] == [124]


def test_a_cache_reads_the_segments_of_its_own_kind(tmp_path):
    judge = ResponseCache(tmp_path, "judge-00000")
    judge.put(key(1), answer(1), 100)
    judge.close()
    synth = ResponseCache(tmp_path, "responses-00000")
    assert synth.get(key(1), 100) is None and synth.bytes_read == 0
    assert ResponseCache(tmp_path, "judge-00007").get(key(1), 100) == answer(1)


def test_two_writers_of_one_name_never_write_one_file(tmp_path):
    a, b = ResponseCache(tmp_path, "responses-00000"), ResponseCache(tmp_path, "responses-00000")
    for i in range(50):
        a.put(key(i), answer(i), i)
        b.put(key(i, 1), answer(i), i)
    a.close(), b.close()
    assert len(list(tmp_path.glob("seg-*.jsonl"))) == 2
    again = ResponseCache(tmp_path, "responses-00001")
    assert all(again.get(key(i, t), i) == answer(i) for i in range(50) for t in range(2))


# --- synthesis tasks over contiguous shares, against the loopback teacher --------------------------------------------

N_ITEMS = 96


def write_pairs(path: Path, duplicates: bool) -> Path:
    lines = [f"我们第{i}次一起去北京旅游。\tThis is our trip number {i} to Beijing together." for i in range(N_ITEMS)]
    if duplicates:
        lines[70], lines[50] = lines[5], lines[30]  # duplicate pairs in other tasks' shares
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_rerun_with_1_3_8_tasks_pays_no_call_twice_and_each_task_reads_its_share(tmp_path, monkeypatch):
    pairs_file = write_pairs(tmp_path / "pairs.tsv", duplicates=True)
    monkeypatch.setattr(cache_module, "SEGMENT_ANSWERS", 16)
    monkeypatch.setenv(KEY_VAR, SECRET)
    monkeypatch.setenv("REDRAFT_PROGRESS", "0")
    state = tmp_path / "state"
    folder = state / "synth-cache"
    with fault_server("--faults", "0") as port:
        first = run_task(port, pairs_file, state, 1, 0)
        served = server_stats(port)["served"]
        assert first["items"] == N_ITEMS and first["bytes_read"] == 0
        assert len(served) == (N_ITEMS - 2) * TURNS and max(served.values()) == 1
        segments = segments_on_disk(folder)
        total = sum(s["size"] for s in segments)
        for tasks in (3, 8):
            for rank in range(tasks):
                got = run_task(port, pairs_file, state, tasks, rank)
                assert got["items"] == len(share(range(N_ITEMS), rank, tasks))
                assert got["bytes_read"] <= overlapping_bytes(segments, got["first"], got["last"]), got
                if tasks == 8:
                    assert got["bytes_read"] < total / 2, (got, total)
            assert server_stats(port)["served"] == served  # nothing asked again
    assert segments_on_disk(folder) == segments


def test_killed_run_then_rerun_with_another_task_count_pays_nothing_twice(tmp_path, monkeypatch):
    # no duplicate pairs: two tasks running at once would each pay for theirs (a bound of its own)
    pairs_file, calls = write_pairs(tmp_path / "pairs.tsv", duplicates=False), N_ITEMS * TURNS
    monkeypatch.setattr(cache_module, "SEGMENT_ANSWERS", 16)
    monkeypatch.setenv(KEY_VAR, SECRET)
    monkeypatch.setenv("REDRAFT_PROGRESS", "0")
    state, report = tmp_path / "state", tmp_path / "report.jsonl"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), *filter(None, [os.environ.get("PYTHONPATH")])])}
    with fault_server("--faults", "0", "--latency", "0.05") as port:
        procs = [subprocess.Popen([sys.executable, str(TESTS / "cache_shares.py"), "--port", str(port), "--pairs",
                                   str(pairs_file), "--state", str(state), "--tasks", "3", "--rank", str(rank),
                                   "--segment", "16", "--report", str(report)], env=env, stderr=subprocess.PIPE,
                                  text=True)
                 for rank in range(3)]  # three tasks at once, each its own process
        deadline = time.monotonic() + 120
        while server_stats(port)["counts"].get("200", 0) < calls // 2:
            assert all(p.poll() is None for p in procs), [p.stderr.read()[-2000:] for p in procs]
            assert time.monotonic() < deadline
            time.sleep(0.05)
        for p in procs:
            p.send_signal(signal.SIGKILL)
        for p in procs:
            p.wait()
        assert sum(server_stats(port)["served"].values()) < calls

        for rank in range(8):
            got = run_task(port, pairs_file, state, 8, rank)
            assert got["items"] == len(share(range(N_ITEMS), rank, 8))
        served = server_stats(port)["served"]
        total = sum(s["size"] for s in segments_on_disk(state / "synth-cache"))
        rerun = [run_task(port, pairs_file, state, 8, rank) for rank in range(8)]
        assert server_stats(port)["served"] == served
    # calls answered before the kill are not asked again, except those in flight at the moment of the kill
    in_flight = 3 * -(-CONCURRENCY // 3)
    paid_twice = sum(n - 1 for n in served.values() if n > 1)
    assert paid_twice <= in_flight, paid_twice
    assert sum(served.values()) - paid_twice == calls == len(served)
    assert max(r["bytes_read"] for r in rerun) < total / 2  # each of 8 tasks reads about its share
