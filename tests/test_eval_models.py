"""Real models under test: the embedded SmolLM2-135M-Instruct in-process, a `redraft train`-style model folder, and
SmolLM2 behind `transformers serve` on loopback, each through the translation, constrained and interactive suites."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from redraft.evals.config import EvalConfig
from redraft.evals.runner import run_eval

from test_synth_serve import serve_url  # noqa: F401 - the module-scoped `transformers serve` fixture

pytestmark = pytest.mark.slow


def suites(d, n_translate=24, n_interactive=4, turns=3):
    return [
        {"suite": "translation", "source": str(d / "wmt22/zhen.src"), "reference": str(d / "wmt22/zhen.ref"),
         "langs": "zh-en", "limit": n_translate},
        {"suite": "constrained", "data": str(d / "bayling_outputs/constrained/data/constraints.zh-en.en.jsonl"),
         "langs": "zh-en", "limit": 8},
        {"suite": "interactive", "source": str(d / "wmt22/deen.src"), "reference": str(d / "wmt22/deen.ref"),
         "langs": "de-en", "limit": n_interactive, "turns": turns}]


def check_outputs(out, n_translate, n_interactive, turns, answers=True):
    results = json.loads((out / "results.json").read_text())
    s = results["suites"]
    assert s["translation-zh-en"]["metrics"]["n"] == n_translate and s["constrained-zh-en"]["metrics"]["n"] == 8
    assert s["translation-zh-en"]["metrics"]["failed"] == 0
    gens = pq.read_table(out / "generations.parquet").to_pylist()
    assert all(g["answer"] if answers else g["answer"] is not None for g in gens)
    inter = [g for g in gens if g["suite"] == "interactive-de-en"]
    assert len(inter) == n_interactive * turns
    for g in inter:  # every turn was asked with the whole history
        assert [t["role"] for t in g["messages"]][-1] == "user" and len(g["messages"]) == 2 * g["turn"] + 1
    m = s["interactive-de-en"]["metrics"]
    revisions = [g["complied"] for g in inter if g["turn"] > 0]
    assert m["revisions"] == len(revisions) and m["compliance"] == sum(revisions) / len(revisions)
    checked = [g["language_ok"] for g in inter if g["language_ok"] is not None]
    assert len(checked) >= n_interactive and m["language_ok"] == sum(checked) / len(checked)
    assert (out / "plots" / "interactive-de-en-compliance-per-revision-kind.png").is_file()
    return results, gens


def test_embedded_model_in_process(shared_data, tmp_path):
    config = {"model": {"model": "embedded", "max_tokens": 32, "batch_size": 16},
              "suites": suites(shared_data)}
    out = run_eval(EvalConfig.model_validate(config).named(), tmp_path / "out")
    results, gens = check_outputs(out, 24, 4, 3)
    assert results["model"]["name"] == "SmolLM2-135M-Instruct" and results["model"]["params"]["decoding"] == "greedy"

    # forget the finished suites: every answer comes from the response cache, nothing is generated again
    cache = out / ".redraft" / "cache" / "model.jsonl"
    cached = cache.read_bytes()
    for f in (out / ".redraft" / "suites").iterdir():
        f.unlink()
    again = run_eval(EvalConfig.model_validate(config).named(), tmp_path / "out")
    assert cache.read_bytes() == cached
    assert pq.read_table(again / "generations.parquet").to_pylist() == gens


def test_model_folder_in_process(tiny_llama_dir, shared_data, tmp_path):
    """A model folder as `redraft train` writes one (here a 2-layer random Llama: its answers are noise)."""
    config = {"model": {"model": str(tiny_llama_dir), "max_tokens": 8}, "suites": suites(shared_data, 6, 2, 2)}
    out = run_eval(EvalConfig.model_validate(config).named(), tmp_path / "out")
    results, _ = check_outputs(out, 6, 2, 2, answers=False)  # random weights may answer with nothing
    assert results["model"]["name"] == str(tiny_llama_dir) and results["model"]["params"]["weights"]


def test_transformers_serve(serve_url, smollm2_dir, shared_data, tmp_path):  # noqa: F811
    model = {"model": str(smollm2_dir), "base_url": serve_url, "api_key_env": None, "max_tokens": 24,
             "max_concurrency": 4}
    config = {"model": model, "suites": suites(shared_data, 6, 3, 2)}
    out = run_eval(EvalConfig.model_validate(config).named(), tmp_path / "out")
    results, gens = check_outputs(out, 6, 3, 2)
    assert results["model"]["kind"] == "server"

    # the same run against a server that is gone: every answer is in the response cache
    for f in (out / ".redraft" / "suites").iterdir():
        f.unlink()
    config["model"]["base_url"] = "http://127.0.0.1:9/v1"
    again = run_eval(EvalConfig.model_validate(config).named(), tmp_path / "out")
    assert pq.read_table(again / "generations.parquet").to_pylist() == gens
