"""`constrained`: lexically constrained translation, BayLing's test. Each JSONL line is `{src, tgt, constraint:
[...]}`; the model is asked to include the constraints (BayLing's prompt by default); BLEU and chrF against `tgt`,
constraint recall (constraints found verbatim, case-sensitive, over all constraints) and all-met (share of segments
with every constraint found)."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from redraft.errors import InputError
from redraft.filters.language_codes import language_pair
from redraft.synth.errors import TeacherError

from ..langs import english_name
from ..metrics import constraint_scores, constraints_found
from ..segments import read_jsonl
from . import SuiteResult
from .translation import ask, fill, score_answers

# BayLing's scripts/constrained_translate.py
BAYLING_PROMPT = ("Provide the {tgt} translation for this sentence: {src}\n"
                  "Make sure to include these words: {constraints}")


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    suite: Literal["constrained"] = "constrained"
    name: str | None = None
    data: str  # JSONL: {src, tgt, constraint: [str, ...]} a line
    langs: str
    limit: int | None = Field(None, ge=1)
    prompt: str = BAYLING_PROMPT  # fields: {src}, {tgt}, {src_lang}, {constraints} (joined with ", ")
    system_prompt: str | None = None


def data_files(config: Config) -> list[str]:
    return [config.data]


def read_items(path) -> list[dict]:
    items = []
    for n, row in read_jsonl(path):
        ok = (isinstance(row.get("src"), str) and isinstance(row.get("tgt"), str)
              and isinstance(row.get("constraint"), list) and all(isinstance(c, str) and c for c in row["constraint"]))
        if not ok:
            raise InputError(str(path), n, 'expected {"src": str, "tgt": str, "constraint": [non-empty str, ...]}')
        items.append(row)
    return items


def run(config: Config, model, env) -> SuiteResult:
    src_lang, tgt_lang = language_pair(config.langs, f"{config.name}.langs")
    items = read_items(config.data)
    model.expect([None] * len(items), config.data)
    items = items[:config.limit]
    system = [{"role": "system", "content": config.system_prompt}] if config.system_prompt else []
    requests = [system + [{"role": "user", "content": fill(
        config.prompt, f"{config.name}.prompt", src=it["src"], tgt=english_name(tgt_lang),
        src_lang=english_name(src_lang), constraints=", ".join(it["constraint"]))}] for it in items]
    outcomes = ask(model, env, config.name, requests)
    metrics, rows, hyps = score_answers(config.name, requests, outcomes, [it["tgt"] for it in items], tgt_lang,
                                        kind="constrained")
    for row, hyp, it, o in zip(rows, hyps, items, outcomes):
        found = constraints_found(hyp, it["constraint"])
        row["complied"] = None if isinstance(o, TeacherError) else found == len(it["constraint"])
        row["details"] = json.dumps({"constraints": it["constraint"], "found": found}, ensure_ascii=False)
    metrics.update(constraint_scores(hyps, [it["constraint"] for it in items]))
    return SuiteResult({"langs": config.langs, "prompt": config.prompt, **metrics}, rows)
