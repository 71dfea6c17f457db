"""SmolLM2-135M-Instruct in-process: requests from all dialogue workers are gathered into batches and generated
together (left padding, greedy decoding, fp32) on a worker thread, so the event loop keeps running meanwhile.

One stream does ~18 tokens/s on 2 CPU cores; a batch of 16 shares each forward pass, which is where the throughput
comes from. Greedy decoding is used whatever `temperature` says, so an answer depends only on the prompt (and, in
the last floating-point bits, on which prompts shared its batch: see `tests/test_synth_embedded.py`).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from redraft.synth.embedded_model import MODEL_NAME
from redraft.synth.teacher import Completion

GATHER_SECONDS = 0.02  # how long a batch waits to fill once its first request is in


class EmbeddedTeacher:
    def __init__(self, config):
        self.config = config
        self.model = MODEL_NAME
        self.params = {"decoding": "greedy", "max_tokens": config.max_tokens, "dtype": "float32"}
        self.uses_seed = False  # greedy: the seed does not change the answer
        self.batches = 0
        self.generated_tokens = 0
        self._queue: asyncio.Queue | None = None
        self._batcher: asyncio.Task | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="redraft-embedded")
        self._lm = None

    def _load(self):
        if self._lm is None:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer

            from redraft.synth.embedded_model import embedded_model_dir

            folder = embedded_model_dir()
            tokenizer = AutoTokenizer.from_pretrained(folder)
            tokenizer.padding_side = "left"
            if tokenizer.pad_token is None:
                tokenizer.pad_token = tokenizer.eos_token
            model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
            self._lm = (tokenizer, model)
        return self._lm

    def generate(self, conversations: list[list[dict]]) -> list[Completion]:
        """Blocking: one batched `generate` over whole conversations."""
        import torch

        tokenizer, model = self._load()
        prompts = [tokenizer.apply_chat_template(c, add_generation_prompt=True, tokenize=False) for c in conversations]
        enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=self.config.max_tokens, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
        new = out[:, enc["input_ids"].shape[1]:]
        completions = []
        for row, mask in zip(new.tolist(), enc["attention_mask"].tolist()):
            n = len(row)
            if tokenizer.eos_token_id in row:
                n = row.index(tokenizer.eos_token_id) + 1
            text = tokenizer.decode(row[:n], skip_special_tokens=True).strip()
            completions.append(Completion(text, sum(mask), n, "stop" if n < len(row) or
                                          row[-1] == tokenizer.eos_token_id else "length"))
        self.batches += 1
        self.generated_tokens += sum(c.completion_tokens for c in completions)
        return completions

    async def complete(self, messages, *, seed: int) -> Completion:
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._batcher = asyncio.get_running_loop().create_task(self._run_batches())
        future = asyncio.get_running_loop().create_future()
        await self._queue.put((messages, future))
        return await future

    async def _run_batches(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            deadline = loop.time() + GATHER_SECONDS
            while len(batch) < self.config.batch_size:
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), max(0.0, deadline - loop.time())))
                except TimeoutError:
                    break
            batch = [(m, f) for m, f in batch if not f.cancelled()]
            if not batch:
                continue
            try:
                results = await loop.run_in_executor(self._executor, self.generate, [m for m, _ in batch])
            except Exception as e:  # noqa: BLE001 - every waiting request learns what went wrong
                for _, f in batch:
                    if not f.done():
                        f.set_exception(e)
                continue
            for (_, f), result in zip(batch, results):
                if not f.done():
                    f.set_result(result)

    async def close(self) -> None:
        if self._batcher is not None:
            self._batcher.cancel()
            self._batcher, self._queue = None, None
        self._executor.shutdown(wait=False)
