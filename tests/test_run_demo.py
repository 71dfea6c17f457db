"""`redraft run demo` with the embedded teacher: the walking skeleton, end to end, on a slice of the demo corpus."""

import json

import datasets
import pytest
import yaml

from redraft.recipes.runner import run_recipe
from redraft.types import DIALOGUE_COLUMNS


@pytest.mark.slow
def test_demo_writes_a_loadable_multi_turn_dataset(tmp_path):
    out = run_recipe("demo", ["synth.turns=2"], output=str(tmp_path / "demo"), limit=6)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["input"] == 6
    assert stats["input"] == stats["kept"] + sum(stats["dropped"].values()) + sum(stats["failed"].values())

    ds = datasets.load_dataset(str(out), split="train")
    assert len(ds) == stats["kept"] >= 4 and set(ds.column_names) == set(DIALOGUE_COLUMNS)
    for row in ds:
        roles = [m["role"] for m in row["messages"] if m["role"] != "system"]
        assert roles == ["user", "assistant", "user", "assistant"]  # a translation turn, then one revision turn
        assert len(row["revisions"]) == 1 and row["teacher"] and row["usage"]["completion_tokens"] > 0
        assert row["source_text"] in row["messages"][0]["content"] + row["messages"][-4]["content"]
    assert {r["src_lang"] for r in ds} == {"zh", "de"}  # the demo corpus mixes zh-en and de-en

    card = (out / "README.md").read_text()
    front = yaml.safe_load(card.split("---")[1])
    assert sorted(out.glob(front["configs"][0]["data_files"][0]["path"])) == sorted((out / "data").glob("*.parquet"))
    assert {"zh", "de", "en"} <= set(front["language"])
    assert yaml.safe_load((out / "recipe.yaml").read_text())["synth"]["turns"] == 2

    # same command again: nothing left to do, identical rows
    rows = ds.to_list()
    run_recipe("demo", ["synth.turns=2"], output=str(out), limit=6)
    assert datasets.load_dataset(str(out), split="train").to_list() == rows


def test_run_with_bad_input_exits_2_before_any_teacher_call(tmp_path):
    import subprocess
    import sys

    bad = tmp_path / "pairs.tsv"
    bad.write_text("今天下雨。\tIt is raining today.\n" * 3 + "没有制表符的一行\n")
    out = tmp_path / "out"
    # a teacher URL where nothing listens: reaching it would fail with exit 1, not 2
    r = subprocess.run([sys.executable, "-m", "redraft.cli", "run", "bayling-zh-en", "-o", str(out),
                        "--set", f"source.path={bad}", "--set", "teacher.base_url=http://127.0.0.1:9/v1"],
                       capture_output=True, text=True)
    assert r.returncode == 2, r.stderr
    assert f"{bad}:4: expected 2 tab-separated fields" in r.stderr
    assert not out.exists() or not any(p.name in ("data", "stats.json", "README.md") for p in out.iterdir())
