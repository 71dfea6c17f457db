"""Requests in the user's own language (synth/languages/): every kind in every language, the table of templates
(tests/data/request_templates.md), each template filling in its own language, and the fallback to English."""

from __future__ import annotations

import random
import re
import string
import sys
from pathlib import Path

import pytest
from datatrove.utils.logging import logger

import request_templates as table
from redraft.filters.langid import LanguageIdentifier
from redraft.filters.text import unquoted
from redraft.synth import languages
from redraft.synth.languages import CODES, LANGUAGES, forms, name_forms, writing_language
from redraft.synth.requests import first_request
from redraft.synth.revisions import KINDS, Context, Grammar, content_words, plural

# a sentence in each language, as a source text, and a word of it, as a target-language word
SENTENCES = {
    "en": ("We will meet at the library tomorrow afternoon.", "library"),
    "zh": ("我们明天下午在图书馆见面。", "图书"),
    "de": ("Wir treffen uns morgen Nachmittag in der Bibliothek.", "Bibliothek"),
    "fr": ("Nous nous retrouverons demain après-midi à la bibliothèque.", "bibliothèque"),
    "es": ("Nos veremos mañana por la tarde en la biblioteca.", "biblioteca"),
    "it": ("Ci vediamo domani pomeriggio in biblioteca.", "biblioteca"),
    "pt": ("Vamos nos encontrar amanhã à tarde na biblioteca.", "biblioteca"),
    "ru": ("Мы встретимся завтра днём в библиотеке.", "библиотеке"),
    "uk": ("Ми зустрінемося завтра вдень у бібліотеці.", "бібліотеці"),
    "cs": ("Sejdeme se zítra odpoledne v knihovně.", "knihovně"),
    "ja": ("明日の午後、図書館で会いましょう。", "図書館"),
    "ko": ("내일 오후에 도서관에서 만나요.", "도서관"),
    "ar": ("سنلتقي غدًا بعد الظهر في المكتبة.", "المكتبة"),
}


def templates(lang) -> list[tuple[str, str]]:
    out = [("request", t) for t in lang.requests]
    for kind, ts in lang.revisions.items():
        out += [(kind, t) for t in (sum(ts.values(), []) if isinstance(ts, dict) else ts)]
    return out


@pytest.mark.parametrize("code", CODES)
def test_every_kind_and_variant_is_phrased_and_every_language_named(code):
    lang = LANGUAGES[code]
    assert len(lang.requests) >= 5 and set(lang.revisions) == set(KINDS)
    assert set(lang.revisions["grammar"]) == set(Grammar.variants)
    assert set(lang.revisions["format"]) == set(KINDS["format"].variants)
    assert all(len(ts) >= 2 for k, ts in lang.revisions.items() if k not in ("grammar", "format"))
    assert set(lang.values["register"]) == {"formal", "informal"}
    assert set(lang.values["audience"]) == {"children", "experts", "learners"}
    assert set(lang.values["shorten"]) == {"words", "chars"}
    assert set(CODES) <= set(lang.names)
    assert set(lang.lacks) <= set(Grammar.variants)


@pytest.mark.parametrize("code", CODES)
def test_every_form_a_template_names_exists(code):
    """`{tgt[acc]}` needs an `acc` form in every name of the language (a missing one would read as the plain name)."""
    lang = LANGUAGES[code]
    slots = {"src": lang.names.values(), "tgt": lang.names.values(), "lang": lang.names.values(),
             "value": [v for kind in ("register", "audience") for v in lang.values[kind].values()]}
    for kind, template in templates(lang):
        for _, field, _, _ in string.Formatter().parse(template):
            if field and "[" in field:
                name, form = field.rstrip("]").split("[")
                pool = [v for v in slots[name] if name != "value" or kind in ("register", "audience")]
                pool = [v for v in pool if kind != "register" or v in lang.values["register"].values()]
                pool = [v for v in pool if kind != "audience" or v in lang.values["audience"].values()]
                assert pool and all(isinstance(v, dict) and form in v for v in pool), (code, template, form)


@pytest.fixture(scope="module")
def identifier():
    return LanguageIdentifier()


@pytest.mark.parametrize("code", CODES)
def test_every_template_fills_in_its_own_language(code, identifier):
    """Every template with every value, for pairs with each other language on either side: no slot left, and the
    text less the quoted material (the sentence, the word, the JSON example) is in the writing language by language
    ID (filters/langid.py: scripts first, then fasttext)."""
    lang, texts = LANGUAGES[code], []
    for kind, template in templates(lang):
        for other in CODES:
            if other == code:
                continue
            for src, tgt in ((code, other), (other, code)):
                values = [{}]
                if kind in ("register", "audience"):
                    values = [{"value": forms(v)} for v in lang.values[kind].values()]
                elif kind == "shorten":
                    values = [{"limit": n, "unit": plural(u, code, n)} for u in lang.values["shorten"].values()
                              for n in (2, 3, 5, 21)]
                text, word = SENTENCES[src][0], SENTENCES[tgt][1]
                for extra in values:
                    filled = template.format(src=name_forms(src, code), tgt=name_forms(tgt, code), text=text,
                                             word=word, lang=name_forms(other, code), **extra)
                    own = unquoted(filled, text, word)
                    assert "{" not in own and "}" not in own and "[" not in own, filled
                    texts.append(own)
    texts = list(dict.fromkeys(texts))
    wrong = [t for t, ok in zip(texts, identifier.agrees(texts, [code] * len(texts))) if not ok]
    assert not wrong and len(texts) > 100


def test_the_table_lists_every_template_with_a_gloss_and_is_rendered():
    rows = table.read_rows()
    assert [table.key(r) for r in rows] == [table.key(r) for r in table.code_rows()]
    assert all(r["gloss"].strip() for r in rows)
    assert table.MARKDOWN.read_text(encoding="utf-8") == table.render(rows), \
        "tests/data/request_templates.md is stale: run python tests/request_templates.py"


@pytest.mark.parametrize("code", CODES)
def test_first_request_is_written_in_the_chosen_language(code, identifier):
    other = "ja" if code != "ja" else "en"
    for src, tgt in ((code, other), (other, code)):
        text = SENTENCES[src][0]
        requests = {first_request(random.Random(i), src, tgt, text, code) for i in range(40)}
        assert len(requests) >= 4 and all(text in r for r in requests)
        assert all(identifier.agrees([unquoted(r, text) for r in requests], [code] * len(requests)))


def test_shorten_counts_characters_in_zh_and_ja_and_words_elsewhere():
    for tgt, unit in (("zh", "chars"), ("ja", "chars"), ("ko", "words"), ("ru", "words"), ("ar", "words")):
        text = SENTENCES[tgt][0]
        ctx = Context("en", tgt, SENTENCES["en"][0], text, last_answer=text + " " + text, write_in="en")
        args = KINDS["shorten"].make(random.Random(0), ctx).args
        assert list(args) == [f"max_{unit}"]


@pytest.mark.parametrize("code,limit,phrase", [
    ("ru", 21, "до 21 слова"), ("ru", 3, "до 3 слов"), ("ru", 5, "до 5 слов"),
    ("uk", 21, "до 21 слова"), ("uk", 11, "до 11 слів"),
    ("cs", 3, "na nejvýš 3 slova"), ("cs", 5, "na nejvýš 5 slov"), ("cs", 22, "na nejvýš 22 slov"),
])
def test_the_noun_after_a_limit_agrees_with_the_number(code, limit, phrase):
    ctx = Context("en", "en", "x", "y", last_answer="y", write_in=code)
    texts = {KINDS["shorten"].phrase(random.Random(seed), ctx, {"max_words": limit}) for seed in range(20)}
    assert any(phrase in t for t in texts), texts


@pytest.mark.parametrize("code,src,phrase,wrong", [
    ("cs", "es", "ze španělštiny", "z španělštiny"), ("cs", "de", "z němčiny", "ze němčiny"),
    ("uk", "cs", "із чеської", "з чеської"), ("uk", "de", "з німецької", "із німецької"),
])
def test_the_preposition_before_a_source_language_takes_the_form_its_name_needs(code, src, phrase, wrong):
    requests = [first_request(random.Random(i), src, "ja", "x", code) for i in range(60)]
    assert any(phrase in r for r in requests), requests
    assert not any(re.search(rf"(?<!\w){wrong}", r) for r in requests)


def test_grammar_never_asks_for_a_feature_the_target_lacks():
    drawn = {}
    for tgt in ("zh", "ja", "ko", "ru"):
        ctx = Context("en", tgt, "x", SENTENCES[tgt][0], last_answer=SENTENCES[tgt][0], write_in="en")
        drawn[tgt] = {"=".join(*KINDS["grammar"].make(random.Random(s), ctx).args.items()) for s in range(200)}
    assert drawn["zh"] == set(Grammar.variants) - {"tense=past", "tense=future"}
    assert drawn["ja"] == set(Grammar.variants) - {"tense=future"}
    assert drawn["ko"] == drawn["ru"] == set(Grammar.variants)


@pytest.mark.parametrize("code,names", [
    ("ru", ("на французский", "по-французски")), ("uk", ("французькою",)),
    ("cs", ("do francouzštiny", "francouzsky")), ("ja", ("フランス語",)), ("ko", ("프랑스어로",)),
    ("ar", ("الفرنسية",)), ("fr", ("en français",)), ("it", ("in francese",)), ("es", ("al francés", "en francés")),
])
def test_a_third_language_is_named_in_the_writing_language(code, names):
    ctx = Context("en", "de", "x", "y", last_answer="y", write_in=code)
    texts = {KINDS["third_language"].phrase(random.Random(s), ctx, {"lang": "fr"}) for s in range(20)}
    assert all(any(n in t for n in names) for t in texts), texts


def test_korean_content_words_shed_their_particles():
    words = content_words("내일 오후에 도서관에서 친구를 만나요.", "ko")
    assert "도서관" in words and "친구" in words and not {"도서관에서", "친구를"} & set(words)
    assert content_words("明日の午後、図書館でコンピューターを使います。", "ja")[:3] == ["明日", "午後", "図書"]
    assert "コンピューター" in content_words("明日の午後、図書館でコンピューターを使います。", "ja")


def test_a_language_without_templates_falls_back_to_english_with_one_warning():
    languages._warn_fallback.cache_clear()
    seen = []
    sink = logger.add(lambda m: seen.append(str(m)), level="WARNING")
    try:
        requests = [first_request(random.Random(i), "nl", "en", "Wij zien elkaar morgen.", "nl") for i in range(5)]
        assert writing_language("sv") == "en" and writing_language("pt-BR") == "pt"
    finally:
        logger.remove(sink)
    assert requests == [first_request(random.Random(i), "nl", "en", "Wij zien elkaar morgen.", "en") for i in range(5)]
    assert any("from Dutch to English" in r or "this Dutch sentence" in r for r in requests)
    assert len([m for m in seen if "Dutch (nl)" in m]) == 1 and len([m for m in seen if "for sv:" in m]) == 1


# --- end to end ----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def loopback(tmp_path_factory):
    """benchmarks/request_languages.py's helpers and a loopback teacher (tests/synth_fault_server.py)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import request_languages

    with request_languages.LoopbackTeacher() as port:
        yield request_languages, port


@pytest.mark.parametrize("src,tgt,share", [("ja", "en", 0.5), ("ru", "en", 0.5), ("cs", "en", 0.5), ("uk", "en", 0.5),
                                           ("fr", "de", 0.5), ("en", "ja", 0.5), ("fr", "de", 1.0)])
def test_run_writes_every_request_in_the_source_language_at_the_configured_share(loopback, identifier, tmp_path,
                                                                                 src, tgt, share):
    """`redraft run` with a loopback teacher: in every dialogue all requests are in one language of the pair (by
    language ID, less the source sentence and quoted words), the source language in about the configured share."""
    bench, port = loopback
    pairs = [(f"{SENTENCES[src][0][:-1]} {i}.", f"{SENTENCES[tgt][0][:-1]} {i}.") for i in range(24)]
    rows = bench.run_direction(src, tgt, pairs, share, port, tmp_path / "out", bench.LoopbackTeacher.key_var)
    shares = bench.request_languages(rows, identifier)
    assert shares["n"] == 24 and shares["requests"] == 4 * 24
    assert shares["mixed"] == shares["undecided"] == 0 and shares["requests_in_neither"] == 0
    assert abs(shares["source"] - share) <= 0.25 and shares["source"] + shares["target"] == 1
