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
Prints one JSON line. Run: python benchmarks/synth_overhead.py [--requests 6000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / "tests" / "synth_fault_server.py"
CONCURRENCY = 256


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
                [start, time.time(), time.process_time() - cpu, self.stats["requests"].total]))

    with tempfile.TemporaryDirectory() as state:
        LocalPipelineExecutor([GeneratedPairs(), TimedSynthesis(bench_recipe(base_url, turns, workers), state)],
                              tasks=workers, workers=workers, logging_dir=f"{state}/logs").run()
        times = [json.loads(f.read_text()) for f in Path(state).glob("times-*.json")]
    requests = sum(t[3] for t in times)
    assert len(times) == workers and requests == n_requests // turns * turns, times
    return requests / (max(t[1] for t in times) - min(t[0] for t in times)), 1000 * sum(t[2] for t in times) / requests


def messages(i: int) -> list[dict]:
    return [{"role": "user", "content": f"Translate into English: 我们第{i}次一起去北京旅游。"}]


def distilabel_requests_per_s(base_url: str, n_requests: int) -> float | str:
    try:
        from distilabel.models import OpenAILLM
    except ImportError:
        return "not installed"
    llm = OpenAILLM(model="stub", base_url=base_url, api_key="sk-stub", max_retries=0, timeout=30)
    llm.load()
    start = time.perf_counter()
    done = 0
    for lo in range(0, n_requests, CONCURRENCY):  # distilabel runs one input batch concurrently
        batch = [messages(i) for i in range(lo, min(n_requests, lo + CONCURRENCY))]
        outputs = llm.generate_outputs(inputs=batch, num_generations=1, max_new_tokens=64)
        done += sum(1 for o in outputs if o["generations"][0])
    elapsed = time.perf_counter() - start
    assert done == n_requests, done
    return n_requests / elapsed


def curator_requests_per_s(base_url: str, n_requests: int) -> float | str:
    try:
        import bespokelabs.curator  # noqa: F401
    except ImportError:
        return "did not install (pip would replace openai, pydantic, tokenizers and huggingface_hub in the venv)"
    return "installed but not wired"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=6000)
    p.add_argument("--turns", type=int, default=2)
    a = p.parse_args()
    os.environ.setdefault("REDRAFT_PROGRESS", "0")
    from loguru import logger

    logger.remove()
    # other work on the machine shows up here; compare figures taken at similar load
    result = {"benchmark": "synth_overhead", "cores": os.cpu_count(), "load_avg_1m": os.getloadavg()[0],
              "in_flight": CONCURRENCY,
              "requests": a.requests}
    proc, url = start_server()
    try:
        engine_requests_per_s(url, 512, a.turns)  # warm-up
        result["redraft_req_per_s"] = round(engine_requests_per_s(url, a.requests, a.turns), 1)
        d = distilabel_requests_per_s(url, a.requests)
        result["distilabel_req_per_s"] = round(d, 1) if isinstance(d, float) else d
        c = curator_requests_per_s(url, a.requests)
        result["curator_req_per_s"] = round(c, 1) if isinstance(c, float) else c
    finally:
        proc.kill()
    peers = [v for v in (result["distilabel_req_per_s"], result["curator_req_per_s"]) if isinstance(v, float)]
    if peers:
        result["speedup_vs_best_peer"] = round(result["redraft_req_per_s"] / max(peers), 2)
    proc, url = start_server("--latency", "0.2")
    try:
        n = 5 * CONCURRENCY * 5  # ~5 s at the ideal rate
        cpu = time.process_time()  # this process only (the stub is a child): the engine's event loop and the caller
        rate = engine_requests_per_s(url, n, a.turns)
        cpu = time.process_time() - cpu
        result["latency_200ms_req_per_s"] = round(rate, 1)
        # the ideal needs ideal_rate x CPU per request <= one core (one event loop): above ~0.7 the loop queues
        # responses and the 200 ms cycle stretches, whatever the concurrency limit
        result["latency_200ms_client_cpu_ms_per_req"] = round(1000 * cpu / n, 3)
        result["latency_200ms_client_core_share"] = round(cpu * rate / n, 2)
        result["latency_200ms_share_of_ideal"] = round(rate / (CONCURRENCY / 0.2), 3)
        rate, cpu_ms = workers_requests_per_s(url, 4 * n, a.turns, workers=2)
        result["latency_200ms_2_workers_req_per_s"] = round(rate, 1)
        result["latency_200ms_2_workers_client_cpu_ms_per_req"] = round(cpu_ms, 3)
        result["latency_200ms_2_workers_share_of_ideal"] = round(rate / (CONCURRENCY / 0.2), 3)
    finally:
        proc.kill()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
