"""A Hugging Face model folder (a `redraft train` final/, say) answering in-process: synth's embedded teacher, which
gathers requests into batches and decodes them greedily, pointed at any chat model folder, and on the GPU (bfloat16,
`generate`) when there is one."""

from __future__ import annotations

import hashlib
from pathlib import Path

from redraft.errors import UsageError
from redraft.synth.embedded_teacher import EmbeddedTeacher
from redraft.synth.teacher import Completion


def weights_fingerprint(folder: Path) -> str:
    """Names, sizes and modification times of the files that make the model: part of every cache key, so a model
    retrained into the same folder is asked again."""
    h = hashlib.blake2b(digest_size=8)
    for f in sorted(folder.iterdir()):
        if f.is_file() and (f.suffix in (".safetensors", ".bin", ".json", ".model", ".txt", ".jinja")):
            st = f.stat()
            h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


class LocalTeacher(EmbeddedTeacher):
    def __init__(self, folder: str | Path, config, name: str | None = None):
        import torch

        super().__init__(config)
        self.folder = Path(folder)
        if not (self.folder / "config.json").is_file():
            raise UsageError(f"{folder}: not a Hugging Face model folder (no config.json)")
        self.model = name or str(self.folder)
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.params = {**self.params, "dtype": "bfloat16" if self.device == "cuda" else "float32",
                       "weights": weights_fingerprint(self.folder)}

    def _load(self):
        if self._lm is None:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer

            torch.set_num_threads(self.config.threads)
            tokenizer = AutoTokenizer.from_pretrained(self.folder)
            if not tokenizer.chat_template:
                raise UsageError(f"{self.folder}: the tokenizer has no chat template; a model under test answers "
                                 "chat requests")
            tokenizer.padding_side = "left"
            if tokenizer.pad_token is None:
                tokenizer.pad_token = tokenizer.eos_token
            dtype = torch.bfloat16 if self.device == "cuda" else torch.float32
            model = AutoModelForCausalLM.from_pretrained(self.folder, dtype=dtype).to(self.device).eval()
            self._lm = (tokenizer, model)
        return self._lm

    def generate(self, conversations: list[list[dict]]) -> list[Completion]:
        if self.device == "cpu":
            return super().generate(conversations)  # synth's greedy loop, which drops finished rows
        import torch

        tokenizer, model = self._load()
        prompts = [tokenizer.apply_chat_template(c, add_generation_prompt=True, tokenize=False) for c in conversations]
        enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        with torch.inference_mode():
            out = model.generate(**enc, do_sample=False, max_new_tokens=self.config.max_tokens,
                                 pad_token_id=tokenizer.pad_token_id)
        completions = []
        for row, mask in zip(out[:, enc["input_ids"].shape[1]:].tolist(), enc["attention_mask"].sum(-1).tolist()):
            tokens = row[:row.index(tokenizer.eos_token_id) + 1] if tokenizer.eos_token_id in row else row
            stopped = bool(tokens) and tokens[-1] == tokenizer.eos_token_id
            completions.append(Completion(tokenizer.decode(tokens, skip_special_tokens=True).strip(), int(mask),
                                          len(tokens), "stop" if stopped else "length"))
        self.batches += 1
        self.generated_tokens += sum(c.completion_tokens for c in completions)
        return completions
