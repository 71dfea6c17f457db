"""The suites, each a module with a pydantic `Config` (its `suite:` section) and `run(config, model, env)`, which
returns a `SuiteResult`: the metrics for results.json, one row per answer for generations.parquet, and the
breakdowns the report tabulates."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from redraft.synth.teacher_step import LoopThread


@dataclass
class Env:
    loop: LoopThread  # where requests run
    state_dir: Path  # the output folder's .redraft/: response caches of the judges


@dataclass
class SuiteResult:
    metrics: dict
    rows: list[dict]
    tables: dict[str, dict] = field(default_factory=dict)  # title -> {row label: {column: value}}


def generation(suite: str, row: int, turn: int, kind: str, messages: list[dict], answer: str | None, *,
               id: str | None = None, reference: str | None = None, error: str | None = None,
               bleu: float | None = None, chrf: float | None = None, complied: bool | None = None,
               language_ok: bool | None = None, details: dict | None = None) -> dict:
    """One row of generations.parquet: a request (the whole conversation sent), its answer and its scores."""
    return {"suite": suite, "row": row, "id": id, "turn": turn, "kind": kind, "messages": messages,
            "answer": answer, "reference": reference, "error": error, "bleu": bleu, "chrf": chrf,
            "complied": complied, "language_ok": language_ok,
            "details": json.dumps(details, ensure_ascii=False) if details is not None else None}


def suite_modules() -> dict:
    from . import bayling80, constrained, interactive, translation

    return {"translation": translation, "constrained": constrained, "interactive": interactive,
            "bayling80": bayling80}
