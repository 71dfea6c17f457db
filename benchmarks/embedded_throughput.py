"""Embedded teacher throughput: aggregate generated tokens/s with batched generation vs one stream at a time.

Requests go through `EmbeddedTeacher.complete` from concurrent coroutines, as the dialogue workers send them, so the
figure includes the gathering into batches. Prints one JSON line.
Run: python benchmarks/embedded_throughput.py [--prompts 64] [--batch-size 64] [--max-tokens 64] [--threads 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from types import SimpleNamespace

SENTENCES = ["我今天很高兴。", "这家小店的饺子很好吃。", "请把窗户关上，外面在下雨。", "他每天骑自行车去上班。",
             "Ich trinke gern Kaffee am Morgen.", "Der Zug kommt heute später an.", "Wir gehen morgen ins Kino.",
             "Das Buch liegt auf dem Tisch."]


def conversations(n: int) -> list[list[dict]]:
    return [[{"role": "user", "content": f"Translate into English: {SENTENCES[i % len(SENTENCES)]}"}]
            for i in range(n)]


async def drive(teacher, convs) -> list:
    return await asyncio.gather(*(teacher.complete(c, seed=i) for i, c in enumerate(convs)))


def main() -> None:
    import torch

    from redraft.synth.embedded_teacher import EmbeddedTeacher

    p = argparse.ArgumentParser()
    p.add_argument("--prompts", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--single", type=int, default=4, help="prompts for the one-stream baseline")
    p.add_argument("--threads", type=int, default=1, help="torch threads (teacher.threads)")
    a = p.parse_args()
    teacher = EmbeddedTeacher(SimpleNamespace(max_tokens=a.max_tokens, batch_size=a.batch_size, threads=a.threads))
    teacher.generate(conversations(1))  # load and warm up

    start = time.perf_counter()
    singles = [teacher.generate([c])[0] for c in conversations(a.single)]
    single_tps = sum(c.completion_tokens for c in singles) / (time.perf_counter() - start)

    batches_before = teacher.batches
    start = time.perf_counter()
    results = asyncio.run(drive(teacher, conversations(a.prompts)))
    elapsed = time.perf_counter() - start
    tokens = sum(c.completion_tokens for c in results)
    print(json.dumps({"benchmark": "embedded_throughput", "cores": os.cpu_count(),
                      "load_avg_1m": os.getloadavg()[0], "torch_threads":
                      torch.get_num_threads(), "prompts": a.prompts, "batch_size": a.batch_size,
                      "max_tokens": a.max_tokens, "batches": teacher.batches - batches_before,
                      "generated_tokens": tokens, "seconds": round(elapsed, 2),
                      "batched_tokens_per_s": round(tokens / elapsed, 1),
                      "single_stream_tokens_per_s": round(single_tps, 1),
                      "speedup": round(tokens / elapsed / single_tps, 2)}))


if __name__ == "__main__":
    main()
