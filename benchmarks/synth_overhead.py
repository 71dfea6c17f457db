"""Request-layer overhead: how many requests/s the synthesis engine drives against a local stub server.

The stub (tests/synth_fault_server.py, no faults) runs in its own process. The figures:
  - zero latency, 256 in flight, one worker: the engine's own per-request cost (dialogues, cache, flow control,
    openai client);
  - the same zero-latency workload through distilabel's OpenAILLM and Bespoke Curator, where they are installed;
  - 200 ms latency, 256 in flight: against the ideal of 256 / 0.2 = 1,280 requests/s, with one worker (one event
    loop, one core at most) and with the run spread the way a recipe spreads it on 2 cores (`executor: {tasks: 2,
    workers: 2}`): datatrove's LocalPipelineExecutor runs two tasks of the step at once, each with half of the
    teacher's concurrency. That rate counts from the first task's first item to the last task's last, so process
    start-up is left out; the run lasts ~20 s so that the ramp-up (all slots filled at once) and the last partial
    window weigh about 1% (over ~10 s they cost 1-3% more).
Every contender runs --repeats times, interleaved (benchmarks/measure.py), after one untimed warm-up of each; each
figure is the median with min, max, every value and the load average around each run; ratios are of medians. The
state folder is fresh for every run, and a run with an answer from the response cache fails.
Prints one JSON line. Run: python benchmarks/synth_overhead.py [--requests 6000] [--repeats 5]
(distilabel, the peer: `pip install distilabel`, or `pip install -e .[bench]`)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import load_1m, machine, ratio, repeat

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / "tests" / "synth_fault_server.py"
CONCURRENCY = 256
IDEAL_200MS = CONCURRENCY / 0.2  # requests/s with every slot busy and each answer taking 200 ms


def start_server(*args: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, str(SERVER), "--port", "0", *args], stdout=subprocess.PIPE, text=True)
    return proc, f"http://127.0.0.1:{int(proc.stdout.readline())}/v1"


def bench_recipe(base_url: str, turns: int, workers: int = 1):
    from redraft.recipes.schema import Recipe

    return Recipe.model_validate({
        "name": "bench", "source": {"path": "x", "src_lang": "zh", "tgt_lang": "en"}, "output": {"path": "x"},
        "teacher": {"base_url": base_url, "model": "stub", "api_key_env": None, "max_concurrency": CONCURRENCY,
                    "timeout": 30},
        "synth": {"turns": turns}, "executor": {"tasks": workers, "workers": workers}})


def pair(i: int):
    from redraft.types import ParallelPair

    return ParallelPair.make("zh", "en", f"我们第{i}次一起去北京旅游。", f"This is our trip number {i} to Beijing.")


def engine_requests_per_s(base_url: str, n_requests: int, turns: int) -> float:
    from redraft.synth.dialogue import SynthesizeDialogues
    from redraft.types import pair_to_document

    recipe = bench_recipe(base_url, turns)
    pairs = [pair(i) for i in range(n_requests // turns)]
    with tempfile.TemporaryDirectory() as state:
        step = SynthesizeDialogues(recipe, state)
        start = time.perf_counter()
        n = sum(1 for _ in step.run(iter(pair_to_document(p) for p in pairs)))
        elapsed = time.perf_counter() - start
    assert n == len(pairs) and step.stats["requests"].total == n * turns
    assert step.stats["cached_requests"].total == 0, "answers came from the response cache"
    return n * turns / elapsed


def workers_requests_per_s(base_url: str, n_requests: int, turns: int, workers: int) -> tuple[float, float]:
    """Requests/s and client CPU ms per request with the step run by datatrove, `workers` tasks at once."""
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.base import PipelineStep

    from redraft.synth.dialogue import SynthesizeDialogues
    from redraft.types import pair_to_document

    class GeneratedPairs(PipelineStep):
        def run(self, data, rank: int = 0, world_size: int = 1):
            yield from (pair_to_document(pair(i)) for i in range(rank, n_requests // turns, world_size))

    class TimedSynthesis(SynthesizeDialogues):
        def run(self, data, rank: int = 0, world_size: int = 1):
            start, cpu = time.time(), time.process_time()
            yield from super().run(data, rank, world_size)
            Path(self.state_dir, f"times-{rank}.json").write_text(json.dumps(
                [start, time.time(), time.process_time() - cpu, self.stats["requests"].total,
                 self.stats["cached_requests"].total]))

    with tempfile.TemporaryDirectory() as state:
        LocalPipelineExecutor([GeneratedPairs(), TimedSynthesis(bench_recipe(base_url, turns, workers), state)],
                              tasks=workers, workers=workers, logging_dir=f"{state}/logs").run()
        times = [json.loads(f.read_text()) for f in Path(state).glob("times-*.json")]
    requests = sum(t[3] for t in times)
    assert len(times) == workers and requests == n_requests // turns * turns, times
    assert not any(t[4] for t in times), "answers came from the response cache"
    return requests / (max(t[1] for t in times) - min(t[0] for t in times)), 1000 * sum(t[2] for t in times) / requests


def messages(i: int) -> list[dict]:
    return [{"role": "user", "content": f"Translate into English: 我们第{i}次一起去北京旅游。"}]


def distilabel_llm(base_url: str):
    """distilabel's OpenAILLM on the stub, loaded; None when distilabel is not installed."""
    try:
        from distilabel.models import OpenAILLM
    except ImportError:
        return None
    llm = OpenAILLM(model="stub", base_url=base_url, api_key="sk-stub", max_retries=0, timeout=30)
    llm.load()
    return llm


def distilabel_requests_per_s(llm, n_requests: int) -> float:
    start = time.perf_counter()
    done = 0
    for lo in range(0, n_requests, CONCURRENCY):  # distilabel runs one input batch concurrently
        batch = [messages(i) for i in range(lo, min(n_requests, lo + CONCURRENCY))]
        outputs = llm.generate_outputs(inputs=batch, num_generations=1, max_new_tokens=64)
        done += sum(1 for o in outputs if o["generations"][0])
    elapsed = time.perf_counter() - start
    assert done == n_requests, done
    return n_requests / elapsed


def curator_note() -> str:
    try:
        import bespokelabs.curator  # noqa: F401
    except ImportError:
        return "did not install (pip would replace openai, pydantic, tokenizers and huggingface_hub in the venv)"
    return "installed but not wired"


def latency_run(base_url: str, n: int, turns: int) -> dict:
    """One worker at 200 ms. The ideal needs ideal rate x CPU per request <= one core (one event loop): above ~0.7
    the loop queues responses and the 200 ms cycle stretches, whatever the concurrency limit."""
    cpu = time.process_time()  # this process only (the stub is a child): the engine's event loop and the caller
    rate = engine_requests_per_s(base_url, n, turns)
    cpu = time.process_time() - cpu
    return {"req_per_s": rate, "client_cpu_ms_per_req": 1000 * cpu / n, "client_core_share": cpu * rate / n,
            "share_of_ideal": rate / IDEAL_200MS}


def workers_run(base_url: str, n: int, turns: int, workers: int) -> dict:
    rate, cpu_ms = workers_requests_per_s(base_url, n, turns, workers)
    return {"req_per_s": rate, "client_cpu_ms_per_req": cpu_ms, "share_of_ideal": rate / IDEAL_200MS}


def event_loop_kind() -> str:
    """uvloop or asyncio: the engine's choice, which moves the CPU per request."""
    from redraft.synth.teacher_step import new_event_loop

    loop = new_event_loop()
    loop.close()
    return type(loop).__module__.split(".")[0]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=6000, help="per zero-latency run")
    p.add_argument("--latency-requests", type=int, default=5 * CONCURRENCY * 5,
                   help="per 200 ms run with one worker (~5 s at the ideal rate); four times as many with 2 workers")
    p.add_argument("--turns", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    os.environ.setdefault("REDRAFT_PROGRESS", "0")
    from loguru import logger

    from redraft.synth.openai_teacher import http_client_class

    logger.remove()
    result = {"benchmark": "synth_overhead", **machine(), "repeats": a.repeats, "in_flight": CONCURRENCY,
              "requests": a.requests, "latency_200ms_requests": [a.latency_requests, 4 * a.latency_requests],
              "event_loop": event_loop_kind(), "http_client": http_client_class().__name__}
    instant, instant_url = start_server()
    slow, slow_url = start_server("--latency", "0.2")
    try:
        llm = distilabel_llm(instant_url)
        engine_requests_per_s(instant_url, 512, a.turns)  # warm-up, untimed
        contenders = {"redraft": lambda: {"req_per_s": engine_requests_per_s(instant_url, a.requests, a.turns)}}
        if llm:
            distilabel_requests_per_s(llm, 512)
            contenders["distilabel"] = lambda: {"req_per_s": distilabel_requests_per_s(llm, a.requests)}
        contenders["200ms_1_worker"] = lambda: latency_run(slow_url, a.latency_requests, a.turns)
        contenders["200ms_2_workers"] = lambda: workers_run(slow_url, 4 * a.latency_requests, a.turns, workers=2)
        runs = repeat(contenders, a.repeats)
    finally:
        instant.kill()
        slow.kill()
    result["zero_latency"] = {"redraft": runs["redraft"].report(req_per_s=1)}
    if llm:
        result["zero_latency"]["distilabel"] = runs["distilabel"].report(req_per_s=1)
        result["zero_latency"]["redraft_over_distilabel"] = ratio(runs["redraft"], runs["distilabel"], "req_per_s")
    else:
        result["zero_latency"]["distilabel"] = "not installed (pip install distilabel)"
    result["zero_latency"]["curator"] = curator_note()
    result["latency_200ms"] = {
        "ideal_req_per_s": IDEAL_200MS,
        "1_worker": runs["200ms_1_worker"].report(req_per_s=1, client_cpu_ms_per_req=3, client_core_share=2,
                                                  share_of_ideal=3),
        "2_workers": runs["200ms_2_workers"].report(req_per_s=1, client_cpu_ms_per_req=3, share_of_ideal=3)}
    result["load_1m_at_end"] = load_1m()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
