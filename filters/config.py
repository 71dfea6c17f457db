"""Recipe sections owned by the curation stage: `filters`, `dedupe` and `judge`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from redraft.synth.config import TeacherConfig


class FilterSpec(BaseModel):
    """One filter by its registered name, with keyword parameters (see filters/registry.py)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    params: dict[str, Any] = {}


class DedupeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    exact: bool = True
    near: bool = False  # MinHash LSH near-duplicates
    threshold: float = 0.8  # near duplicates: estimated Jaccard similarity of token-bigram shingles
    num_perm: int = 64
    bands: int = 10
    rows: int = 4


# `default` picks the defaults for the language pair and input kind; `[]` turns filtering off.
FiltersField = Literal["default"] | list[FilterSpec]
# `default` is DedupeConfig(); `false` turns dedupe off.
DedupeField = Literal["default"] | bool | DedupeConfig


class JudgeConfig(BaseModel):
    """An LLM judge that scores each dialogue 1-5 and records the score in the row's `judge` column (filters/judge.py).
    A recipe without a `judge` section has no judge."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    # the recipe's `teacher` or `user_teacher` by name (asked at temperature 0), or a teacher of its own
    teacher: Annotated[Annotated[Literal["teacher", "user_teacher"], Tag("literal[name]")]
                       | Annotated[TeacherConfig, Tag("TeacherConfig")],  # errors from the branch the input is for
                       Discriminator(lambda v: "literal[name]" if isinstance(v, str) else "TeacherConfig")] = "teacher"
    # drop dialogues scored below it (reason `judge_low_score`); those without a score stay
    min_score: float | None = Field(None, ge=1, le=5)
    retries: int = Field(2, ge=0)  # follow-up requests after a reply that is not the JSON verdict asked for
    # the judge's own budget for the whole run (split over its tasks), counted like `synth.max_cost`/`max_tokens`
    # (cached calls included, prices from the judge's teacher); past it, dialogues stay unscored
    max_cost: float | None = Field(None, gt=0)
    max_tokens: int | None = Field(None, gt=0)
