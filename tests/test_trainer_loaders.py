"""Exports loaded by the trainers' own code: `datasets` always; FastChat, LLaMA-Factory and axolotl when installed
(`pip install --no-deps fschat llamafactory peft omegaconf antlr4-python3-runtime==4.9.3 axolotl addict`; each test
skips otherwise). The tokenizer is SmolLM2's, from the embedded teacher."""

import importlib.machinery
import importlib.util
import json
import sys
import types

import datasets
import pytest

from conftest import ZH_EN, write_dialogue_dir
from redraft.cli import main
from redraft.export import axolotl_dataset

SYSTEM = "You are a careful translator."


@pytest.fixture(scope="module")
def dialogues(tmp_path_factory):
    """An output folder of zh-en dialogues (half with a revision turn) and its rows' turns."""
    import pyarrow.parquet as pq

    out = write_dialogue_dir(tmp_path_factory.mktemp("loaders") / "zh-en", ZH_EN, "zh", "en", "zh-en-test")
    return out, [r["messages"] for r in pq.read_table(out / "data").to_pylist()]


@pytest.fixture(scope="module")
def with_system(tmp_path_factory, dialogues):
    """The same dialogues as a messages file whose first row opens with a system turn."""
    out, turns = dialogues
    path = tmp_path_factory.mktemp("system") / "chat.jsonl"
    turns = [[{"role": "system", "content": SYSTEM}, *turns[0]], *turns[1:]]
    path.write_text("".join(json.dumps({"id": f"r{i}", "messages": t}, ensure_ascii=False) + "\n"
                            for i, t in enumerate(turns)), encoding="utf-8")
    return path, turns


def export(src, fmt, out):
    assert main(["export", str(src), "--format", fmt, "-o", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def tokenizer(smollm2_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smollm2_dir)


def assert_turns_in_order(text: str, turns: list[dict]):
    at = 0
    for t in turns:
        at = text.find(t["content"], at)
        assert at >= 0, f"{t} missing from {text!r}"
        at += len(t["content"])


@pytest.mark.parametrize("fmt", ["sharegpt", "alpaca", "messages"])
@pytest.mark.parametrize("name", ["train.json", "train.jsonl", "train.parquet"])
def test_datasets_loads_every_export(tmp_path, dialogues, fmt, name):
    out, turns = dialogues
    path = export(out, fmt, tmp_path / name)
    ds = datasets.load_dataset("parquet" if name.endswith(".parquet") else "json", data_files=str(path),
                               split="train")
    assert len(ds) == len(turns) and ds[0]["id"] == "zh-en-test-0-0"
    if fmt == "sharegpt":
        assert [[t["value"] for t in c] for c in ds["conversations"]] == [[t["content"] for t in m] for m in turns]
    elif fmt == "alpaca":
        assert ds["output"] == [m[-1]["content"] for m in turns]
        assert [len(h) for h in ds["history"]] == [len(m) // 2 - 1 for m in turns]
    else:
        assert ds["messages"] == turns


def test_fastchat_reads_the_sharegpt_export(tmp_path, dialogues, smollm2_dir):
    train = pytest.importorskip("fastchat.train.train", reason="FastChat (fschat) is not installed")
    from transformers import AutoTokenizer

    out, turns = dialogues
    path = export(out, "sharegpt", tmp_path / "sharegpt") / "train.json"
    raw = json.load(open(path))  # what make_supervised_data_module does with --data_path
    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir, model_max_length=256)  # it pads to this length
    # a LlamaTokenizer flag its preprocess reads; its label masking counts Llama tokens, so only the prompts it
    # builds (the vicuna template) are checked here
    tokenizer.legacy = False
    ds = train.LazySupervisedDataset(raw, tokenizer=tokenizer)
    assert len(ds) == len(turns)
    for i, messages in enumerate(turns):
        ex = ds[i]
        text = tokenizer.decode(ex["input_ids"][ex["attention_mask"]])
        assert "USER: " + messages[0]["content"] in text and "ASSISTANT: " + messages[1]["content"] in text
        assert_turns_in_order(text, messages)


def _import_llamafactory(monkeypatch):
    if importlib.util.find_spec("llamafactory") is None:
        pytest.skip("LLaMA-Factory (llamafactory) is not installed")
    monkeypatch.setenv("DISABLE_VERSION_CHECK", "1")  # it pins transformers<=5.6; its data code runs on ours
    if importlib.util.find_spec("torchaudio") is None:
        # imported at module level for audio inputs only; no torchaudio wheel matches our torch
        stub = types.ModuleType("torchaudio")
        stub.__spec__ = importlib.machinery.ModuleSpec("torchaudio", None)
        monkeypatch.setitem(sys.modules, "torchaudio", stub)
    try:
        from llamafactory.data import get_dataset, get_template_and_fix_tokenizer
        from llamafactory.hparams import DataArguments, ModelArguments
    except ImportError as e:
        pytest.skip(f"LLaMA-Factory's data code does not import here: {e}")
    return get_dataset, get_template_and_fix_tokenizer, DataArguments, ModelArguments


@pytest.mark.parametrize("fmt", ["sharegpt", "alpaca", "messages"])
def test_llamafactory_reads_the_export_folder(tmp_path, monkeypatch, with_system, tokenizer, smollm2_dir, fmt):
    get_dataset, get_template, DataArguments, ModelArguments = _import_llamafactory(monkeypatch)
    from transformers import Seq2SeqTrainingArguments

    src, turns = with_system
    folder = export(src, fmt, tmp_path / fmt)
    name = list(json.loads((folder / "dataset_info.json").read_text()))[0]
    data_args = DataArguments(dataset=name, dataset_dir=str(folder), template="default", cutoff_len=512,
                              overwrite_cache=True)
    template = get_template(tokenizer, data_args)
    module = get_dataset(template, ModelArguments(model_name_or_path=str(smollm2_dir)), data_args,
                         Seq2SeqTrainingArguments(output_dir=str(tmp_path / "lf"), report_to=[]), "sft", tokenizer)
    ds = module["train_dataset"]
    assert len(ds) == len(turns)  # it drops examples whose roles do not alternate: none was dropped
    for ex, messages in zip(ds, turns):
        assert_turns_in_order(tokenizer.decode(ex["input_ids"]), messages)
        trained = tokenizer.decode([t for t in ex["labels"] if t != -100])
        assert_turns_in_order(trained, [m for m in messages if m["role"] == "assistant"])
        assert not any(m["content"] in trained for m in messages if m["role"] != "assistant")


@pytest.mark.parametrize("fmt", ["sharegpt", "messages"])
def test_axolotl_chat_template_reads_the_export(tmp_path, with_system, tokenizer, fmt):
    chat_template = pytest.importorskip("axolotl.prompt_strategies.chat_template",
                                        reason="axolotl is not installed")
    from axolotl.utils.dict import DictDefault

    src, turns = with_system
    path = export(src, fmt, tmp_path / "train.jsonl")
    entry = axolotl_dataset(fmt, str(path))  # the `datasets:` entry the README shows
    rows = datasets.load_dataset(entry["ds_type"], data_files=entry["path"], split="train")
    cfg = DictDefault({"chat_template": "tokenizer_default", "sequence_len": 512, "train_on_inputs": False})
    strategy = chat_template.load(tokenizer, cfg, entry)
    for row, messages in zip(rows, turns, strict=True):
        ex = strategy.tokenize_prompt(row)
        assert_turns_in_order(tokenizer.decode(ex["input_ids"]), messages)
        trained = tokenizer.decode([t for t in ex["labels"] if t != -100])
        assert_turns_in_order(trained, [m for m in messages if m["role"] == "assistant"])
        assert not any(m["content"] in trained for m in messages if m["role"] != "assistant")
