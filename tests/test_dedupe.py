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


def test_exact_dedupe_does_not_depend_on_batch_size():
    from redraft.filters.dedupe import ExactDedupe

    docs = [doc("de", "en", f"Satz {i % 7}", f"Sentence {i % 7}", i=i) for i in range(30)]
    kept = [run_steps([ExactDedupe(batch_size=b)], docs) for b in (1, 4, 100)]
    assert kept[0] == kept[1] == kept[2] == [f"deen-{i}" for i in range(7)]


def test_sorted_runs_find_the_first_entry_per_prefix_across_merges():
    import numpy as np

    from redraft.filters.sorted_runs import MISSING, SortedRuns

    runs = SortedRuns()
    for batch in range(40):  # enough adds for several merges
        keys = np.arange(batch * 5, batch * 5 + 5, dtype=np.uint64)
        runs.add((keys << np.uint64(32)) | np.uint64(batch))
    runs.add(np.array([(3 << 32) | 99], np.uint64))  # a later entry for key 3 does not replace the first
    assert len(runs.runs) < 10 and len(runs) == 201
    found = runs.first(np.array([3, 199, 200], np.uint64), shift=32)
    assert found[0] == (3 << 32) and found[1] == (199 << 32) | 39 and found[2] == MISSING


def test_near_dedupe_across_signature_blocks(monkeypatch):
    from redraft.filters import minhash

    monkeypatch.setattr(minhash, "BLOCK", 16)  # signatures spread over many storage blocks
    words = [f"w{i}" for i in range(500)]
    texts = [" ".join(words[i * 10:(i + 1) * 10] * 2) for i in range(50)]
    index = minhash.NearDuplicateIndex()
    first = index.check(texts)
    again = index.check([t + " w1" for t in texts[::-1]])  # near copies, checked later and in another order
    assert (first == -1).all() and again.tolist() == list(range(49, -1, -1))
