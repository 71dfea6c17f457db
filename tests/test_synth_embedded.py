"""The embedded teacher (SmolLM2-135M-Instruct in-process): batched generation, and what batching does to answers."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from redraft.recipes.schema import Recipe
from redraft.synth.dialogue import SynthesizeDialogues
from redraft.types import ParallelPair, document_to_dialogue, pair_to_document

pytestmark = pytest.mark.slow

PROMPTS = ["Translate into English: 我今天很高兴。",
           "Übersetze ins Englische: Ich trinke gern Kaffee am Morgen, bevor ich zur Arbeit gehe.",
           "Translate into English: 这家小店的饺子很好吃。"]


@pytest.fixture(scope="module")
def teacher(smollm2_dir):
    from redraft.synth.embedded_teacher import EmbeddedTeacher

    return EmbeddedTeacher(SimpleNamespace(max_tokens=12, batch_size=8))


def test_answers_do_not_depend_on_the_batch(teacher):
    convs = [[{"role": "user", "content": p}] for p in PROMPTS]
    alone = [teacher.generate([c])[0] for c in convs]
    together = teacher.generate(convs)
    reversed_ = teacher.generate(convs[::-1])[::-1]
    assert [c.text for c in alone] == [c.text for c in together] == [c.text for c in reversed_]
    assert [c.completion_tokens for c in alone] == [c.completion_tokens for c in together]
    assert all(c.text and 0 < c.completion_tokens <= 12 for c in alone)
    assert [c.prompt_tokens for c in alone] == [c.prompt_tokens for c in together]  # padding is not counted


def test_decoding_matches_generate(teacher):
    import torch

    from redraft.synth.embedded_teacher import greedy_decode

    tokenizer, model = teacher._load()
    prompts = [tokenizer.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True,
                                             tokenize=False) for p in PROMPTS]
    enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    ours = greedy_decode(model, enc["input_ids"], enc["attention_mask"], 12, tokenizer.eos_token_id)
    with torch.inference_mode():
        out = model.generate(**enc, max_new_tokens=12, do_sample=False, pad_token_id=tokenizer.pad_token_id,
                             eos_token_id=tokenizer.eos_token_id)
    for row, tokens in zip(out[:, enc["input_ids"].shape[1]:].tolist(), ours):
        assert row[:len(tokens)] == tokens
        assert all(t == tokenizer.pad_token_id for t in row[len(tokens):])  # generate only padded after the end


def test_step_with_the_embedded_teacher_batches_dialogue_turns(tmp_path, smollm2_dir):
    recipe = Recipe.model_validate({
        "name": "t", "source": {"path": "x", "src_lang": "zh", "tgt_lang": "en"}, "output": {"path": "x"},
        "teacher": {"provider": "embedded", "max_tokens": 12, "batch_size": 8}, "synth": {"turns": 2}})
    pairs = [ParallelPair.make("zh", "en", s, t) for s, t in [("我今天很高兴。", "I am very happy today."),
                                                               ("天气很冷。", "The weather is cold."),
                                                               ("他明天去北京。", "He goes to Beijing tomorrow."),
                                                               ("这本书很有意思。", "This book is interesting.")]]
    step = SynthesizeDialogues(recipe, str(tmp_path))
    rows = [document_to_dialogue(d) for d in step.run(iter(pair_to_document(p) for p in pairs))]
    assert [r.id for r in rows] == [p.id for p in pairs]
    for r in rows:
        assert [m["role"] for m in r.messages] == ["user", "assistant"] * 2 and r.messages[1]["content"]
        assert r.teacher == "SmolLM2-135M-Instruct"
    # two turns for each of the four dialogues; a re-run takes all of them from the cache
    assert step.stats["requests"].total == 8
    again = SynthesizeDialogues(recipe, str(tmp_path))
    assert [document_to_dialogue(d) for d in again.run(iter(pair_to_document(p) for p in pairs))] == rows
    assert again.stats["cached_requests"].total == 8
