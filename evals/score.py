"""`redraft eval score`: hypothesis files scored against references, as the sacrebleu command line scores them,
plus constraint recall and all-met when a constraints file is given."""

from __future__ import annotations

from redraft.errors import InputError
from redraft.filters.language_codes import language_pair

from .metrics import CorpusScores, constraint_scores, corpus_scores
from .segments import read_jsonl, read_lines, same_length


def read_constraints(path) -> list[list[str]]:
    """Line-aligned JSONL, each line {"constraint": [str, ...]} (BayLing's field name)."""
    out = []
    for n, row in read_jsonl(path):
        value = row.get("constraint")
        if not isinstance(value, list) or not all(isinstance(c, str) and c for c in value):
            raise InputError(str(path), n, '"constraint" must be a list of non-empty strings')
        out.append(value)
    return out


def score_files(hyp: str, ref: str, langs: str, constraints: str | None = None) -> tuple[dict, CorpusScores]:
    """The scores as a dict (SPEC: n, bleu, chrf, their signatures, and the constraint metrics) and sacrebleu's
    score objects (which print themselves the way its command line does)."""
    _, tgt = language_pair(langs)
    hyps, refs = read_lines(hyp), read_lines(ref)
    same_length(hyps, hyp, refs, ref)
    cons = None
    if constraints:
        cons = read_constraints(constraints)
        same_length(hyps, hyp, cons, constraints)
    scores = corpus_scores(hyps, refs, tgt)
    result = {"n": len(hyps), **scores.as_dict(), "hyp": str(hyp), "ref": str(ref), "langs": langs}
    if cons is not None:
        result.update(constraint_scores(hyps, cons))
    return result, scores
