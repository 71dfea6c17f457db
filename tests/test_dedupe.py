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


def test_near_dedupe_short_and_cjk_texts_keep_the_first():
    docs = [doc("zh", "en", "我们明天早上九点在火车站见面吧", "Let's meet at the train station at nine tomorrow morning.", i=0),
            doc("zh", "en", "我们明天早上九点在火车站见面吧。", "Let us meet at the train station at nine tomorrow morning.", i=1),
            doc("zh", "en", "今天的天气非常好，适合去公园散步", "The weather is lovely today, good for a walk in the park.", i=2),
            doc("de", "en", "Danke", "Thanks", i=3), doc("de", "en", "Danke!", "Thanks!", i=4),
            doc("de", "en", "Bitte", "Please", i=5)]
    steps = build_dedupe(DedupeConfig(exact=False, near=True), "pair")
    assert run_steps(steps, docs) == ["zhen-0", "zhen-2", "deen-3", "deen-5"]


def test_near_dedupe_does_not_depend_on_batch_size():
    import random

    from redraft.filters.minhash import NearDedupe

    rng = random.Random(0)
    words = [f"w{i}" for i in range(300)]
    base = [" ".join(rng.choices(words, k=20)) for _ in range(200)]
    texts = base + [t + " extra" for t in base[:50]]
    rng.shuffle(texts)
    docs = [doc("de", "en", t, t, i=i) for i, t in enumerate(texts)]
    kept = [run_steps([NearDedupe(batch_size=b)], docs) for b in (1, 7, 4096)]
    assert kept[0] == kept[1] == kept[2]
    assert len(kept[0]) <= 205  # about 50 planted near-duplicates dropped
