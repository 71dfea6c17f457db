"""Recipe sections owned by the synthesis stage: `teacher` (and `user_teacher`) and `synth`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from redraft.synth.endpoint import BaseUrl, redacted

FAIL_FAST_AFTER = 16  # `synth.fail_fast_after` by default; the judge's and the evals' threshold
# with teacher.batch, the documents a task advances together when `synth.max_in_flight` is not set (the judge's
# always): each holds its dialogue so far, a few KB, so 10,000 are some 100 MB; the rest follow in the next wave
BATCH_WINDOW = 10_000


class TeacherConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: Literal["openai", "embedded"] = "openai"
    # None: the openai client's default (api.openai.com). Credentials in it (user:password@, a query key) are sent
    # (synth/endpoint.py) but never written: the config's JSON form and repr show the URL redacted
    base_url: BaseUrl = None
    model: str = "embedded"
    api_key_env: str | None = "OPENAI_API_KEY"  # the name of the variable, never the key itself
    max_concurrency: int = Field(32, ge=1)
    timeout: float = Field(60, gt=0)  # seconds per request
    temperature: float = Field(0.7, ge=0, le=2)
    max_tokens: int = Field(256, ge=1)  # per completion
    max_retries: int = Field(6, ge=0)
    batch_size: int = Field(16, ge=1)  # embedded only: prompts generated together
    # embedded only: torch threads, or `auto`: before every batch, the cores other processes leave free
    # (synth/free_cores.py; a thread team sharing its cores with other work stalls)
    threads: int | Literal["auto"] = "auto"
    requests_per_minute: float | None = Field(None, gt=0)  # client-side limits; x-ratelimit-* headers also apply
    tokens_per_minute: float | None = Field(None, gt=0)
    send_seed: bool = True  # pass a per-request `seed` derived from the item (servers that reject it: false)
    # USD per million tokens, for cost accounting and `synth.max_cost`; None: cost is not tracked
    price_per_million_prompt_tokens: float | None = Field(None, ge=0)
    price_per_million_completion_tokens: float | None = Field(None, ge=0)
    # the Batch API (synth/batch.py; provider openai): each round's requests as batch files, answered within 24 h at
    # batch prices, which are the prices above times `batch_price_factor` unless given explicitly
    batch: bool = False
    batch_price_factor: float = Field(0.5, ge=0)
    batch_price_per_million_prompt_tokens: float | None = Field(None, ge=0)
    batch_price_per_million_completion_tokens: float | None = Field(None, ge=0)
    batch_poll_seconds: float = Field(30, gt=0)  # between status checks; grows while nothing changes (to 10x)
    batch_max_lines: int = Field(50_000, ge=1)  # per batch file (the API's limits: 50,000 lines, 200 MB)
    batch_max_bytes: int = Field(200_000_000, ge=1)

    def __repr_args__(self):  # datatrove's executor.json and logs show steps' configs by their repr
        for name, value in super().__repr_args__():
            yield name, redacted(value) if name == "base_url" else value

    @property
    def where(self) -> str:
        """The server, for messages: the base URL redacted."""
        return redacted(self.base_url) or "api.openai.com"

    def share(self, n: int) -> "TeacherConfig":
        """This teacher's limits for one of `n` processes running at once: a recipe's limits are for the whole run,
        and every datatrove worker has its own client."""
        if n <= 1:
            return self
        return self.model_copy(update={
            "max_concurrency": -(-self.max_concurrency // n),
            "requests_per_minute": self.requests_per_minute and self.requests_per_minute / n,
            "tokens_per_minute": self.tokens_per_minute and self.tokens_per_minute / n})

    @model_validator(mode="after")
    def _threads_at_least_one(self):
        if isinstance(self.threads, int) and self.threads < 1:
            raise ValueError("teacher.threads must be `auto` or at least 1")
        return self

    @model_validator(mode="after")
    def _batch_needs_openai(self):
        if self.batch and self.provider != "openai":
            raise ValueError("teacher.batch: true needs provider 'openai' (a server with /v1/files and /v1/batches)")
        return self

    @model_validator(mode="after")
    def _openai_needs_a_model(self):
        if self.provider == "openai" and self.model == "embedded":
            raise ValueError("teacher.model is required for provider 'openai'")
        return self


class SynthConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    turns: int = Field(3, ge=1, le=16)  # assistant turns: one translation, then turns-1 revisions
    # revision kind -> weight; "default" is the built-in mix (see synth/revisions.py)
    revisions: dict[str, float] | Literal["default"] = "default"
    # share of first requests written in the source language (the rest in the target language)
    request_in_source_language: float = Field(0.5, ge=0, le=1)
    # a third language for the "third_language" revision kind, per source language; "default" picks one
    third_languages: list[str] | Literal["default"] = "default"
    # a system turn opening every dialogue (sent to the teacher and kept in the row); None: no system turn
    system_prompt: str | None = None
    # budget over all teacher calls of the run (cached calls included, so a re-run with the same budget stops at the
    # same place and a larger one goes on); items that need a call past it are rejected as `budget_exhausted`
    max_cost: float | None = Field(None, gt=0)  # USD, needs the teacher's price fields
    max_tokens: int | None = Field(None, ge=1)  # prompt + completion tokens
    # items synthesised at once (a sliding window over the input, so memory stays bounded); None: 4 x concurrency,
    # or with teacher.batch BATCH_WINDOW: the dialogues a task advances together, round by round
    max_in_flight: int | None = Field(None, ge=1)
    # stop the run (TeacherUnavailable) once this many items failed and failures are most of the finished items
    fail_fast_after: int = Field(FAIL_FAST_AFTER, ge=1)

    @model_validator(mode="after")
    def _known_revision_kinds(self):
        from redraft.synth.revisions import resolve_mix

        resolve_mix(self.revisions)  # raises ValueError naming the unknown kinds
        return self
