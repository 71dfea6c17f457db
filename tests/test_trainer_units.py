"""Trainer pieces in-process: config, chat-template masks, mask audit, world-size independent batches, packing."""

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from redraft.trainer import ConfigError, load_config, train
from redraft.trainer.config import DataSource
from redraft.trainer.data import (BAYLING_TEMPLATE, IGNORE, encode_example, prepare_tokenizer, tokenize_dialogue,
                                  tokenize_sources)
from redraft.trainer.packing import best_fit_pack, collate
from redraft.trainer.sampler import ExampleStream, GlobalBatchPlanner, rank_microbatches

DIALOGUE = [{"role": "user", "content": "Translate into English: 今天天气很好。"},
            {"role": "assistant", "content": "The weather is nice today."},
            {"role": "user", "content": "Make it more formal."},
            {"role": "assistant", "content": "Today's weather is pleasant."}]


def write_config(path: Path, **fields) -> Path:
    import yaml

    base = {"model": "m", "data": ["d"], "output_dir": "o", "max_steps": 3}
    path.write_text(yaml.safe_dump({**base, **fields}))
    return path


def test_bad_config_exits_2_naming_the_field(tmp_path, capsys):
    cfg = write_config(tmp_path / "c.yaml", optimizer="lion")
    assert train(str(cfg), [], 1) == 2
    assert "optimizer" in capsys.readouterr().err
    assert train(str(write_config(tmp_path / "d.yaml")), ["seq_len=-4"], 1) == 2
    assert "seq_len" in capsys.readouterr().err
    assert train(str(write_config(tmp_path / "e.yaml", lr_typo=1.0)), [], 1) == 2
    assert "lr_typo" in capsys.readouterr().err
    assert train(str(write_config(tmp_path / "f.yaml", data=[str(tmp_path / "missing")])), [], 1) == 2
    assert "data.0.path" in capsys.readouterr().err
    assert train(str(tmp_path / "absent.yaml"), [], 1) == 2


def test_overrides_are_yaml_and_dotted(tmp_path):
    cfg = load_config(write_config(tmp_path / "c.yaml", data=[{"path": "a"}, "b"]),
                      ["lr=1e-3", "packing=false", "data.1.weight=2.5", "betas=[0.9, 0.99]"])
    assert cfg.lr == pytest.approx(1e-3) and cfg.packing is False and cfg.betas == (0.9, 0.99)
    assert [(s.path, s.weight) for s in cfg.data] == [("a", 1.0), ("b", 2.5)]
    with pytest.raises(ConfigError, match="micro_batch_size"):
        load_config(write_config(tmp_path / "d.yaml"), ["micro_batch_size=0"])
    assert load_config(write_config(tmp_path / "e.yaml", global_batch_size=8, micro_batch_size=2)
                       ).resolve_grad_accum(2) == 2


def test_config_errors_name_nested_lines_and_list_items(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("model: m\ndata:\n  - path: a\n    weight: 0\n  - b\noutput_dir: o\nmax_steps: 3\n")
    with pytest.raises(ConfigError, match=re.escape(f"{cfg}:4: config field `data.0.weight`: Input")):
        load_config(cfg)
    with pytest.raises(ConfigError, match="--set data.2.weight=2: no item 2 in a list of 2"):
        load_config(cfg, ["data.2.weight=2"])
    with pytest.raises(ConfigError, match="--set data.0.weight=-2: config field `data.0.weight`: Input should be"):
        load_config(cfg, ["data.0.weight=-2"])


@pytest.fixture(scope="module")
def tokenizer(tiny_llama_dir):
    from transformers import AutoTokenizer

    return prepare_tokenizer(AutoTokenizer.from_pretrained(tiny_llama_dir))


def trained_text(tokenizer, messages) -> str:
    ids, trained = tokenize_dialogue(tokenizer, messages)
    return tokenizer.decode([t for t, m in zip(ids, trained) if m])


def test_only_assistant_turns_are_trained(tokenizer):
    text = trained_text(tokenizer, DIALOGUE)
    assert "The weather is nice today." in text and "Today's weather is pleasant." in text
    assert "Translate" not in text and "formal" not in text and "user" not in text and "system" not in text
    assert text.count(tokenizer.eos_token) == 2 or text.count("<|im_end|>") == 2  # each turn learns to stop


def test_bayling_default_template(tokenizer):
    import copy

    bare = copy.deepcopy(tokenizer)
    bare.chat_template = None
    prepare_tokenizer(bare)
    assert bare.chat_template == BAYLING_TEMPLATE
    full = bare.apply_chat_template(DIALOGUE, tokenize=False)
    assert "Human: Translate" in full and "A chat between a curious human" in full
    text = trained_text(bare, DIALOGUE)
    assert "The weather is nice today." in text and "Human" not in text and "formal" not in text


def test_targets_shift_and_mask_audit(tokenizer, dialogue_dirs, tmp_path):
    data = tokenize_sources([DataSource(path=str(d)) for d in dialogue_dirs], tokenizer, seq_len=256, log=lambda *a: 0)
    ids, tgt = data.input_ids[0], data.targets[0]
    trained = tgt != IGNORE
    assert (tgt[:-1][trained[:-1]] == ids[1:][trained[:-1]]).all() and tgt[-1] == IGNORE
    audit = data.audit()
    assert set(audit) == {"zh-en", "de-en"}
    for counts in audit.values():
        assert counts["no_trained_tokens"] == 0 and 0 < counts["trained_share"] < 1
    assert data.sources[0].recipe_name == "zh-en-test" and len(data.sources[0].content_hash) == 64
    # with a budget that ends before the first answer, no example keeps a trained token: counted, not silent
    first_answer = min(tokenize_dialogue(tokenizer, DIALOGUE)[1].index(True), 40)
    with pytest.raises(ValueError, match="no example has a trained token"):
        tokenize_sources([DataSource(path=str(dialogue_dirs[0]))], tokenizer, seq_len=first_answer, log=lambda *a: 0)
    logs = []
    short = tokenize_sources([DataSource(path=str(d)) for d in dialogue_dirs], tokenizer, seq_len=45,
                             log=logs.append)
    counts = short.audit()["zh-en"]
    assert counts["truncated"] > 0 and counts["examples"] == 24
    assert counts["examples"] - counts["no_trained_tokens"] == int((short.source == 0).sum())
    assert all(len(x) <= 45 for x in short.input_ids)


def test_ranks_encode_their_shares_once_and_all_read_every_example(tokenizer, dialogue_dirs, tmp_path):
    import copy
    import threading

    import pyarrow.parquet as pq

    sources = [DataSource(path=str(d)) for d in dialogue_dirs]
    expected = []  # every dialogue encoded in one process, in row order
    for d in dialogue_dirs:
        for messages in pq.read_table(d / "data" / "part-00000.parquet").column("messages").to_pylist():
            ids, tgt, _ = encode_example(tokenizer, messages, 48, None)
            if (tgt != IGNORE).any():
                expected.append((ids, tgt))

    def ranks(world: int, cache: Path, logs: list) -> list:
        barrier, out = threading.Barrier(world), [None] * world

        def rank(r):
            out[r] = tokenize_sources(sources, copy.deepcopy(tokenizer), 48, cache_dir=cache, rank=r,
                                      world_size=world, barrier=barrier.wait, log=logs.append)
        threads = [threading.Thread(target=rank, args=(r,)) for r in range(world)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return out

    logs = []
    one = tokenize_sources(sources, tokenizer, 48, log=logs.append)  # a temporary folder
    three = ranks(3, tmp_path / "cache", logs)
    for data in [one, *three]:
        assert len(data.input_ids) == len(expected) == len(data.n_trained) > 0
        for i, (ids, tgt) in enumerate(expected):
            np.testing.assert_array_equal(data.input_ids[i], ids)
            np.testing.assert_array_equal(data.targets[i], tgt)
            assert data.n_trained[i] == (tgt != IGNORE).sum() and data.lengths[i] == len(ids)
        assert data.audit() == one.audit() and data.audit()["zh-en"]["truncated"] > 0
    encodings = sorted((tmp_path / "cache").iterdir())
    assert len(encodings) == 2 and all(len(list(e.glob("part-*.arrow"))) == 3 for e in encodings)
    assert sum("encoded into" in line for line in logs) == 2 * 4

    # another run at another world size reads the same encodings; another seq_len or system prompt encodes anew
    logs.clear()
    two = ranks(2, tmp_path / "cache", logs)
    assert sum("reused" in line for line in logs) == 2 * 2 and two[1].audit() == one.audit()
    np.testing.assert_array_equal(two[1].input_ids[len(expected) - 1], expected[-1][0])
    tokenize_sources(sources, tokenizer, 49, cache_dir=tmp_path / "cache", log=logs.append)
    tokenize_sources(sources[:1], tokenizer, 48, "Be brief.", cache_dir=tmp_path / "cache", log=logs.append)
    assert len(list((tmp_path / "cache").iterdir())) == 5

    # only complete encodings are reused: a run killed while encoding leaves a `.partial` folder, redone next time
    encodings[0].rename(encodings[0].with_name(encodings[0].name + ".partial"))
    (encodings[0].with_name(encodings[0].name + ".partial") / "part-00000.arrow").write_bytes(b"truncated")
    again = tokenize_sources(sources, tokenizer, 48, cache_dir=tmp_path / "cache", log=lambda *a: 0)
    assert again.audit() == one.audit() and not list((tmp_path / "cache").glob("*.partial"))


def test_stream_covers_each_source_per_pass_and_follows_weights():
    source_of = np.array([0] * 10 + [1] * 30)
    stream = ExampleStream(source_of, [1.0, 1.0], seed=3)
    draws = [next(stream) for _ in range(4000)]
    share0 = sum(source_of[i] == 0 for i in draws) / len(draws)
    assert share0 == pytest.approx(0.25, abs=0.03)
    weighted = ExampleStream(source_of, [3.0, 1.0], seed=3)
    draws = [next(weighted) for _ in range(4000)]
    assert sum(source_of[i] == 0 for i in draws) / len(draws) == pytest.approx(0.5, abs=0.03)
    first0 = [i for i in draws if source_of[i] == 0][:10]
    assert sorted(first0) == list(range(10))  # a full pass over source 0 before any repeat


@pytest.mark.parametrize("packing", [False, True])
def test_global_batch_is_independent_of_world_size(packing):
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 60, size=200)
    source_of = (np.arange(200) % 3 == 0).astype(int)

    def step_sets(world, accum, mbs):
        planner = GlobalBatchPlanner(lengths, source_of, [1.0, 2.0], 7, mbs * accum * world, 64, packing)
        out = []
        for _ in range(6):
            rows = planner.next_rows()
            mine = [sorted(i for mb in rank_microbatches(rows, r, world, accum, mbs) for row in mb for i in row)
                    for r in range(world)]
            assert sum(len(m) for m in mine) == sum(len(r) for r in rows)  # ranks are disjoint and cover the step
            out.append(Counter(i for m in mine for i in m))
        return out

    one = step_sets(1, 8, 1)
    assert step_sets(2, 4, 1) == one and step_sets(4, 1, 2) == one and step_sets(8, 1, 1) == one
    assert step_sets(2, 2, 1) != one  # a different global batch size gives different batches


def test_best_fit_respects_capacity_and_keeps_everything():
    rng = np.random.default_rng(1)
    lengths = rng.integers(1, 100, size=300)
    items = list(range(300))
    bins, left = best_fit_pack(items, lengths, 128, 40)
    placed = [i for b in bins for i in b]
    assert sorted(placed + left) == items
    assert all(sum(lengths[i] for i in b) <= 128 for b in bins)
    assert sum(lengths[i] for i in placed) / (40 * 128) > 0.95  # best fit leaves little room unused


# sdpa_documents: the CPU default with packing; flex: the GPU path's BlockMask, forward only
@pytest.mark.parametrize("attention", ["sdpa", "sdpa_documents", "flex_attention"])
def test_packed_document_logits_equal_alone(tiny_llama_dir, attention):
    from transformers import AutoModelForCausalLM

    import redraft.trainer.attention  # noqa: F401  registers sdpa_documents

    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir, attn_implementation=attention).eval()
    model.requires_grad_(False)
    rng = np.random.default_rng(0)
    docs = [rng.integers(10, 1000, size=n) for n in (17, 9, 23)]
    targets = [np.full(len(d), IGNORE) for d in docs]
    source_of = np.zeros(3, dtype=int)
    packed = collate([[0, 1, 2]], docs, targets, source_of, pad_id=0, packing=True, seq_len=64)
    assert "attention_mask" not in packed
    with torch.no_grad():
        logits = model(input_ids=packed["input_ids"], position_ids=packed["position_ids"], use_cache=False).logits[0]
        at = 0
        for d in docs:
            alone = model(input_ids=torch.from_numpy(d)[None]).logits[0]
            torch.testing.assert_close(logits[at:at + len(d)], alone, atol=1e-5, rtol=1e-5)
            at += len(d)
    # the same row without per-document positions lets the later documents see the earlier ones
    with torch.no_grad():
        leaky = model(input_ids=packed["input_ids"], use_cache=False).logits[0, 17:26]
    assert not torch.allclose(leaky, model(input_ids=torch.from_numpy(docs[1])[None]).logits[0], atol=1e-3)


def test_document_attention_matches_masked_sdpa_in_backward(tiny_llama_dir):
    from transformers import AutoModelForCausalLM

    import redraft.trainer.attention  # noqa: F401  registers sdpa_documents

    rng = np.random.default_rng(1)
    docs = [rng.integers(10, 1000, size=n) for n in (17, 9, 23, 1)]
    targets = [rng.integers(10, 1000, size=len(d)) for d in docs]
    # two rows of different fill: row 1 ends with padding, a document of its own
    batch = collate([[0, 1, 3], [2]], docs, targets, np.zeros(4, dtype=int), pad_id=0, packing=True, seq_len=32)
    grads, losses = [], []
    for attention in ("sdpa", "sdpa_documents"):
        model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir, attn_implementation=attention)
        logits = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), batch["targets"].flatten())
        loss.backward()
        losses.append(loss.detach())
        grads.append({n: p.grad for n, p in model.named_parameters()})
    torch.testing.assert_close(losses[1], losses[0])
    for name, g in grads[0].items():
        torch.testing.assert_close(grads[1][name], g, atol=1e-6, rtol=1e-4, msg=name)


def test_padded_batch_matches_unpadded(tiny_llama_dir):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir, attn_implementation="sdpa").eval()
    docs = [np.arange(5, 25), np.arange(30, 37)]
    batch = collate([[0], [1]], docs, [np.full(len(d), IGNORE) for d in docs], np.zeros(2, dtype=int), pad_id=0,
                    packing=False, seq_len=64)
    assert batch["input_ids"].shape == (2, 24)  # dynamic padding to the longest row, rounded to 8
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                       position_ids=batch["position_ids"]).logits
        alone = model(input_ids=torch.from_numpy(docs[1])[None]).logits[0]
    torch.testing.assert_close(logits[1, :7], alone, atol=1e-5, rtol=1e-5)


def test_torchrun_command_passes_multi_node_options_through():
    from redraft.trainer.launch import torchrun_command

    single = torchrun_command("c.yaml", ["lr=1e-4"], 2, [])
    assert single[1:3] == ["-m", "torch.distributed.run"] and "--nproc-per-node=2" in single
    assert "--standalone" in single
    assert single[single.index("-m", 3):] == ["-m", "redraft.trainer.main", "c.yaml", "--set", "lr=1e-4"]
    multi = torchrun_command("c.yaml", [], 8, ["--nnodes=2", "--node-rank=1", "--master-addr=10.0.0.1",
                                               "--master-port=29400"])
    assert "--standalone" not in multi
    assert multi.index("--nnodes=2") < multi.index("redraft.trainer.main")
    assert {"--node-rank=1", "--master-addr=10.0.0.1", "--master-port=29400"} <= set(multi)


# ── checkpoints: loading runs no code a checkpoint holds ─────────────────────────────────────────────────────────

class _RunsCode:
    """Unpickled without restriction, it writes `marker`: what a crafted checkpoint file would do on resume."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


@pytest.fixture
def one_process_group(tmp_path):
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'pg'}", rank=0, world_size=1)
    yield
    dist.destroy_process_group()


def _model_and_optimizer(seed: int):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LayerNorm(4))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.randn(2, 4)).sum().backward()
    optimizer.step()
    return model, optimizer


def test_a_checkpoint_restores_model_optimizer_and_rng_exactly(tmp_path, one_process_group):
    from redraft.trainer.checkpoint import load_checkpoint, save_checkpoint

    model, optimizer = _model_and_optimizer(0)
    folder = save_checkpoint(tmp_path / "checkpoints", 1, model, optimizer, {"step": 1}, rank=0, keep=2)
    expected = torch.rand(5)  # what the RNG draws next after the save
    fresh, fresh_opt = _model_and_optimizer(1)
    assert load_checkpoint(folder, fresh, fresh_opt, rank=0) == {"step": 1}
    assert torch.equal(torch.rand(5), expected)
    for a, b in zip(model.parameters(), fresh.parameters()):
        assert torch.equal(a, b)
    assert torch.equal(optimizer.state_dict()["state"][0]["exp_avg"], fresh_opt.state_dict()["state"][0]["exp_avg"])
    assert fresh_opt.param_groups[0]["lr"] == 1e-3 and fresh_opt.param_groups[0]["betas"] == (0.9, 0.999)


@pytest.mark.parametrize("where", ["local", "s3"])
@pytest.mark.parametrize("crafted", ["rng file", "dcp metadata", "optimizer value"])
def test_a_crafted_checkpoint_is_refused_and_runs_nothing(tmp_path, one_process_group, crafted, where, request):
    import io

    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_state_dict

    from redraft.storage import location
    from redraft.trainer.checkpoint import _writer, load_checkpoint, save_checkpoint

    marker = tmp_path / "code-ran"
    root = tmp_path if where == "local" else location(request.getfixturevalue("s3_bucket"))  # a live S3 server's
    model, optimizer = _model_and_optimizer(0)
    folder = save_checkpoint(root / "checkpoints", 1, model, optimizer, {"step": 1}, rank=0, keep=2)
    if crafted == "rng file":
        crafted_rng = io.BytesIO()
        torch.save({"torch": torch.get_rng_state(), "payload": _RunsCode(marker)}, crafted_rng)
        (folder / "rng-rank0.pt").write_bytes(crafted_rng.getvalue())
    elif crafted == "dcp metadata":
        import pickle

        (folder / ".metadata").write_bytes(pickle.dumps(_RunsCode(marker)))
    else:  # DCP stores an optimizer's non-tensor values as pickled bytes
        model_sd, optim_sd = get_state_dict(model, optimizer)
        optim_sd["param_groups"][0]["lr"] = _RunsCode(marker)
        dcp.save({"model": model_sd, "optim": optim_sd}, storage_writer=_writer(folder))
    fresh, fresh_opt = _model_and_optimizer(1)
    refused = None
    try:
        load_checkpoint(folder, fresh, fresh_opt, rank=0)
    except BaseException as e:  # DCP's own failure summary is a BaseException
        refused = e
    assert not marker.exists(), "loading the checkpoint ran its code"
    assert type(refused).__name__ == "UnsafeCheckpoint", repr(refused)
    assert "refusing to load it" in str(refused) and "this trainer did not write it" in str(refused)
