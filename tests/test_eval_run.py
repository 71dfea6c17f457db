"""`redraft eval CONFIG --model HYPOTHESES -o DIR` on BayLing's released outputs: the suites score precomputed
hypotheses as `redraft eval score` does, publish results.json, generations.parquet and a report, re-run only what is
missing, refuse bad inputs with exit 2 without publishing, and `redraft eval compare` puts two systems side by side."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import yaml

from redraft.cli import main
from redraft.evals.score import score_files


def write_config(path, shared_data, limit=None):
    d = shared_data
    suites = [{"suite": "translation", "source": str(d / "wmt22/zhen.src"), "reference": str(d / "wmt22/zhen.ref"),
               "langs": "zh-en"},
              {"suite": "constrained", "data": str(d / "bayling_outputs/constrained/data/constraints.en-zh.zh.jsonl"),
               "langs": "en-zh"}]
    path.write_text(yaml.safe_dump({"suites": suites}))
    return path


def test_hypotheses_suites_report_and_resume(shared_data, tmp_path, capsys):
    d = shared_data
    hyp = d / "bayling_outputs/bayling-13b/zh-en.hypo"
    out = tmp_path / "out"
    cfg = write_config(tmp_path / "eval.yaml", d)
    assert main(["eval", str(cfg), "--set", "suites.1.name=cons", "--model", str(hyp), "-o", str(out)]) == 2
    err = capsys.readouterr().err  # the constrained data has 2037 lines, the zh-en hypotheses 1875
    assert str(hyp) in err and "constraints.en-zh.zh.jsonl" in err
    assert not (out / "results.json").exists()

    assert main(["eval", str(cfg), "--set", "suites=[" + json.dumps(yaml.safe_load(cfg.read_text())["suites"][0])
                 + "]", "--model", str(hyp), "-o", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    record = results["suites"]["translation-zh-en"]
    expected, _ = score_files(hyp, d / "wmt22/zhen.ref", "zh-en")
    for k in ("n", "bleu", "chrf", "bleu_signature", "chrf_signature"):
        assert record["metrics"][k] == expected[k]
    assert results["model"]["kind"] == "hypotheses" and len(record["data"]) == 2
    gens = pq.read_table(out / "generations.parquet").to_pylist()
    lines = hyp.read_text(encoding="utf-8").splitlines()
    assert [g["answer"] for g in gens] == lines and gens[3]["reference"] and gens[3]["chrf"] is not None
    assert "Provide the English translation for this sentence: " in gens[0]["messages"][0]["content"]
    report = (out / "README.md").read_text()
    assert "translation-zh-en" in report and (out / "plots" / "scores.png").stat().st_size > 1000

    # a re-run reuses the finished suite; a new suite in the config runs alone
    state = out / ".redraft" / "suites" / "translation-zh-en.json"
    stamp = state.stat().st_mtime_ns
    assert main(["eval", str(cfg), "--set", "suites.1.data=" + str(d / "bayling_outputs/constrained/bayling-13b/"
                                                                      "hypo.zh-en.en.jsonl"),
                 "--set", "suites.1.langs=zh-en", "--model", str(hyp), "-o", str(out)]) == 0
    assert state.stat().st_mtime_ns == stamp
    results = json.loads((out / "results.json").read_text())
    assert list(results["suites"]) == ["translation-zh-en", "constrained-zh-en"]
    # the zh-en hypotheses answer the constrained suite too (same sources, other order): they meet few constraints
    assert 0 < results["suites"]["constrained-zh-en"]["metrics"]["constraint_recall"] < 1


def test_constrained_released_jsonl_and_compare(shared_data, tmp_path, capsys):
    d = shared_data / "bayling_outputs/constrained"
    outs = []
    for system in ("bayling-13b", "gpt-3.5-turbo"):
        out = tmp_path / system
        assert main(["eval", "constrained", "--data", str(d / "data/constraints.zh-en.en.jsonl"), "--langs", "zh-en",
                     "--model", str(d / system / "hypo.zh-en.en.jsonl"), "-o", str(out)]) == 0
        m = json.loads((out / "results.json").read_text())["suites"]["constrained-zh-en"]["metrics"]
        rows = [json.loads(line) for line in (d / system / "hypo.zh-en.en.jsonl").open(encoding="utf-8")]
        found = [[c in r["hypo"].rstrip() for c in r["constraint"]] for r in rows]
        assert m["constraint_recall"] == sum(map(sum, found)) / sum(map(len, found))
        assert m["all_met"] == sum(map(all, found)) / len(rows)
        outs.append(out)
    capsys.readouterr()
    assert main(["eval", "compare", *map(str, outs), "-o", str(tmp_path / "cmp")]) == 0
    table = capsys.readouterr().out
    assert "bayling-13b" in table and "gpt-3.5-turbo" in table and "constraint_recall" in table
    assert (tmp_path / "cmp" / "compare.png").stat().st_size > 1000


def test_bad_inputs_exit_2(shared_data, tmp_path, capsys):
    d = shared_data
    ragged = tmp_path / "ragged.ref"
    ragged.write_text("\n".join(d.joinpath("wmt22/zhen.ref").read_text(encoding="utf-8").splitlines()[:-1]) + "\n")
    cases = [
        (["translation", "--src", str(d / "wmt22/zhen.src"), "--ref", str(ragged)], str(ragged)),
        (["translation", "--src", str(tmp_path / "nope.src"), "--ref", str(ragged)], "nope.src"),
        (["translation", "--src", str(d / "wmt22/zhen.src"), "--ref", str(d / "wmt22/zhen.ref"), "--langs", "zh-xx"],
         "'xx'"),
        (["constrained", "--data", str(d / "wmt22/zhen.src"), "--langs", "zh-en"], "zhen.src:1"),
        (["translation", "--src", str(d / "wmt22/zhen.src"), "--ref", str(d / "wmt22/zhen.ref"), "--set",
          "prompt=Translate {text}"], "prompt"),
    ]
    for args, expected in cases:
        if "--langs" not in args:
            args = [*args, "--langs", "zh-en"]
        code = main(["eval", *args, "--model", str(d / "bayling_outputs/bayling-13b/zh-en.hypo"), "-o",
                     str(tmp_path / "out")])
        err = capsys.readouterr().err
        assert code == 2 and expected in err, (args, err)
    assert not (tmp_path / "out" / "results.json").exists()


def test_eval_config_from_python_as_from_flags(shared_data, tmp_path):
    """`eval_config` builds what `redraft eval` runs, from keyword arguments (a notebook), with the CLI's checks."""
    import pytest

    from redraft.errors import UsageError
    from redraft.evals.config import eval_config

    d = shared_data
    hyp = str(d / "bayling_outputs/bayling-13b/zh-en.hypo")
    config = eval_config("translation", src=str(d / "wmt22/zhen.src"), ref=str(d / "wmt22/zhen.ref"), langs="zh-en",
                         limit=5, overrides=["prompt=Translate into English {src}"], model=hyp, max_tokens=32)
    (suite,) = config.suites
    assert (suite.name, suite.limit, suite.prompt) == ("translation-zh-en", 5, "Translate into English {src}")
    assert (config.model.model, config.model.max_tokens) == (hyp, 32)

    cfg = write_config(tmp_path / "eval.yaml", d)
    cfg.write_text(cfg.read_text().replace("  langs: en-zh\n", ""))  # suites.1, from line 6 on, has no `langs`
    cases = [(dict(overrides=["suites.0.limit=0"]), "--set suites.0.limit=0: suites.0.limit: Input should be"),
             (dict(overrides=["suites.2.limit=1"]), "--set suites.2.limit=1: no item 2 in a list of 2"),
             (dict(src="x.src"), "--src is for a suite named on the command line"),
             (dict(one_order=True), "--one-order is for a suite named on the command line")]
    for kwargs, message in cases:
        with pytest.raises(UsageError) as e:
            eval_config(str(cfg), model=hyp, **kwargs)
        assert message in str(e.value), (kwargs, e.value)
    with pytest.raises(UsageError, match=f"{cfg}:6: suites.1.langs: Field required"):
        eval_config(str(cfg), model=hyp)
    with pytest.raises(UsageError, match="no model under test"):
        eval_config("constrained", data="c.jsonl", langs="zh-en")
    with pytest.raises(UsageError, match="the constrained suite takes no --baseline"):
        eval_config("constrained", data="c.jsonl", langs="zh-en", baseline="b.jsonl", model=hyp)
