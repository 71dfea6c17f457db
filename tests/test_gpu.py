"""The GPU path, each check against the CPU: FlexAttention on packed rows, the assistant-only loss packed and unpacked,
resume, bf16 FSDP2 training, the exported model, and the eval suites' in-process model (benchmarks/gpu_check.sh).

Skipped without CUDA. With REDRAFT_GPU_CHECK_ON_CPU=1 the same checks run on the CPU with tiny shapes (the project's
per-document sdpa instead of FlexAttention, bf16 training on the CPU), so their code is exercised where no GPU is.
Models and tokenizer are built in code (tests/random_models.py): nothing is fetched.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from conftest import DE_EN, ZH_EN, write_dialogue_dir
from random_models import build_tokenizer, random_llama
from redraft.trainer import train
from redraft.trainer.data import IGNORE, prepare_tokenizer, tokenize_sources
from redraft.trainer.packing import best_fit_pack, collate
from test_trainer_distributed import crash_after_step, make_config, metrics

pytestmark = pytest.mark.gpu

ON_GPU = torch.cuda.is_available()
DEVICE = torch.device("cuda" if ON_GPU else "cpu")
DTYPE = torch.bfloat16 if ON_GPU else torch.float32  # what the trainer computes in on this device
# FlexAttention's BlockMask works in 128-token blocks: on the GPU, documents and rows span several
SHAPE = (dict(hidden_size=256, intermediate_size=512, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2)
         if ON_GPU else dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                             num_key_value_heads=2))
SEQ_LEN = 512 if ON_GPU else 128
DOCS = [(300, 77, 129, 1), (500, 250)] if ON_GPU else [(17, 9, 3), (23, 5)]  # documents of each packed row
PACKED_ATTENTION = "flex_attention" if ON_GPU else "sdpa_documents"  # the trainer's choice with packing
TRAIN_STEPS = 20
BAYLING_PROMPT = "Provide the English translation for this sentence: {src}"  # the translation suite's prompt


def cpu_env() -> dict:
    return {**os.environ, "CUDA_VISIBLE_DEVICES": ""}


def train_on_cpu(config) -> int:
    """`redraft train` with no GPU visible, whatever the machine has."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CUDA_VISIBLE_DEVICES", "")
        return train(str(config), [], 1)


def assert_close(actual: torch.Tensor, expected: torch.Tensor, dtype: torch.dtype = DTYPE, what: str = ""):
    tol = dict(atol=1e-5, rtol=1e-5) if dtype == torch.float32 else dict(atol=3e-2, rtol=3e-2)
    torch.testing.assert_close(actual.float().cpu(), expected.float().cpu(), **tol, msg=lambda m: f"{what}: {m}")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    texts = [t for pairs in (ZH_EN, DE_EN) for pair in pairs for t in pair]
    texts += ["Translate into en: ", BAYLING_PROMPT, "Make it shorter.", "user assistant system"]
    tokenizer = build_tokenizer(texts * 4)
    return random_llama(tmp_path_factory.mktemp("gpu_llama"), tokenizer, **SHAPE)


def load(model_dir, attention: str, dtype=DTYPE, device=DEVICE):
    from transformers import AutoModelForCausalLM

    import redraft.trainer.attention  # noqa: F401  registers sdpa_documents

    return AutoModelForCausalLM.from_pretrained(model_dir, attn_implementation=attention, dtype=dtype).to(device)


def test_packed_logits_equal_documents_alone(model_dir):
    model = load(model_dir, PACKED_ATTENTION).eval()
    reference = load(model_dir, "sdpa").eval()  # plain causal attention over one document at a time
    rng = np.random.default_rng(0)
    docs = [rng.integers(10, model.config.vocab_size, size=n) for row in DOCS for n in row]
    rows, at = [], 0
    for row in DOCS:
        rows.append(list(range(at, at + len(row))))
        at += len(row)
    packed = collate(rows, docs, [np.full(len(d), IGNORE) for d in docs], np.zeros(len(docs), dtype=int), pad_id=0,
                     packing=True, seq_len=max(sum(r) for r in DOCS))
    assert "attention_mask" not in packed
    with torch.no_grad():
        logits = model(input_ids=packed["input_ids"].to(DEVICE), position_ids=packed["position_ids"].to(DEVICE),
                       use_cache=False).logits
        leaky = model(input_ids=packed["input_ids"].to(DEVICE), use_cache=False).logits
        for r, row in enumerate(rows):
            start = 0
            for i in row:
                n = len(docs[i])
                alone = reference(input_ids=torch.from_numpy(docs[i])[None].to(DEVICE), use_cache=False).logits[0]
                assert_close(logits[r, start:start + n], alone, what=f"row {r} document {i}")
                if start:  # without per-document positions a later document sees the earlier ones
                    packed_gap = (logits[r, start:start + n].float() - alone.float()).abs().max().item()
                    leaky_gap = (leaky[r, start:start + n].float() - alone.float()).abs().max().item()
                    assert leaky_gap > 3 * packed_gap + 1e-3, (r, i, leaky_gap, packed_gap)
                start += n


def test_assistant_only_loss_equal_packed_and_unpacked(model_dir, dialogue_dirs):
    """The trainer's loss (assistant tokens only, head on trained positions) on packed rows through FlexAttention
    equals the same dialogues one per padded row through sdpa, in value and in gradient."""
    from transformers import AutoTokenizer

    from redraft.trainer.config import DataSource
    from redraft.trainer.main import TrainedPositionsHead

    tokenizer = prepare_tokenizer(AutoTokenizer.from_pretrained(model_dir))
    data = tokenize_sources([DataSource(path=str(d)) for d in dialogue_dirs], tokenizer, SEQ_LEN, log=lambda *a: 0)
    items = list(range(16))
    packed_rows, left = best_fit_pack(items, data.lengths, SEQ_LEN, n_bins=len(items))
    packed_rows = [r for r in packed_rows if r]
    assert not left and len(packed_rows) < len(items)  # several dialogues share a row
    results = []
    for rows, packing, attention in ((packed_rows, True, PACKED_ATTENTION), ([[i] for i in items], False, "sdpa")):
        model = load(model_dir, attention)
        head = TrainedPositionsHead(model)
        batch = collate(rows, data.input_ids, data.targets, data.source, tokenizer.pad_token_id, packing, SEQ_LEN)
        batch.pop("n_tokens"), batch.pop("source")
        batch = {k: v.to(DEVICE) for k, v in batch.items()}
        targets = batch.pop("targets")
        head.keep = targets != IGNORE
        logits = model(**batch, use_cache=False).logits[0]
        loss = torch.nn.functional.cross_entropy(logits.float(), targets[head.keep])
        loss.backward()
        grad = torch.cat([p.grad.float().flatten() for p in model.parameters()])
        results.append((int(head.keep.sum()), loss.item(), grad))
    (n_packed, loss_packed, g_packed), (n_alone, loss_alone, g_alone) = results
    assert n_packed == n_alone == int(data.n_trained[items].sum())
    assert loss_packed == pytest.approx(loss_alone, rel=1e-5 if DTYPE == torch.float32 else 1e-2)
    cosine = torch.nn.functional.cosine_similarity(g_packed, g_alone, dim=0).item()
    assert cosine > (1 - 1e-6 if DTYPE == torch.float32 else 0.99), cosine
    assert g_packed.norm().item() == pytest.approx(g_alone.norm().item(), rel=1e-4 if DTYPE == torch.float32 else 3e-2)


def test_resume_after_a_checkpoint_gives_the_same_losses(tmp_path, model_dir, dialogue_dirs):
    fields = dict(max_steps=6, save_every=3, warmup_steps=2, seq_len=SEQ_LEN)
    assert train(str(make_config(tmp_path, model_dir, dialogue_dirs, "ref", **fields)), [], 1) == 0
    killed = make_config(tmp_path, model_dir, dialogue_dirs, "killed", **fields)
    crash_after_step(4, killed, 1)
    assert [m["step"] for m in metrics(tmp_path / "killed")] == [1, 2, 3, 4]
    assert train(str(killed), [], 1) == 0
    ref, resumed = metrics(tmp_path / "ref"), metrics(tmp_path / "killed")
    assert [m["step"] for m in resumed] == list(range(1, 7))
    assert [m["trained_tokens"] for m in resumed] == [m["trained_tokens"] for m in ref]
    # steps 4-6 ran again from the step-3 checkpoint: the same kernels on the same inputs
    assert [m["loss"] for m in resumed] == pytest.approx([m["loss"] for m in ref], rel=1e-6 if not ON_GPU else 1e-3)


@pytest.fixture(scope="module")
def device_and_cpu_runs(tmp_path_factory, model_dir, dialogue_dirs):
    """The same seed and data trained for 20 steps on the device (bf16 compute: FSDP2's mixed precision, here on the
    CPU too when there is no GPU) and on the CPU in fp32."""
    root = tmp_path_factory.mktemp("runs")
    fields = dict(max_steps=TRAIN_STEPS, seq_len=SEQ_LEN, warmup_steps=2, lr_schedule="constant")
    device = make_config(root, model_dir, dialogue_dirs, "device", dtype="bfloat16", **fields)
    cpu = make_config(root, model_dir, dialogue_dirs, "cpu", dtype="float32", **fields)
    assert train(str(device), [], 1) == 0
    assert train_on_cpu(cpu) == 0
    return root / "device", root / "cpu"


def test_bf16_training_tracks_the_cpu_run(device_and_cpu_runs):
    device, cpu = (metrics(run) for run in device_and_cpu_runs)
    assert [m["step"] for m in device] == list(range(1, TRAIN_STEPS + 1))
    assert [m["trained_tokens"] for m in device] == [m["trained_tokens"] for m in cpu]
    for d, c in zip(device, cpu):
        assert math.isfinite(d["loss"]) and d["loss"] == pytest.approx(c["loss"], rel=2e-2), (d["step"], d, c)
    assert device[-1]["loss"] < 0.9 * device[0]["loss"]  # it trained
    if ON_GPU:
        assert device[0]["mfu"] > 0 and device[0]["peak_memory_gib"] > 0


def test_exported_final_loads_and_generates_on_the_device(device_and_cpu_runs):
    from transformers import AutoTokenizer

    final = device_and_cpu_runs[0] / "final"
    tokenizer = AutoTokenizer.from_pretrained(final)
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": BAYLING_PROMPT.format(src=ZH_EN[1][0])}],
                                           add_generation_prompt=True, return_tensors="pt", return_dict=True)
    on_device = load(final, "sdpa").eval()
    on_cpu = load(final, "sdpa", torch.float32, "cpu").eval()
    with torch.no_grad():
        assert_close(on_device(**prompt.to(DEVICE)).logits, on_cpu(**prompt).logits, what="prompt logits")
        out = on_device.generate(**prompt.to(DEVICE), max_new_tokens=8, do_sample=False, min_new_tokens=8,
                                 pad_token_id=tokenizer.pad_token_id)
    assert out.shape[1] == prompt["input_ids"].shape[1] + 8 and out.device.type == DEVICE.type


@pytest.fixture(scope="module")
def answering_model(tmp_path_factory, model_dir):
    """A random model trained on the CPU until it answers the translation suite's prompts with the references: a
    random model's logits are near flat, so bf16 would flip its greedy choices; these answers have margins."""
    root = tmp_path_factory.mktemp("answering")
    data = write_dialogue_dir(root / "zh-en", ZH_EN, "zh", "en", "zh-en-eval", repeat=4, prompt=BAYLING_PROMPT)
    config = make_config(root, model_dir, [data], "run", max_steps=60, lr=3e-3, seq_len=SEQ_LEN,
                         lr_schedule="constant", dtype="float32")
    assert train_on_cpu(config) == 0
    (root / "zhen.src").write_text("".join(src + "\n" for src, _ in ZH_EN))
    (root / "zhen.ref").write_text("".join(ref + "\n" for _, ref in ZH_EN))
    return root


def test_local_model_answers_the_same_on_the_device_and_the_cpu(answering_model):
    """The model under test of `redraft eval` (evals/local_model.py): bf16 `generate` on a GPU, synth's greedy loop
    in fp32 on the CPU."""
    from redraft.evals.local_model import LocalTeacher
    from redraft.synth.config import TeacherConfig

    config = TeacherConfig(provider="embedded", max_tokens=32, batch_size=16, threads=2)
    on_device, on_cpu = (LocalTeacher(answering_model / "run" / "final", config) for _ in range(2))
    on_cpu.device = "cpu"
    assert on_device.device == DEVICE.type
    asks = [[{"role": "user", "content": BAYLING_PROMPT.format(src=src)}] for src, _ in ZH_EN]
    cpu = [c.text for c in on_cpu.generate(asks)]
    assert sum(a == ref for a, (_, ref) in zip(cpu, ZH_EN)) >= len(ZH_EN) - 1, cpu  # the model answers, with margins
    assert [c.text for c in on_device.generate(asks)] == cpu


def eval_answers(root, name: str, env) -> list[str]:
    out = root / name
    cmd = [sys.executable, "-m", "redraft.cli", "eval", "translation", "--src", str(root / "zhen.src"), "--ref",
           str(root / "zhen.ref"), "--langs", "zh-en", "--model", str(root / "run" / "final"), "-o", str(out),
           "--max-tokens", "32"]
    subprocess.run(cmd, env=env, check=True)
    results = json.loads((out / "results.json").read_text())
    assert results["model"]["params"]["dtype"] == ("bfloat16" if name == "device" and ON_GPU else "float32")
    return [g["answer"] for g in sorted(pq.read_table(out / "generations.parquet").to_pylist(), key=lambda g: g["row"])]


def test_eval_translation_answers_the_same_on_the_device_and_the_cpu(answering_model):
    for module in ("polars", "openai"):  # the eval command line imports every suite, these with them
        pytest.importorskip(module, reason=f"`redraft eval` imports {module}, which this machine lacks (the GPU "
                                           "check carries no polars: its 54 MB wheel exceeds what travels)")
    cpu = eval_answers(answering_model, "cpu", cpu_env())
    assert sum(a == ref for a, (_, ref) in zip(cpu, ZH_EN)) >= len(ZH_EN) - 1, cpu
    assert eval_answers(answering_model, "device", dict(os.environ)) == cpu
