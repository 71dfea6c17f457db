"""Hand-made dialogues for the dialogue filter tests."""

from __future__ import annotations

import json

from datatrove.data import Document

SOURCE = "Der Ausschuss wird seinen Abschlussbericht nächste Woche in Genf vorlegen."
REFERENCE = "The committee will present its final report in Geneva next week."
FIRST = "The committee will present its final report next week in Geneva."


def dialogue(answers: list[str], revisions: list[tuple[str, dict]] = (), requests: list[str] | None = None,
             tgt_lang: str = "en", system: str | None = None, i: int = 0, source: str = SOURCE,
             reference: str = REFERENCE, src_lang: str = "de") -> Document:
    requests = requests or [f"Please revise ({k})." for k, _ in revisions]
    msgs = [{"role": "system", "content": system}] if system else []
    msgs.append({"role": "user", "content": f"Translate into English: {source}"})
    msgs.append({"role": "assistant", "content": answers[0]})
    for req, ans in zip(requests, answers[1:]):
        msgs += [{"role": "user", "content": req}, {"role": "assistant", "content": ans}]
    return Document(text=source, id=f"d{i}", metadata={
        "messages": msgs, "src_lang": src_lang, "tgt_lang": tgt_lang, "reference_text": reference,
        "revisions": [k for k, _ in revisions], "revision_args": [json.dumps(a) for _, a in revisions],
        "teacher": "test", "usage": {"prompt_tokens": 0, "completion_tokens": 0}})
