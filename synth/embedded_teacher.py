"""SmolLM2-135M-Instruct in-process: requests from all dialogue workers are gathered into batches and decoded
together (left padding, greedy, fp32) on a worker thread, so the event loop keeps running meanwhile.

One stream does ~18 tokens/s on 2 CPU cores; a batch of 16 shares each forward pass, which is where the throughput
comes from. Greedy decoding is used whatever `temperature` says, so an answer depends only on the prompt (and, in
the last floating-point bits, on which prompts shared its batch: see `tests/test_synth_embedded.py`).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from redraft.synth.embedded_model import MODEL_NAME
from redraft.synth.free_cores import FreeCores
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
        threads = getattr(config, "threads", "auto")
        self._free_cores = FreeCores() if threads == "auto" else None
        self._fixed_threads = None if threads == "auto" else int(threads)
        self.thread_counts: list[int] = []  # the torch threads each batch ran with

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
        """Blocking: one batch of whole conversations, decoded greedily together."""
        import torch

        threads = self._fixed_threads or self._free_cores.threads()
        if torch.get_num_threads() != threads:  # set in the thread that decodes: OpenMP's count is per thread
            torch.set_num_threads(threads)
        self.thread_counts.append(threads)
        tokenizer, model = self._load()
        prompts = [tokenizer.apply_chat_template(c, add_generation_prompt=True, tokenize=False) for c in conversations]
        enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        generated = greedy_decode(model, enc["input_ids"], enc["attention_mask"], self.config.max_tokens,
                                  tokenizer.eos_token_id)
        completions = []
        for tokens, mask in zip(generated, enc["attention_mask"].tolist()):
            stopped = tokens[-1] == tokenizer.eos_token_id
            text = tokenizer.decode(tokens, skip_special_tokens=True).strip()
            completions.append(Completion(text, sum(mask), len(tokens), "stop" if stopped else "length"))
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


def greedy_decode(model, input_ids, attention_mask, max_new_tokens: int, eos_token_id: int) -> list[list[int]]:
    """Greedy decoding of a left-padded batch that drops each row from the batch once it has ended.

    `model.generate` keeps finished rows in every forward pass until the longest answer ends; on a CPU, where the
    cost of a step grows with the rows in it, that wastes about half the work for answers of mixed length. Each
    row's tokens are the ones `generate(do_sample=False)` gives (checked in tests/test_synth_embedded.py).
    """
    import inspect

    import torch
    from transformers import DynamicCache

    cache = DynamicCache(config=model.config)
    # transformers 5.x takes the cache as `cache` (`past_key_values` warns on every call); 4.x only knows the old name
    cache_arg = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
    positions = (attention_mask.cumsum(-1) - 1).clamp(min=0)
    rows = torch.arange(input_ids.shape[0])  # the batch index of each row still decoding
    generated: list[list[int]] = [[] for _ in range(input_ids.shape[0])]
    mask = attention_mask
    with torch.inference_mode():
        logits = model(input_ids=input_ids, attention_mask=mask, position_ids=positions, use_cache=True,
                       logits_to_keep=1, **{cache_arg: cache}).logits
        tokens, position = logits[:, -1].argmax(-1), positions[:, -1]
        for step in range(max_new_tokens):
            for row, token in zip(rows.tolist(), tokens.tolist()):
                generated[row].append(token)
            alive = tokens != eos_token_id
            if step == max_new_tokens - 1 or not alive.any():
                break
            if not alive.all():
                keep = alive.nonzero().squeeze(-1)
                for layer in cache.layers:
                    layer.batch_select_indices(keep)
                rows, tokens, mask, position = rows[keep], tokens[keep], mask[keep], position[keep]
            mask = torch.cat([mask, mask.new_ones(len(rows), 1)], dim=1)
            position = position + 1
            logits = model(input_ids=tokens[:, None], attention_mask=mask, position_ids=position[:, None],
                           use_cache=True, **{cache_arg: cache}).logits
            tokens = logits[:, -1].argmax(-1)
    return generated
