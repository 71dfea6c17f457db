"""`interactive`: multi-turn translation sessions built from a parallel test set with redraft's own revision
taxonomy. Each session is synthesised by synth's dialogue code, with the model under test as the assistant: the same
opening requests, revision requests and per-item seeds as a `redraft run` with this seed, the model answering every
turn with the whole history. Every answer is then scored by the checks curation uses (filters/compliance.py: include
or avoid a word, length limits, formats; the language of the answer by language ID, which is also what a
third-language or back-translation request is checked by), plus BLEU and chrF of the first translation."""

from __future__ import annotations

from collections import defaultdict
from typing import Literal

from pydantic import Field

from redraft.errors import UsageError
from redraft.filters.compliance import check_revision, expected_language, parse_args
from redraft.filters.langid import LanguageIdentifier
from redraft.filters.language_codes import language_id_is_off, language_pair
from redraft.synth.config import SynthConfig
from redraft.synth.dialogue import synthesize_dialogue
from redraft.synth.errors import TeacherError
from redraft.synth.revisions import resolve_mix
from redraft.types import ParallelPair

from ..generate import run_all
from ..metrics import corpus_scores, segment_scores
from . import SuiteResult, generation
from .pairs import PairsConfig, read_pairs
from .translation import hypothesis

# kinds whose compliance check is only that the answer changed (filters/compliance.py has no finer check for them)
CHANGED_ONLY = {"register", "audience", "grammar", "polish"}


class Config(PairsConfig):
    suite: Literal["interactive"] = "interactive"
    seed: int = 0  # per-session randomness: seed and pair, as in a recipe
    turns: int = Field(3, ge=2, le=16)  # assistant turns: the translation, then turns-1 revisions
    revisions: dict[str, float] | Literal["default"] = "default"  # revision kind -> weight (synth's mix)
    request_in_source_language: float = Field(0.5, ge=0, le=1)
    system_prompt: str | None = None


def data_files(config: Config) -> list[str]:
    return [p for p in (config.source, config.reference) if p]


def run(config: Config, model, env) -> SuiteResult:
    src_lang, tgt_lang = language_pair(config.langs, f"{config.name}.langs")
    if model.kind == "hypotheses":
        raise UsageError(f"{config.name}: the interactive suite's requests depend on the model's earlier answers, "
                         "so precomputed hypotheses cannot answer them")
    try:
        synth = SynthConfig(turns=config.turns, revisions=config.revisions, system_prompt=config.system_prompt,
                            request_in_source_language=config.request_in_source_language)
    except ValueError as e:
        raise UsageError(f"{config.name}: {e}") from None
    pairs = [ParallelPair.make(src_lang, tgt_lang, s, r) for s, r in read_pairs(config)[0][:config.limit]]
    mix = resolve_mix(synth.revisions)
    coros = [synthesize_dialogue(p, seed=config.seed, synth=synth, mix=mix, assistant=model) for p in pairs]
    dialogues = run_all(env.loop, coros, config.name, model.budget)
    return score_sessions(config.name, pairs, dialogues, tgt_lang)


def score_sessions(name: str, pairs: list[ParallelPair], dialogues: list, tgt_lang: str) -> SuiteResult:
    rows, firsts, checks = [], [], []  # checks: (row, kind, args, previous, answer, language) per revision turn
    for i, (pair, d) in enumerate(zip(pairs, dialogues)):
        if isinstance(d, TeacherError):
            rows.append(generation(name, i, 0, "translate", [], None, id=pair.id, reference=pair.reference_text,
                                   error=d.reason))
            firsts.append("")
            continue
        turns, history = [], []
        for m in d.messages:
            if m["role"] == "assistant":
                turns.append((list(history), m["content"]))
            history.append(m)
        firsts.append(hypothesis(turns[0][1]))
        rows.append(generation(name, i, 0, "translate", turns[0][0], turns[0][1], id=pair.id,
                               reference=pair.reference_text))
        checks.append((rows[-1], "translate", {}, None, turns[0][1], tgt_lang))
        for t, (kind, raw) in enumerate(zip(d.revisions, d.revision_args), 1):
            args = parse_args(raw)
            rows.append(generation(name, i, t, kind, turns[t][0], turns[t][1], id=pair.id,
                                   details={"args": args}))
            checks.append((rows[-1], kind, args, turns[t - 1][1], turns[t][1], expected_language(kind, args, tgt_lang)))

    # the language of every answer, in one batch
    judged = [(row, answer, lang) for row, _, _, _, answer, lang in checks if lang and not language_id_is_off(lang)]
    verdicts = LanguageIdentifier().agrees([a for _, a, _ in judged], [lang for _, _, lang in judged]) if judged else []
    for (row, _, _), ok in zip(judged, verdicts):
        row["language_ok"] = bool(ok)
    per_kind = defaultdict(lambda: [0, 0])
    for row, kind, args, previous, answer, _ in checks:
        if kind == "translate":
            continue
        reason = check_revision(kind, args, previous, answer, tgt_lang)
        row["complied"] = reason is None and row["language_ok"] is not False
        per_kind[kind][0] += 1
        per_kind[kind][1] += row["complied"]

    refs = [p.reference_text for p in pairs]
    corpus = corpus_scores(firsts, refs, tgt_lang)
    for row, s in zip((r for r in rows if r["turn"] == 0), segment_scores(firsts, refs, tgt_lang)):
        row.update(s)
    revisions = sum(n for n, _ in per_kind.values())
    langs_checked = [r["language_ok"] for r in rows if r["language_ok"] is not None]
    by_turn = defaultdict(list)
    for r in rows:
        if r["language_ok"] is not None:
            by_turn[r["turn"]].append(r["language_ok"])
    metrics = {"langs": f"{pairs[0].src_lang}-{tgt_lang}" if pairs else None, "n": len(pairs),
               "failed": sum(isinstance(d, TeacherError) for d in dialogues),
               "compliance": sum(k for _, k in per_kind.values()) / revisions if revisions else None,
               "revisions": revisions,
               "language_ok": sum(langs_checked) / len(langs_checked) if langs_checked else None,
               "first_turn_bleu": corpus.bleu.score, "first_turn_chrf": corpus.chrf.score,
               "bleu_signature": corpus.bleu_signature, "chrf_signature": corpus.chrf_signature,
               "compliance_by_kind": {k: c / n for k, (n, c) in sorted(per_kind.items())},
               "language_ok_by_turn": {str(t): sum(v) / len(v) for t, v in sorted(by_turn.items())}}
    table = {k: {"requests": n, "complied": c / n, "check": "changed only" if k in CHANGED_ONLY else "mechanical"}
             for k, (n, c) in sorted(per_kind.items())}
    return SuiteResult(metrics, rows, {"compliance per revision kind": table})
