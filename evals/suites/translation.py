"""`translation`: the model translates each source segment (BayLing's prompt by default); corpus BLEU and chrF with
sacrebleu against the references, with their signatures, and sentence scores per segment."""

from __future__ import annotations

from typing import Literal

from redraft.errors import UsageError
from redraft.filters.language_codes import language_pair
from redraft.synth.calls import request_seed
from redraft.synth.errors import TeacherError

from ..generate import run_all
from ..langs import english_name
from ..metrics import corpus_scores, segment_scores
from . import SuiteResult, generation
from .pairs import PairsConfig, read_pairs

BAYLING_PROMPT = "Provide the {tgt} translation for this sentence: {src}"  # BayLing's scripts/translate.py


class Config(PairsConfig):
    suite: Literal["translation"] = "translation"
    prompt: str = BAYLING_PROMPT  # fields: {src}, {tgt} and {src_lang} (English language names)
    system_prompt: str | None = None


def data_files(config: Config) -> list[str]:
    return [p for p in (config.source, config.reference) if p]


def fill(template: str, where: str, **fields) -> str:
    try:
        return template.format(**fields)
    except (KeyError, IndexError, ValueError) as e:
        raise UsageError(f"{where}: {template!r} cannot be filled ({type(e).__name__}: {e}); its fields are "
                         f"{', '.join('{' + k + '}' for k in fields)}") from None


def hypothesis(answer: str) -> str:
    """An answer as a one-line hypothesis, as BayLing's scripts make it: stripped, newlines as spaces."""
    return answer.strip().replace("\n", " ")


def ask(model, env, name: str, requests: list[list[dict]]) -> list:
    """Every request answered (a Completion, or the TeacherError it failed with), turn 0 of row i."""
    coros = [model.complete(m, seed=request_seed(0, f"{name}:{i}", 0, "eval"), row=i) for i, m in enumerate(requests)]
    return run_all(env.loop, coros, name, model.budget)


def score_answers(name: str, requests, outcomes, refs: list[str], tgt: str, kind: str = "translate"):
    """Corpus metrics and generation rows; a failed request counts as an empty hypothesis."""
    hyps = ["" if isinstance(o, TeacherError) else hypothesis(o.text) for o in outcomes]
    corpus = corpus_scores(hyps, refs, tgt)
    segments = segment_scores(hyps, refs, tgt)
    rows = [generation(name, i, 0, kind, m, None if isinstance(o, TeacherError) else o.text, reference=r,
                       error=o.reason if isinstance(o, TeacherError) else None, **s)
            for i, (m, o, r, s) in enumerate(zip(requests, outcomes, refs, segments))]
    metrics = {"n": len(refs), "failed": sum(isinstance(o, TeacherError) for o in outcomes), **corpus.as_dict()}
    return metrics, rows, hyps


def run(config: Config, model, env) -> SuiteResult:
    src_lang, tgt_lang = language_pair(config.langs, f"{config.name}.langs")
    pairs, _ = read_pairs(config)
    model.expect([None] * len(pairs), config.source)
    pairs = pairs[:config.limit]
    system = [{"role": "system", "content": config.system_prompt}] if config.system_prompt else []
    requests = [system + [{"role": "user", "content": fill(config.prompt, f"{config.name}.prompt", src=src,
                                                           tgt=english_name(tgt_lang),
                                                           src_lang=english_name(src_lang))}]
                for src, _ in pairs]
    outcomes = ask(model, env, config.name, requests)
    metrics, rows, _ = score_answers(config.name, requests, outcomes, [ref for _, ref in pairs], tgt_lang)
    return SuiteResult({"langs": config.langs, "prompt": config.prompt, **metrics}, rows)
