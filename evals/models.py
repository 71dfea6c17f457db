"""Models under test, one interface: `await model.complete(messages, seed=..., row=..., turn=...)` -> Completion.

- a Hugging Face folder (or `embedded`, the built-in SmolLM2-135M-Instruct) in-process: local_model.py;
- any OpenAI-compatible server, through synth's OpenAI teacher (bounded concurrency, rate limits, retries);
- precomputed hypotheses: a text file (one segment a line) or JSONL (BayLing's `hypo` / `response` fields), looked
  up by the suite's row and turn, so released outputs are scored as they are.

The first two sit behind synth's `TeacherCalls`, in front of a response cache in the output folder: a re-run asks
nothing twice. A teacher-backed model also passes for synth's assistant teacher (it has `role`, `model` and
`complete(messages, seed=, position=)`), which is how the interactive suite has it answer synth's own revision requests.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from redraft.errors import InputError, UsageError
from redraft.storage import location
from redraft.synth.cache import ResponseCache
from redraft.synth.calls import Budget, TeacherCalls
from redraft.synth.config import TeacherConfig
from redraft.synth.endpoint import BaseUrl, redacted
from redraft.synth.teacher import Completion

from .segments import read_jsonl, read_lines


class ModelConfig(BaseModel):
    """`--model M` and its options, or the `model:` section of an eval config."""
    model_config = ConfigDict(extra="forbid")

    model: str  # `embedded`, a model folder, a hypotheses file, or the model name a server knows (with base_url)
    base_url: BaseUrl = None  # credentials in it are sent, never written (synth/endpoint.py)
    api_key_env: str | None = "OPENAI_API_KEY"
    max_concurrency: int = Field(8, ge=1)
    max_tokens: int = Field(256, ge=1)  # per answer
    temperature: float = Field(0.0, ge=0, le=2)  # servers only: a local folder always decodes greedily
    timeout: float = Field(120, gt=0)
    batch_size: int = Field(16, ge=1)  # local folders: answers generated together
    threads: int = Field(1, ge=1)  # local folders on the CPU: torch threads


class TeacherModel:
    """A model answered through synth's request layer and response cache."""

    role = "assistant"

    def __init__(self, kind: str, config: TeacherConfig, teacher, cache: ResponseCache, describe: dict):
        self.kind, self.config, self.teacher = kind, config, teacher
        self.calls = TeacherCalls(self.role, config, teacher, cache, Budget())
        self.budget = self.calls.budget
        self._describe = describe

    @property
    def model(self) -> str:  # the name synth's dialogue code records
        return self.teacher.model

    @property
    def name(self) -> str:
        return self.teacher.model

    def describe(self) -> dict:
        return {"name": self.model, "kind": self.kind, "params": self.teacher.params, **self._describe}

    def expect(self, ids: list, data_file) -> None:
        """Hypotheses must cover the suite's rows; a model answers whatever it is asked."""

    async def complete(self, messages: list[dict], *, seed: int, row: int | None = None, turn: int = 0,
                       position: int | None = None) -> Completion:
        return await self.calls.complete(messages, seed=seed, position=position)

    async def close(self) -> None:
        await self.teacher.close()
        self.calls.cache.close()


class HypothesisModel:
    """Precomputed answers, by row (line) and turn. A text file answers turn 0 only; in JSONL a row's `hypo`,
    `hypothesis` or `translation` answers turn 0 and a `response` list answers turn k with its k-th item."""

    kind, role = "hypotheses", "assistant"

    def __init__(self, path: str):
        self.path = location(path)
        self.model = self.name = str(path)
        self.budget = Budget()
        if self.path.suffix.lower() in (".jsonl", ".json"):
            self.lines = None
            self.rows = read_jsonl(self.path)
        else:
            self.lines = read_lines(self.path)
            self.rows = None

    def __len__(self) -> int:
        return len(self.lines if self.lines is not None else self.rows)

    def describe(self) -> dict:
        from .segments import file_digest

        return {"name": self.name, "kind": self.kind, "path": str(self.path), "sha256": file_digest(self.path)}

    def expect(self, ids: list, data_file) -> None:
        if len(self) != len(ids):
            raise UsageError(f"{self.path} has {len(self)} lines but {data_file} has {len(ids)}: the files must be "
                             "line-aligned")
        for (n, row), want in zip(self.rows or [], ids):
            got = row.get("question_id", row.get("id"))
            if got is not None and want is not None and str(got) != str(want):
                raise InputError(str(self.path), n, f"id {got!r} where {data_file} has {want!r} on that line")

    async def complete(self, messages, *, seed: int, row: int | None = None, turn: int = 0,
                       position: int | None = None) -> Completion:
        if row is None:
            raise UsageError(f"{self.path}: precomputed hypotheses cannot answer this suite's requests (they depend "
                             "on earlier answers); evaluate a model")
        if self.lines is not None:
            if turn:
                raise UsageError(f"{self.path}: a text file holds one answer a line; turn {turn + 1} needs JSONL "
                                 "with a `response` list")
            return Completion(self.lines[row], 0, 0)
        n, rec = self.rows[row]
        if isinstance(rec.get("response"), list):
            answers = rec["response"]
        else:
            answers = [next((rec[k] for k in ("hypo", "hypothesis", "translation") if k in rec), None)]
        if turn >= len(answers) or not isinstance(answers[turn], str):
            raise InputError(str(self.path), n, f"no answer for turn {turn + 1} (`hypo`, or a `response` list)")
        return Completion(answers[turn], 0, 0)

    async def close(self) -> None:
        pass


def make_model(config: ModelConfig, cache_dir: Path):
    """The model under test `config.model` names: `embedded`, a folder, a hypotheses file, or (with `base_url`)
    a model on an OpenAI-compatible server."""
    from redraft.synth.openai_teacher import resolve_api_key

    path = location(config.model)
    if config.base_url is None and path.is_file():
        return HypothesisModel(config.model)
    cache = ResponseCache(cache_dir, "model")
    if config.base_url is None:
        from .local_model import LocalTeacher

        local = TeacherConfig(provider="embedded", max_tokens=config.max_tokens, batch_size=config.batch_size,
                              threads=config.threads)
        if config.model == "embedded":
            from redraft.synth.embedded_model import MODEL_NAME, embedded_model_dir

            teacher = LocalTeacher(embedded_model_dir(), local, name=MODEL_NAME)
        elif path.is_dir():
            teacher = LocalTeacher(path, local)
        else:
            raise UsageError(f"--model {config.model}: no such folder or file (a model on a server needs --base-url)")
        return TeacherModel("local", local, teacher, cache, {"device": teacher.device})
    from redraft.synth.openai_teacher import OpenAITeacher

    served = TeacherConfig(provider="openai", model=config.model, base_url=config.base_url,
                           api_key_env=config.api_key_env, max_concurrency=config.max_concurrency,
                           timeout=config.timeout, temperature=config.temperature, max_tokens=config.max_tokens)
    resolve_api_key(served)  # a missing key fails before anything runs
    return TeacherModel("server", served, OpenAITeacher(served), cache, {"base_url": redacted(config.base_url)})
