from redraft.filters.config import DedupeConfig
from redraft.filters.dedupe import build_dedupe

from filters_defects import doc
from filters_dialogues import FIRST, dialogue


def run_steps(steps, docs):
    for step in steps:
        docs = list(step.run(iter(docs)))
    return [d.id for d in docs]


def test_exact_dedupe_after_normalisation_keeps_the_first():
    docs = [doc("de", "en", "Guten Morgen, Welt!", "Good morning, world!", i=0),
            doc("de", "en", "Heute regnet es.", "It is raining today.", i=1),
            doc("de", "en", "guten  morgen welt", "Good morning world", i=2),
            doc("de", "fr", "Guten Morgen, Welt!", "Good morning, world!", i=3)]  # other direction: not a duplicate
    steps = build_dedupe("default", "pair")
    assert run_steps(steps, docs) == ["deen-0", "deen-1", "defr-3"]


def test_dialogue_exact_dedupe_looks_at_turns():
    a, b, c = dialogue([FIRST], i=0), dialogue([FIRST.upper()], i=1), dialogue(["A different answer."], i=2)
    assert run_steps(build_dedupe(DedupeConfig(exact=True), "dialogue"), [a, b, c]) == ["d0", "d2"]


def test_dedupe_off():
    assert build_dedupe(False, "pair") == []
