"""How the labelled dialogues in tests/data/dialogue_labels.jsonl were made (kept to re-make or extend the set).

    python benchmarks/dialogue_eval_set.py teacher OUT_DIR > teacher.jsonl   # rows of a `redraft run` (filters: [])
    python benchmarks/dialogue_eval_set.py real > real.jsonl                 # dialogues built from real translations

`teacher`: every row of a run's output and rejected folders, as label candidates (`origin: smollm2-135m`).
`real`: good dialogues whose every assistant turn is a real translation of ../shared/data: BayLing-13B's or
GPT-3.5's constrained translation that misses a constraint, then the human reference once the user asks for the
word; GPT-4's WMT22 translation, then the reference when the user asks to avoid a word only GPT-4 used; BayLing-13B,
then GPT-4 when asked to polish; the longer of GPT-4 and the reference, then the shorter when asked to shorten to its
length; three systems as a numbered list; the reference quoted or as JSON; the WMT22 reference of the same English
sentence into a third language; the source as the back-translation. The user's requests are redraft's own templates.
Each row is printed with `label: null`: the labels are written by reading them (see tests/data/dialogue_labels.md).
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

from redraft.synth.requests import first_request
from redraft.synth.revisions import KINDS, Context

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
WMT = DATA / "wmt22"
CONSTRAINED = DATA / "bayling_outputs" / "constrained"


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")


def jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def length(text: str, lang: str) -> int:
    return len(text.replace(" ", "")) if lang in ("zh", "ja") else len(text.split())


class Builder:
    def __init__(self, seed: int = 15):
        self.rng = random.Random(seed)
        self.rows: list[dict] = []

    def dialogue(self, name: str, src_lang: str, tgt_lang: str, source: str, reference: str, first: str,
                 turns: list[tuple[str, dict, str]], write_in: str | None = None, origin: str = "real"):
        """`turns`: (kind, args, answer) per follow-up; the requests are phrased by redraft's templates."""
        rng = random.Random(f"{name}:{source}")
        write_in = write_in or self.rng.choice([src_lang, tgt_lang])
        messages = [{"role": "user", "content": first_request(rng, src_lang, tgt_lang, source, write_in)},
                    {"role": "assistant", "content": first}]
        kinds, args_out = [], []
        for kind, args, answer in turns:
            ctx = Context(src_lang, tgt_lang, source, reference, last_answer=messages[-1]["content"], write_in=write_in)
            messages += [{"role": "user", "content": KINDS[kind].phrase(rng, ctx, args)},
                         {"role": "assistant", "content": answer}]
            kinds.append(kind)
            args_out.append(json.dumps(args, ensure_ascii=False, sort_keys=True))
        self.rows.append({"id": f"{origin}-{name}-{len(self.rows):03d}", "messages": messages, "src_lang": src_lang,
                          "tgt_lang": tgt_lang, "source_text": source, "reference_text": reference,
                          "revisions": kinds, "revision_args": args_out, "teacher": "real-translations",
                          "origin": f"{origin}:{name}", "label": None, "note": ""})

    def closing(self, src_lang: str, tgt_lang: str, source: str, third: dict[str, str],
                kind: str = "") -> list[tuple[str, dict, str]]:
        """Half the dialogues get a third turn: a back-translation (the source) or a third language (its reference).
        Not after `shorten` or `format`: the source says more than a shortened translation, or than one of a list."""
        if self.rng.random() < 0.5 or kind in ("shorten", "format"):
            return []
        if third and self.rng.random() < 0.5:
            lang = self.rng.choice(sorted(third))
            return [("third_language", {"lang": lang}, third[lang])]
        return [("back_translation", {"lang": src_lang}, source)]


def natural_word(constraint: str, lang: str) -> bool:
    """BayLing's constraints are n-grams of the reference ("destruction the", "样本的"); a user asks for a word."""
    if lang == "zh":
        return 2 <= len(constraint) <= 4 and not set(constraint[0] + constraint[-1]) & set("的了在是和与就也都把被给")
    return re.fullmatch(r"[A-Za-z][a-z'-]{3,}", constraint) is not None


def third_languages(src_lang: str, tgt_lang: str, source: str, index: dict) -> dict[str, str]:
    return {lang: refs[source] for (s, lang), refs in index.items()
            if s == src_lang and lang != tgt_lang and source in refs and refs[source].strip()}


def real_rows(n_per_recipe: int = 12) -> list[dict]:
    b = Builder()
    # the same English and German sentences translated into other languages, for third-language answers
    index = {}
    for pair in ("enzh", "ende", "enja", "defr"):
        index[(pair[:2], pair[2:])] = dict(zip(lines(WMT / f"{pair}.src"), lines(WMT / f"{pair}.ref")))

    for direction in ("zh-en.en", "en-zh.zh"):
        s, t = direction[:2], direction[3:5]
        data = jsonl(CONSTRAINED / "data" / f"constraints.{direction}.jsonl")
        for system, kind in (("bayling-13b", "include_word"), ("gpt-3.5-turbo", "error_correction")):
            hypos = jsonl(CONSTRAINED / system / f"hypo.{direction}.jsonl")
            # 131 of GPT-3.5's zh-en outputs lost their first word (a constraint) in BayLing's post-processing
            # ("you for helping."): no teacher writes that, so they are left out
            picks = [h for h in hypos if 4 <= length(h["tgt"], t) <= 60 and h["hypo"].strip()
                     and not (h["hypo"][0].islower() and h["tgt"][0].isupper())
                     and any(c not in h["hypo"] and natural_word(c, t) for c in h["constraint"])]
            for h in b.rng.sample(picks, n_per_recipe):
                word = next(c for c in h["constraint"] if c not in h["hypo"] and natural_word(c, t))
                b.dialogue(f"constrained-{system}-{s}{t}", s, t, h["src"], h["tgt"], h["hypo"],
                           [(kind, {"word": word}, h["tgt"])]
                           + b.closing(s, t, h["src"], third_languages(s, t, h["src"], index)))

    for pair in ("zhen", "deen", "enzh", "ende"):
        s, t = pair[:2], pair[2:]
        src, ref = lines(WMT / f"{pair}.src"), lines(WMT / f"{pair}.ref")
        gpt4 = lines(DATA / "bayling_outputs" / "gpt-4" / f"{s}-{t}.hypo")
        bayling = lines(DATA / "bayling_outputs" / "bayling-13b" / f"{s}-{t}.hypo")
        ok = [i for i in range(len(gpt4)) if gpt4[i].strip() and 6 <= length(ref[i], t) <= 50]

        def add(name, i, first, turns):
            b.dialogue(f"{name}-{pair}", s, t, src[i], ref[i], first,
                       turns + b.closing(s, t, src[i], third_languages(s, t, src[i], index), turns[0][0]))

        from redraft.synth.revisions import content_words
        # avoid a word GPT-4 used that the reference does without: the reference is the rewrite
        cands = [(i, w) for i in ok for w in content_words(gpt4[i], t)[:3] if w.lower() not in ref[i].lower()]
        for i, w in b.rng.sample(cands, 4):
            add("avoid", i, gpt4[i], [("avoid_word", {"word": w}, ref[i])])
        # the reference first, then the word GPT-4 used instead
        cands = [(i, w) for i in ok for w in content_words(gpt4[i], t)[:3] if w.lower() not in ref[i].lower()]
        for i, w in b.rng.sample(cands, 3):
            add("include", i, ref[i], [("include_word", {"word": w}, gpt4[i])])
        # polish: BayLing-13B, then GPT-4
        cands = [i for i in ok if bayling[i].strip() and bayling[i] != gpt4[i]]
        for i in b.rng.sample(cands, 3):
            add("polish", i, bayling[i], [("polish", {}, gpt4[i])])
        # shorten to the length of the shorter of GPT-4 and the reference
        cands = [i for i in ok if min(length(ref[i], t), length(gpt4[i], t))
                 <= 0.8 * max(length(ref[i], t), length(gpt4[i], t))]
        for i in b.rng.sample(cands, 3):
            long_, short = sorted([gpt4[i], ref[i]], key=lambda x: -length(x, t))
            unit = "max_chars" if t in ("zh", "ja") else "max_words"
            add("shorten", i, long_, [("shorten", {unit: length(short, t)}, short)])
        # formats
        for i in b.rng.sample(ok, 3):
            fmt = b.rng.choice(["quoted", "json", "numbered_list"])
            if fmt == "quoted":
                answer, args = f"\"{ref[i]}\"", {"format": "quoted"}
            elif fmt == "json":
                answer, args = json.dumps({"translation": ref[i]}, ensure_ascii=False), {"format": "json"}
            else:
                answer = "\n".join(f"{n}. {x}" for n, x in enumerate(dict.fromkeys([gpt4[i], ref[i], bayling[i]]), 1))
                args = {"format": "numbered_list", "count": 3}
            add("format", i, gpt4[i], [("format", args, answer)])
    written_rows(b)
    return b.rows


# Revisions no system output in ../shared/data answers (register, audience, grammar, explain), written by hand on
# GPT-4's WMT22 translation as turn 1: (pair, line, user's language, kind, args, answer).
HANDWRITTEN = [
    ("deen", 1718, "en", "register", {"register": "formal"},
     "I am afraid that will not be possible; I already explained this several times yesterday."),
    ("enzh", 1397, "zh", "register", {"register": "formal"}, "我赞同您的观点。"),
    ("zhen", 1623, "en", "register", {"register": "informal"},
     "The weirdest part? I use the same credit card every single time I pay."),
    ("ende", 330, "de", "register", {"register": "informal"},
     "Hast du den Link zum Zurücksetzen deines Passworts bekommen?"),
    ("enzh", 1338, "zh", "audience", {"audience": "children"},
     "这可能是好多年来人们在电脑里发现的最危险的一个漏洞，坏人可能会从这个“洞”钻进电脑里。"),
    ("ende", 854, "de", "audience", {"audience": "learners"},
     "Auf einer Straße zwischen zwei Städten hat ein Erdrutsch mehrere Lastwagen eingeschlossen."),
    ("zhen", 99, "en", "audience", {"audience": "experts"}, "Battery enclosure dimensions are as follows:"),
    ("deen", 1968, "en", "audience", {"audience": "children"},
     "You can shine a small lamp through the opening of the B 100 - 6 OHM to check that the seal is tight."),
    ("deen", 196, "en", "grammar", {"tense": "past"}, "Did you know when it would be back in stock?"),
    ("enzh", 703, "zh", "grammar", {"voice": "passive"}, "他说，因为我有打印单，所以轮胎必须按照打印单上的价格被卖给我。"),
    ("deen", 1223, "de", "grammar", {"person": "first_plural"}, "Note: We don't have an oven, just a large pot."),
    ("ende", 1574, "en", "grammar", {"person": "third_singular"},
     "Sie arbeitet in einem Lebensmittelgeschäft und kauft für Abhol- und Lieferbestellungen ein."),
    ("deen", 330, "en", "explain", {"word": "offer"},
     "I used \"offer\" because \"Angebot\" here means the listing the seller has posted, and \"offer\" is the usual "
     "English word for it. In an online shop, \"listing\" would work as well."),
    ("enzh", 325, "en", "explain", {"word": "帐户"},
     "\"帐户\" is the standard word for an account in software interfaces, so it matches what the user sees on the "
     "screen; \"账户\" is an equally common spelling."),
    ("zhen", 997, "en", "explain", {"word": "cautious"},
     "\"慎拍\" literally means \"bid with care\", so I rendered it as \"buyers should be cautious when bidding\": it "
     "keeps the warning of the listing without sounding rude."),
    ("ende", 206, "de", "explain", {"word": "Einnahmen"},
     "„Einnahmen“ gibt „proceeds“ wieder: gemeint ist das Geld, das beim Verkauf zusammenkommt. „Erlöse“ wäre "
     "ebenso richtig und etwas förmlicher."),
]

# What the reviewer of issue 15 saw a 0.5B teacher write, re-enacted on WMT22 zh-en pairs (GPT-4's translation as
# turn 1 unless the failure is in turn 1): (line, user's language, first turn or None, kind, args, answer).
REPORTED = [
    (504, "en", None, "include_word", {"word": "proceeding"}, "It should be 'proceeding'."),
    (1249, "en", None, "error_correction", {"word": "executors"},
     "The translation uses the word 'implementers' instead of 'executors'."),
    (509, "en", None, "include_word", {"word": "enterprises"},
     "Please use the word \"enterprises\" in the translation."),
    (464, "en", "Some netizens think this is a begging behavior to 博眼球, and many netizens expressed sympathy.",
     "polish", {}, "Some netizens see it as begging for 眼球, while many others sympathise."),
    (514, "zh", "捷信 advocates rational consumption to consumers before \"Double Twelve\" - Economic Observer",
     "back_translation", {"lang": "zh"}, "捷信“双十二”前夕向消费者倡导理性消费 - 经济观察网"),
    (501, "en", None, "third_language", {"lang": "es"}, "The Spanish translation is: 'Licenciado.'"),
    (515, "en",
     "This year's \"Double Eleven\" carnival saw 1.77 billion yuan of online payments nationwide, a new high.",
     "include_word", {"word": "festival"},
     "During this year's \"Double Eleven\" festival, online payments nationwide reached 1.77 billion yuan, "
     "a new high."),
]


def written_rows(b: Builder) -> None:
    for pair, i, write_in, kind, args, answer in HANDWRITTEN:
        s, t = pair[:2], pair[2:]
        src, ref = lines(WMT / f"{pair}.src")[i], lines(WMT / f"{pair}.ref")[i]
        first = lines(DATA / "bayling_outputs" / "gpt-4" / f"{s}-{t}.hypo")[i]
        b.dialogue(f"{kind}-{pair}", s, t, src, ref, first, [(kind, args, answer)], write_in, origin="handwritten")
    src, ref = lines(WMT / "zhen.src"), lines(WMT / "zhen.ref")
    gpt4 = lines(DATA / "bayling_outputs" / "gpt-4" / "zh-en.hypo")
    for i, write_in, first, kind, args, answer in REPORTED:
        b.dialogue(f"{kind}-zhen", "zh", "en", src[i], ref[i], first or gpt4[i], [(kind, args, answer)], write_in,
                   origin="reported")
    # the refusal check's false positive the review found, with BayLing-13B's own first turn
    b.dialogue("constrained-bayling-13b-zhen", "zh", "en", "我不能再等了，谢谢", "I can’t wait any longer, thanks.",
               "I can't wait anymore, thanks.",
               [("include_word", {"word": "longer"}, "I can’t wait any longer, thanks.")],
               "en")


def teacher_rows(folder: str) -> list[dict]:
    import pyarrow.parquet as pq

    rows = []
    for sub in ("data", "rejected"):
        for f in sorted(Path(folder, sub).glob("*.parquet")):
            for r in pq.read_table(f).to_pylist():
                r.pop("status", None), r.pop("reason", None), r.pop("judge", None), r.pop("usage", None)
                rows.append(dict(r, origin="smollm2-135m", label=None, note=""))
    return sorted(rows, key=lambda r: r["id"])


if __name__ == "__main__":
    what = sys.argv[1]
    out = real_rows() if what == "real" else teacher_rows(sys.argv[2])
    for row in out:
        print(json.dumps(row, ensure_ascii=False))
