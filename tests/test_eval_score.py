"""`redraft eval score` on BayLing's released outputs gives the sacrebleu command line's own numbers, and the
constraint metrics on the released constrained translations."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from redraft.evals.score import score_files

SACREBLEU = str(Path(sys.executable).with_name("sacrebleu"))
REDRAFT = str(Path(sys.executable).with_name("redraft"))
SYSTEMS = [(system, pair) for system in ("bayling-13b", "gpt-4") for pair in ("zh-en", "en-zh", "de-en", "en-de")]


def sacrebleu_lines(hyp, ref, langs: str, width: int = 4) -> list[str]:
    out = subprocess.run([SACREBLEU, str(ref), "-i", str(hyp), "-l", langs, "-m", "bleu", "chrf", "-f", "text",
                          "-w", str(width)], capture_output=True, text=True, check=True).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


@pytest.mark.parametrize("system,pair", SYSTEMS)
def test_released_hypotheses_score_as_sacrebleu_does(shared_data, system, pair):
    hyp = shared_data / "bayling_outputs" / system / f"{pair}.hypo"
    ref = shared_data / "wmt22" / f"{pair.replace('-', '')}.ref"
    result, scores = score_files(hyp, ref, pair)
    # the same lines, signature (tokenizer included: sacrebleu picks it from -l) and every digit
    assert [line.strip() for line in scores.lines(4)] == sacrebleu_lines(hyp, ref, pair)
    assert result["n"] == len(ref.read_text(encoding="utf-8").splitlines())
    assert ("tok:zh" in result["bleu_signature"]) == pair.endswith("-zh")


def test_cli_json_line(shared_data):
    hyp, ref = shared_data / "bayling_outputs/bayling-13b/en-zh.hypo", shared_data / "wmt22/enzh.ref"
    run = subprocess.run([REDRAFT, "eval", "score", "--hyp", str(hyp), "--ref", str(ref), "--langs", "en-zh",
                          "--json", "-w", "2"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    result = json.loads(lines[-1])
    assert {"n", "bleu", "chrf", "bleu_signature", "chrf_signature"} <= set(result)
    assert [line.strip() for line in lines[:2]] == sacrebleu_lines(hyp, ref, "en-zh", width=2)
    cli_json = json.loads(subprocess.run([SACREBLEU, str(ref), "-i", str(hyp), "-l", "en-zh", "-m", "bleu", "chrf",
                                          "-w", "4"], capture_output=True, text=True, check=True).stdout)
    assert [round(result["bleu"], 4), round(result["chrf"], 4)] == [m["score"] for m in cli_json]
    assert [result["bleu_signature"], result["chrf_signature"]] == [m["signature"] for m in cli_json]


def test_japanese_target_uses_mecab_like_sacrebleu(shared_data, tmp_path):
    pytest.importorskip("MeCab", reason="sacrebleu[ja] (the `ja` extra) is not installed")
    refs = (shared_data / "wmt22/enja.ref").read_text(encoding="utf-8").splitlines()[:40]
    hyp, ref = tmp_path / "hyp.ja", tmp_path / "ref.ja"
    ref.write_text("\n".join(refs) + "\n", encoding="utf-8")
    hyp.write_text("\n".join(r[: max(1, len(r) * 3 // 4)] for r in refs) + "\n", encoding="utf-8")
    result, scores = score_files(hyp, ref, "en-ja")
    assert "tok:ja-mecab" in result["bleu_signature"]
    assert [line.strip() for line in scores.lines(4)] == sacrebleu_lines(hyp, ref, "en-ja")


@pytest.mark.parametrize("system", ["bayling-13b", "gpt-3.5-turbo"])
@pytest.mark.parametrize("pair", ["en-zh", "zh-en"])
def test_constrained_outputs(shared_data, tmp_path, system, pair):
    tgt = pair.split("-")[1]
    rows = [json.loads(line) for line in
            (shared_data / f"bayling_outputs/constrained/{system}/hypo.{pair}.{tgt}.jsonl").open(encoding="utf-8")]
    hyp, ref, cons = tmp_path / "hyp", tmp_path / "ref", tmp_path / "constraints.jsonl"
    hyp.write_text("".join(r["hypo"] + "\n" for r in rows), encoding="utf-8")
    ref.write_text("".join(r["tgt"] + "\n" for r in rows), encoding="utf-8")
    cons.write_text("".join(json.dumps({"constraint": r["constraint"]}, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")
    result, scores = score_files(hyp, ref, pair, cons)
    assert [line.strip() for line in scores.lines(4)] == sacrebleu_lines(hyp, ref, pair)
    found = [[c in r["hypo"].rstrip() for c in r["constraint"]] for r in rows]
    assert result["constraints"] == sum(map(len, found))
    assert result["constraint_recall"] == sum(map(sum, found)) / sum(map(len, found))
    assert result["all_met"] == sum(map(all, found)) / len(rows)
    assert 0 < result["constraint_recall"] < 1  # neither system meets every constraint
    # every constraint is a substring of its reference (SOURCE.md): the references meet them all
    perfect, _ = score_files(ref, ref, pair, cons)
    assert perfect["constraint_recall"] == perfect["all_met"] == 1.0


def test_bad_inputs_exit_2_naming_the_files(shared_data, tmp_path, capsys):
    from redraft.cli import main

    hyp, ref = shared_data / "bayling_outputs/gpt-4/de-en.hypo", shared_data / "wmt22/ende.ref"

    def run(*args):
        code = main(["eval", "score", *map(str, args)])
        return subprocess.CompletedProcess(args, code, "", capsys.readouterr().err)

    r = run("--hyp", hyp, "--ref", ref, "--langs", "de-en")
    assert r.returncode == 2 and str(hyp) in r.stderr and str(ref) in r.stderr
    r = run("--hyp", hyp, "--ref", tmp_path / "missing.ref", "--langs", "de-en")
    assert r.returncode == 2 and "missing.ref" in r.stderr
    r = run("--hyp", hyp, "--ref", shared_data / "wmt22/deen.ref", "--langs", "de-qq")
    assert r.returncode == 2 and "'qq'" in r.stderr
    bad = tmp_path / "c.jsonl"
    bad.write_text('{"constraint": ["a"]}\n' * 3 + '{"constraint": "a"}\n', encoding="utf-8")
    small = tmp_path / "h"
    small.write_text("a\nb\nc\nd\n")
    r = run("--hyp", small, "--ref", small, "--langs", "de-en", "--constraints", bad)
    assert r.returncode == 2 and f"{bad}:4" in r.stderr
