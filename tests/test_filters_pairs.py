from collections import Counter

import pytest

from redraft.errors import UsageError
from redraft.filters.config import FilterSpec
from redraft.filters.registry import build_filters

from filters_defects import DEFECTS, doc, load_wmt22, planted


@pytest.fixture(scope="module")
def wmt22(shared_data):
    return load_wmt22(shared_data / "wmt22")


@pytest.fixture(scope="module")
def pair_step():
    steps = build_filters("default", "de", "en", "pair")
    assert len(steps) == 1  # the pair checks are fused into one step
    return steps[0]


def reasons(step, docs):
    return [None if r is True else r[1] for r in step.filter_batch(docs)]


def test_clean_wmt22_pairs_are_mostly_kept(wmt22, pair_step):
    docs = [doc(*p, i=i) for i, p in enumerate(wmt22)]
    dropped = Counter(r for r in reasons(pair_step, docs) if r)
    assert sum(dropped.values()) <= 0.05 * len(docs), dropped


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_planted_defect_is_caught_with_its_reason(wmt22, pair_step, defect):
    docs = planted(wmt22, defect, n=30)
    assert len(docs) >= 10
    got = reasons(pair_step, docs)
    assert all(got), [d.metadata["reference_text"][:80] for d, r in zip(docs, got) if not r]
    expected = DEFECTS[defect][1]
    assert sum(r == expected for r in got) >= 0.9 * len(got), Counter(got)


def test_cjk_length_ratio_counts_characters():
    step = build_filters([FilterSpec(name="length_ratio")], "zh", "en", "pair")[0]
    fine = doc("zh", "en", "我们明天早上九点在火车站见面。", "We will meet at the train station at nine tomorrow morning.")
    bad = doc("zh", "en", "我们", "We will meet at the train station at nine tomorrow morning.")
    assert reasons(step, [fine, bad]) == [None, "length_ratio"]


def test_numbers_tolerate_separators_and_full_width_digits():
    step = build_filters([FilterSpec(name="numbers")], "de", "en", "pair")[0]
    same = doc("de", "en", "Es kostet 1.500 Euro seit 2019.", "It has cost 1,500 euros since 2019.")
    wide = doc("zh", "en", "５月２０日", "On May 20")
    changed = doc("de", "en", "Es kostet 1.500 Euro seit 2019.", "It has cost 1,600 euros since 2019.")
    assert reasons(step, [same, wide, changed]) == [None, None, "number_mismatch"]


def test_params_and_unknown_names_are_checked():
    step = build_filters([FilterSpec(name="length", params={"max_words": 3})], "de", "en", "pair")[0]
    assert reasons(step, [doc("de", "en", "eins zwei drei vier fünf", "one two")]) == ["too_long"]
    with pytest.raises(UsageError, match="nope"):
        build_filters([FilterSpec(name="nope")], "de", "en", "pair")
    with pytest.raises(UsageError, match="length"):
        build_filters([FilterSpec(name="length", params={"bogus": 1})], "de", "en", "pair")


def test_defaults_depend_on_languages():
    names = lambda steps: [c.name for c in steps[0].checks]
    assert "language" in names(build_filters("default", "zh", "en", "pair"))
    assert "language" not in names(build_filters("default", "und", "und", "pair"))
    assert build_filters([], "zh", "en", "pair") == []
