import pytest

from redraft.errors import UsageError
from redraft.filters.config import FilterSpec
from redraft.filters.registry import build_filters

from filters_defects import doc
from filters_dialogues import dialogue


def test_wmt22_references_and_bayling80_are_caught(shared_data):
    wmt = shared_data / "wmt22"
    step = build_filters([FilterSpec(name="decontaminate", params={"paths": [str(wmt / "zhen.ref"), str(wmt / "zhen.src"),
                                                                             str(shared_data / "bayling80")]})],
                         "zh", "en", "dialogue")[0]
    src = (wmt / "zhen.src").read_text(encoding="utf-8").splitlines()
    ref = (wmt / "zhen.ref").read_text(encoding="utf-8").splitlines()
    leaked_ref = doc("zh", "en", "这是一个完全不同的中文句子，和测试集无关。", ref[10] + " Indeed.")
    leaked_src = doc("zh", "en", src[20], "Something unrelated to the test set entirely, said nobody.")
    clean = doc("zh", "en", "这是一个完全不同的中文句子，和测试集无关。", "This is a completely different sentence, unrelated to tests.")
    bayling = dialogue(["Fine."], requests=[])
    bayling.metadata["messages"][0]["content"] = "我该如何提高我的时间管理技能？"
    results = [step.filter(d) for d in (leaked_ref, leaked_src, clean, bayling)]
    assert results == [(False, "contaminated"), (False, "contaminated"), True, (False, "contaminated")]


def test_missing_eval_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="not found"):
        build_filters([FilterSpec(name="decontaminate", params={"paths": [str(tmp_path / "nope.txt")]})],
                      "de", "en", "pair")
