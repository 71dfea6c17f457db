"""Translation metrics: corpus BLEU and chrF with sacrebleu (its signatures recorded), per-segment scores, and the
lexical-constraint metrics of BayLing's constrained translation test."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sacrebleu.metrics import BLEU, CHRF
from sacrebleu.metrics.base import Score

from redraft.errors import UsageError


@cache
def _mecab_ok() -> bool:
    try:
        from sacrebleu.tokenizers.tokenizer_ja_mecab import TokenizerJaMecab

        TokenizerJaMecab()
    except (ImportError, RuntimeError, OSError):
        return False
    return True


def bleu_tokenizer(tgt_lang: str) -> str:
    """sacrebleu's tokenizer for a target language (the one its command line picks for `-l xx-zh` or `xx-ja`):
    `zh` for Chinese, `ja-mecab` for Japanese, `13a` otherwise (SPEC)."""
    if tgt_lang == "zh":
        return "zh"
    if tgt_lang == "ja":
        if not _mecab_ok():
            raise UsageError("BLEU on Japanese needs MeCab (sacrebleu's ja-mecab tokenizer): "
                             "pip install 'redraft[ja]' (or 'sacrebleu[ja]')")
        return "ja-mecab"
    return "13a"


@dataclass
class CorpusScores:
    bleu: Score
    chrf: Score
    bleu_signature: str
    chrf_signature: str

    def lines(self, width: int = 1) -> list[str]:
        """The lines `sacrebleu REF -i HYP -m bleu chrf -f text -w WIDTH` prints."""
        return [self.bleu.format(width, False, self.bleu_signature),
                self.chrf.format(width, False, self.chrf_signature)]

    def as_dict(self) -> dict:
        return {"bleu": self.bleu.score, "chrf": self.chrf.score, "bleu_signature": self.bleu_signature,
                "chrf_signature": self.chrf_signature,
                "bleu_verbose": getattr(self.bleu, "_verbose", "")}  # n-gram precisions, BP, lengths


def corpus_scores(hyps: list[str], refs: list[str], tgt_lang: str) -> CorpusScores:
    bleu, chrf = BLEU(tokenize=bleu_tokenizer(tgt_lang)), CHRF()
    return CorpusScores(bleu.corpus_score(hyps, [refs]), chrf.corpus_score(hyps, [refs]),
                        bleu.get_signature().format(), chrf.get_signature().format())


def segment_scores(hyps: list[str], refs: list[str], tgt_lang: str) -> list[dict]:
    """Sentence BLEU (effective order, as `sacrebleu --sentence-level` computes it) and sentence chrF."""
    bleu, chrf = BLEU(tokenize=bleu_tokenizer(tgt_lang), effective_order=True), CHRF()
    return [{"bleu": bleu.sentence_score(h, [r]).score, "chrf": chrf.sentence_score(h, [r]).score}
            for h, r in zip(hyps, refs)]


def constraints_found(hyp: str, constraints: list[str]) -> int:
    """How many of the constraints occur verbatim (case-sensitive) in the hypothesis."""
    return sum(c in hyp for c in constraints)


def constraint_scores(hyps: list[str], constraints: list[list[str]]) -> dict:
    """constraint_recall: constraints found over all constraints; all_met: share of segments with every constraint
    found (a segment without constraints has met them all)."""
    found = [constraints_found(h, cs) for h, cs in zip(hyps, constraints)]
    total = sum(len(cs) for cs in constraints)
    return {"constraint_recall": sum(found) / total if total else 1.0,
            "all_met": sum(f == len(cs) for f, cs in zip(found, constraints)) / len(hyps) if hyps else 0.0,
            "constraints": total}
