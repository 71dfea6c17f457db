import pytest

from redraft.filters.config import FilterSpec
from redraft.filters.registry import build_filters

from filters_dialogues import FIRST, dialogue


def run(name, docs, **params):
    step = build_filters([FilterSpec(name=name, params=params)], "de", "en", "dialogue")[0]
    return [None if r is True else r[1] for r in step.filter_batch(docs)]


def test_structure():
    good = dialogue([FIRST, "The committee will publish its final report in Geneva next week."],
                    [("polish", {})], system="You are a translator.")
    no_answer = dialogue([FIRST])
    no_answer.metadata["messages"] = no_answer.metadata["messages"][:1]
    swapped_roles = dialogue([FIRST])
    swapped_roles.metadata["messages"] = swapped_roles.metadata["messages"][::-1]
    empty_turn = dialogue(["  "])
    missing_revision = dialogue([FIRST], [("polish", {})])  # a revision recorded but no follow-up turn
    assert run("structure", [good, no_answer, swapped_roles, empty_turn, missing_revision]) == [
        None, "bad_structure", "bad_structure", "bad_structure", "bad_structure"]


def test_every_assistant_turn_in_the_requested_language():
    good = dialogue([FIRST, "Le comité présentera son rapport final à Genève la semaine prochaine."],
                    [("third_language", {"lang": "fr"})])
    wrong_first = dialogue(["Der Ausschuss wird seinen Abschlussbericht nächste Woche in Genf vorlegen, sagte er."])
    wrong_third = dialogue([FIRST, "The committee will present its final report in Geneva next week, he said."],
                           [("third_language", {"lang": "fr"})])
    explained = dialogue([FIRST, "Ich habe „present“ gewählt, weil es im Englischen förmlicher klingt als show."],
                         [("explain", {"word": "present"})])
    assert run("turn_language", [good, wrong_first, wrong_third, explained]) == [None, "turn1_lang_mismatch",
                                                                               "turn2_lang_mismatch", None]


@pytest.mark.parametrize("tgt,first,fmt,answer,expected", [
    # the JSON around the translation is no English: its string values are what the user asked for
    ("zh", "请查收邮件。", "json", '{"translation": "请您查收邮件"}', None),  # WMT22 en-zh
    ("zh", "请查收邮件。", "json", '```json\n{"translation": "很高兴认识您。"}\n```', None),
    ("de", "Hallo zusammen,", "json", '{"translation": "Hallo allesamt,"}', None),
    ("zh", "委员会将于下周在日内瓦提交最终报告。", "json", '{"translation": "The committee reports next week."}',
     "turn2_lang_mismatch"),
    ("de", "Hallo zusammen,", "json", '{"translation": "Hello everyone, how are you all doing today?"}',
     "turn2_lang_mismatch"),
    ("zh", "委员会将于下周在日内瓦提交最终报告。", "quoted", "“委员会下周交报告。”", None),
    ("zh", "委员会将于下周在日内瓦提交最终报告。", "numbered_list", "1. 委员会下周交报告。\n2. 下周报告。\n3. 报告下周交。", None),
    ("zh", "委员会将于下周在日内瓦提交最终报告。", "numbered_list",
     "1. The committee reports next week.\n2. Report due next week.\n3. Next week: the report.", "turn2_lang_mismatch"),
])
def test_a_format_answer_is_in_the_language_asked_for_by_what_it_says(tgt, first, fmt, answer, expected):
    d = dialogue([first, answer], [("format", {"format": fmt})], tgt_lang=tgt, reference=first)
    assert run("turn_language", [d]) == [expected]


def test_refusals_and_meta_talk():
    assert run("refusal", [dialogue([FIRST]), dialogue(["I'm sorry, but I cannot translate this text."]),
                           dialogue(["Here is the translation: " + FIRST]),
                           dialogue([FIRST, "I chose it because... let me know if you need more."],
                                    [("explain", {"word": "chose"})])]) == [
        None, "turn1_refusal", "turn1_meta_talk", None]


@pytest.mark.parametrize("kind,args,answer,expected", [
    ("include_word", {"word": "publish"}, "The committee will publish its final report in Geneva next week.", None),
    ("include_word", {"word": "publish"}, "The committee will release its final report in Geneva next week.",
     "turn2_revision_ignored"),
    ("avoid_word", {"word": "committee"}, "The panel will present its final report in Geneva next week.", None),
    ("avoid_word", {"word": "committee"}, "The Committee will present the final report in Geneva next week.",
     "turn2_revision_ignored"),
    ("shorten", {"max_words": 6}, "Committee report due next week.", None),
    ("shorten", {"max_words": 6}, "The committee will present the report in Geneva next week.",
     "turn2_revision_ignored"),
    ("format", {"format": "numbered_list", "count": 3}, "1. One version.\n2. Two versions.\n3. Three.", None),
    ("format", {"format": "json"}, '{"translation": "The committee reports next week."}', None),
    ("format", {"format": "json"}, "translation: The committee reports next week.", "turn2_revision_ignored"),
    ("polish", {}, FIRST, "turn2_revision_unchanged"),
    ("polish", {}, FIRST.upper(), "turn2_revision_unchanged"),
    ("some_future_kind", {"x": 1}, "Anything different.", None),
])
def test_revision_compliance(kind, args, answer, expected):
    assert run("compliance", [dialogue([FIRST, answer], [(kind, args)])]) == [expected]


def test_compliance_counts_characters_in_unspaced_languages():
    ok = dialogue(["委员会将于下周在日内瓦提交最终报告。", "委员会下周交报告。"], [("shorten", {"max_chars": 10})], tgt_lang="zh")
    too_long = dialogue(["委员会将于下周在日内瓦提交最终报告。", "委员会将于下周在日内瓦提交报告。"], [("shorten", {"max_chars": 10})],
                        tgt_lang="zh")
    assert run("compliance", [ok, too_long]) == [None, "turn2_revision_ignored"]


def test_faithfulness_of_the_first_translation():
    assert run("faithfulness", [dialogue([FIRST]), dialogue(["The weather in Paris was lovely all weekend."]),
                                dialogue(["Committee."])]) == [None, "turn1_unfaithful", "turn1_unfaithful"]


def test_messages_without_languages_or_reference_pass_the_checks_that_need_them():
    d = dialogue(["Whatever the assistant said, in any language: Hallo Welt, wie geht es dir heute?"])
    d.metadata.update(tgt_lang="", reference_text="")
    steps = build_filters("default", "und", "und", "dialogue")
    assert all(s.filter_batch([d]) == [True] for s in steps)
