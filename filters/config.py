"""Recipe sections owned by the curation stage: `filters` and `dedupe`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


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
