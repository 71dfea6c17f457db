"""End-to-end trainer runs through torchrun on the CPU (gloo): world-size parity, exact resume, export."""

import json
import shutil
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from redraft.trainer import train


def make_config(tmp_path: Path, model: Path, data: list, name: str, **fields) -> Path:
    cfg = {"model": str(model), "data": [d if isinstance(d, dict) else str(d) for d in data], "output_dir": str(tmp_path / name), "seq_len": 128,
           "micro_batch_size": 2, "grad_accum": 1, "lr": 1e-3, "max_steps": 3, "optimizer": "adamw", "seed": 1,
           "progress": False, **fields}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(run / "final" / "model.safetensors")


def test_two_processes_match_one_with_the_same_global_batch(tmp_path, tiny_llama_dir, dialogue_dirs):
    # 1 process x 2 micro-steps vs 2 processes x 1 micro-step: 4 rows per step either way. SGD keeps gradients
    # visible in the weights (AdamW would hide a gradient scaled by the world size).
    one = make_config(tmp_path, tiny_llama_dir, dialogue_dirs, "one", optimizer="sgd", lr=0.5, grad_accum=2,
                      grad_clip=0)
    two = make_config(tmp_path, tiny_llama_dir, dialogue_dirs, "two", optimizer="sgd", lr=0.5, grad_accum=1,
                      grad_clip=0)
    assert train(str(one), [], 1) == 0
    assert train(str(two), [], 2) == 0
    m1, m2 = metrics(tmp_path / "one"), metrics(tmp_path / "two")
    assert [m["step"] for m in m1] == [1, 2, 3] == [m["step"] for m in m2]
    assert [m["trained_tokens"] for m in m1] == [m["trained_tokens"] for m in m2]
    for a, b in zip(m1, m2):
        # fp32 sums over 3M gradient entries in a different order: ~1e-5 apart; a world-size factor is 2x
        assert b["grad_norm"] == pytest.approx(a["grad_norm"], rel=1e-4)
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-5)
    assert m1[-1]["loss"] < m1[0]["loss"]
    w1, w2 = weights(tmp_path / "one"), weights(tmp_path / "two")
    assert w1.keys() == w2.keys()
    for k in w1:
        torch.testing.assert_close(w2[k], w1[k], rtol=1e-5, atol=1e-6)
    base = load_file(tiny_llama_dir / "model.safetensors")
    assert any(not torch.equal(base[k], w1[k]) for k in base if k in w1)  # training moved the weights


def crash_after_step(step: int, config, nproc: int) -> None:
    """Train until the trainer's test hook kills every process after `step`."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REDRAFT_TRAIN_CRASH_AFTER_STEP", str(step))
        assert train(str(config), [], nproc) != 0


def test_killed_run_resumes_with_identical_losses(tmp_path, tiny_llama_dir, dialogue_dirs):
    fields = dict(max_steps=6, save_every=2, keep_checkpoints=3, warmup_steps=2)
    ref = make_config(tmp_path, tiny_llama_dir, dialogue_dirs, "ref", **fields)
    assert train(str(ref), [], 2) == 0

    killed = make_config(tmp_path, tiny_llama_dir, dialogue_dirs, "killed", **fields)
    crash_after_step(5, killed, 2)
    ckpts = tmp_path / "killed" / "checkpoints"
    assert sorted(p.name for p in ckpts.iterdir()) == ["step-2", "step-4"]  # killed after step 5
    assert not (tmp_path / "killed" / "final").exists()
    # step-4 is damaged (a shard cut short) and a half-written step-6 lies beside it: both must be ignored
    shard = max((ckpts / "step-4").glob("*.distcp"), key=lambda p: p.stat().st_size)
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    shutil.copytree(ckpts / "step-2", ckpts / "step-6")
    (ckpts / "step-6" / "complete.json").unlink()

    assert train(str(killed), [], 2) == 0
    a, b = metrics(tmp_path / "ref"), metrics(tmp_path / "killed")
    assert [m["step"] for m in b] == list(range(1, 7))
    assert [m["loss"] for m in b] == [m["loss"] for m in a]
    assert [m["lr"] for m in b] == [m["lr"] for m in a]
    wa, wb = weights(tmp_path / "ref"), weights(tmp_path / "killed")
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k
    # the same command once more: resumes from the last step's checkpoint, trains nothing, exports the same model
    assert train(str(killed), [], 2) == 0
    assert metrics(tmp_path / "killed") == b
    assert all(torch.equal(wb[k], v) for k, v in weights(tmp_path / "killed").items())


def test_exported_model_loads_and_generates(tmp_path, tiny_llama_dir, dialogue_dirs):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    data = [{"path": str(dialogue_dirs[0]), "weight": 2.0}, dialogue_dirs[1]]
    cfg = make_config(tmp_path, tiny_llama_dir, data, "run", max_steps=2, packing=False,
                      activation_checkpointing=True)
    assert train(str(cfg), ["lr=2e-3"], 1) == 0
    final = tmp_path / "run" / "final"
    model = AutoModelForCausalLM.from_pretrained(final)
    tokenizer = AutoTokenizer.from_pretrained(final)
    assert type(model).__name__ == "LlamaForCausalLM" and tokenizer.chat_template
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "Translate into English: 我喜欢读书。"}],
                                           add_generation_prompt=True, return_tensors="pt", return_dict=True)
    out = model.generate(**prompt, max_new_tokens=5, do_sample=False)
    assert out.shape[1] == prompt["input_ids"].shape[1] + 5
    manifest = json.loads((final / "training_manifest.json").read_text())
    assert [d["recipe_name"] for d in manifest["data"]] == ["zh-en-test", "de-en-test"]
    assert all(len(d["content_hash"]) == 64 for d in manifest["data"])
    assert manifest["config"]["lr"] == 2e-3 and manifest["data"][0]["weight"] == 2.0
    audit = json.loads((tmp_path / "run" / "mask_audit.json").read_text())
    assert audit["zh-en"]["examples"] == 24
    m = metrics(tmp_path / "run")
    assert {"step", "loss", "lr", "tokens", "trained_tokens", "tokens_per_s", "source_loss"} <= m[0].keys()


@pytest.mark.slow
def test_loss_falls_on_smollm2(tmp_path, smollm2_dir, dialogue_dirs):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    # one packed row of 128 tokens per step keeps this near a minute on 2 CPU cores
    cfg = make_config(tmp_path, smollm2_dir, dialogue_dirs, "smol", max_steps=5, lr=2e-4, micro_batch_size=1,
                      seq_len=128, lr_schedule="constant", optimizer="adamw")
    assert train(str(cfg), [], 1) == 0
    losses = [m["loss"] for m in metrics(tmp_path / "smol")]
    assert sum(losses[-2:]) / 2 < 0.7 * sum(losses[:2]) / 2, losses
    final = tmp_path / "smol" / "final"
    model = AutoModelForCausalLM.from_pretrained(final)
    tokenizer = AutoTokenizer.from_pretrained(final)
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "Translate into English: 今天天气很好。"}],
                                           add_generation_prompt=True, return_tensors="pt", return_dict=True)
    out = model.generate(**prompt, max_new_tokens=12, do_sample=False)
    assert tokenizer.decode(out[0, prompt["input_ids"].shape[1]:], skip_special_tokens=True).strip()


def test_resume_at_another_world_size_continues_the_same_batches(tmp_path, tiny_llama_dir, dialogue_dirs, capfd):
    # global_batch_size fixes the rows per step: 2 processes x 1 micro-step, resumed as 1 process x 2 micro-steps
    fields = dict(max_steps=4, save_every=2, global_batch_size=4, micro_batch_size=2, warmup_steps=1)
    ref = make_config(tmp_path, tiny_llama_dir, dialogue_dirs, "ref", **fields)
    assert train(str(ref), [], 1) == 0

    resized = make_config(tmp_path, tiny_llama_dir, dialogue_dirs, "resized", **fields)
    crash_after_step(2, resized, 2)
    assert [m["step"] for m in metrics(tmp_path / "resized")] == [1, 2]

    # a different number of rows per step would replay another data plan: refused before any step, naming the fix
    capfd.readouterr()
    assert train(str(resized), ["global_batch_size=2"], 1) != 0
    assert "trained with 4 rows per step, this run has 2" in capfd.readouterr().err
    assert [m["step"] for m in metrics(tmp_path / "resized")] == [1, 2]

    assert train(str(resized), [], 1) == 0
    # the 2 ranks encoded a share of each source each; the 1-process run read those shares
    encodings = sorted((tmp_path / "resized" / ".redraft" / "tokenized").iterdir())
    assert len(encodings) == len(dialogue_dirs) and all(len(list(e.glob("part-*.arrow"))) == 2 for e in encodings)
    assert capfd.readouterr().err.count(" (reused ") == len(dialogue_dirs)
    a, b = metrics(tmp_path / "ref"), metrics(tmp_path / "resized")
    assert [m["step"] for m in b] == [1, 2, 3, 4]
    for key in ("trained_tokens", "tokens", "examples", "examples_drawn", "total_trained_tokens", "lr"):
        assert [m[key] for m in b] == [m[key] for m in a], key
    # DCP reshards the model and AdamW state; only the order of fp32 sums differs between world sizes
    assert [m["loss"] for m in b] == pytest.approx([m["loss"] for m in a], rel=1e-5)
    wa, wb = weights(tmp_path / "ref"), weights(tmp_path / "resized")
    for k in wa:
        # AdamW divides by sqrt(v): where v is tiny, a sum-order difference in the gradient moves a weight by a few
        # 1e-6 (seen: 1 element of 8,192 off by 4.4e-6); a replayed wrong batch moves weights by ~lr = 1e-3
        torch.testing.assert_close(wb[k], wa[k], rtol=1e-4, atol=1e-5)
