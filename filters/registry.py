"""Filters by registered name, and the defaults per input kind: what a recipe's `filters:` section builds.

Default pair filters, in order (reason names in brackets):
  empty [empty], length [too_short, too_long], non_text [no_letters], mojibake [bad_encoding],
  copied_source [copied_source], repetition [repetition], length_ratio [length_ratio], numbers [number_mismatch],
  urls [url_mismatch], placeholders [placeholder_mismatch], language [lang_mismatch, swapped]
  (language is left out when either language is unknown; copied_source when both languages are the same).
Default dialogue filters, in order (reasons of turn-level checks are prefixed with the failing turn, `turn2_remark`):
  structure [bad_structure], refusal [refusal, meta_talk], rewrite [request_echoed, copied_source, remark,
  repetition, too_short, too_long, not_a_rewrite], source_script [source_script, source_words],
  compliance [revision_ignored, revision_unchanged], faithfulness [unfaithful], turn_language [lang_mismatch].
Not in the defaults: decontaminate [contaminated] (needs evaluation files).
Not a named filter: the LLM judge [judge_low_score] (filters/judge.py), from a recipe's `judge` section.
"""

from __future__ import annotations

from typing import Literal

from datatrove.pipeline.filters.base_filter import BaseFilter

from redraft.errors import UsageError

from .config import FilterSpec, FiltersField
from .decontaminate import Decontaminate
from .dialogue_filters import UNKNOWN_LANGS, Compliance, DialogueFilter, Faithfulness, Refusal, Structure, TurnLanguage
from .pair_filters import DEFAULT_PAIR_CHECKS, PAIR_CHECKS, PairCheck, PairFilters
from .rewrite import Rewrite
from .scripts import SourceScript
from .text import base_lang

DIALOGUE_FILTERS: dict[str, type[DialogueFilter]] = {c.name: c for c in (
    Structure, Refusal, Rewrite, SourceScript, TurnLanguage, Compliance, Faithfulness)}
# cheap checks first: language ID, the one that costs real time, sees only what they keep
DEFAULT_DIALOGUE_FILTERS = ["structure", "refusal", "rewrite", "source_script", "compliance", "faithfulness",
                            "turn_language"]

FILTERS: dict[str, type[BaseFilter]] = {**PAIR_CHECKS, **DIALOGUE_FILTERS, Decontaminate.name: Decontaminate}


def default_specs(src_lang: str, tgt_lang: str, kind: Literal["pair", "dialogue"]) -> list[FilterSpec]:
    if kind == "dialogue":
        return [FilterSpec(name=n) for n in DEFAULT_DIALOGUE_FILTERS]
    src, tgt = base_lang(src_lang or ""), base_lang(tgt_lang or "")
    names = list(DEFAULT_PAIR_CHECKS)
    if src in UNKNOWN_LANGS or tgt in UNKNOWN_LANGS:
        names.remove("language")
    if src == tgt:
        names.remove("copied_source")
    return [FilterSpec(name=n) for n in names]


def _import_filter(name: str) -> type[BaseFilter]:
    """`package.module:ClassName`: a filter of the user's own. Every task imports it, so on a cluster it must be
    importable on every node."""
    import importlib

    module, _, attr = name.partition(":")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise UsageError(f"filter {name!r}: cannot import it ({e})") from None
    if not (isinstance(cls, type) and issubclass(cls, BaseFilter)):
        raise UsageError(f"filter {name!r}: not a datatrove BaseFilter subclass")
    return cls


def make_filter(spec: FilterSpec) -> BaseFilter:
    cls = _import_filter(spec.name) if ":" in spec.name else FILTERS.get(spec.name)
    if cls is None:
        raise UsageError(f"unknown filter {spec.name!r}; known filters: {', '.join(sorted(FILTERS))} (or a "
                         "datatrove filter of your own as module:ClassName)")
    try:
        return cls(**spec.params)
    except (TypeError, ValueError) as e:
        raise UsageError(f"filter {spec.name!r}: bad params {spec.params}: {e}") from None


def build_filters(spec: FiltersField, src_lang: str, tgt_lang: str,
                  kind: Literal["pair", "dialogue"]) -> list[BaseFilter]:
    """The filter steps for a recipe's `filters` field. Consecutive pair checks are fused into one `PairFilters`
    step (one polars pass per batch; the first failing check names the reason)."""
    specs = default_specs(src_lang, tgt_lang, kind) if spec == "default" else list(spec)
    steps: list[BaseFilter] = []
    for s in specs:
        step = make_filter(FilterSpec.model_validate(s) if isinstance(s, dict) else s)
        if isinstance(step, PairCheck):
            if steps and isinstance(steps[-1], PairFilters):
                steps[-1].checks.append(step)
                continue
            step = PairFilters([step])
        steps.append(step)
    return steps
