"""`redraft filter` / `dedupe` / `stats` / `show` on real WMT22 pairs, and what bad input does."""

import json
import subprocess
import sys

import datasets
import pyarrow.parquet as pq
import pytest
import yaml

from redraft.cli import main


def redraft(*args):
    return subprocess.run([sys.executable, "-m", "redraft.cli", *map(str, args)], capture_output=True, text=True)


@pytest.fixture
def deen_tsv(shared_data, tmp_path):
    src = (shared_data / "wmt22" / "deen.src").read_text().splitlines()[:300]
    ref = (shared_data / "wmt22" / "deen.ref").read_text().splitlines()[:300]
    rows = [f"{s}\t{r}" for s, r in zip(src, ref)]
    p = tmp_path / "deen.tsv"
    p.write_text("\n".join(rows + rows[:20] + ["Hallo Welt, wie geht es dir heute?\tHallo Welt, wie geht es dir heute?"])
                 + "\n")
    return p


def funnel_adds_up(stats):
    return stats["input"] == stats["kept"] + sum(stats["dropped"].values()) + sum(stats["failed"].values())


def test_filter_then_dedupe_real_pairs(deen_tsv, tmp_path):
    out = tmp_path / "clean"
    assert main(["filter", str(deen_tsv), "--langs", "de-en", "-o", str(out)]) == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["input"] == 321 and funnel_adds_up(stats)
    assert stats["dropped"].get("copied_source") == 1  # the planted copy
    ds = datasets.load_dataset(str(out), split="train")
    assert len(ds) == stats["kept"] and set(ds.column_names) == {"id", "src_lang", "tgt_lang", "source_text",
                                                                 "reference_text"}
    rejected = pq.read_table(out / "rejected").to_pylist()
    assert len(rejected) == sum(stats["dropped"].values()) and all(r["reason"] for r in rejected)
    card = (out / "README.md").read_text()
    assert card.startswith("---\n") and "plots/funnel.png" in card
    pattern = yaml.safe_load(card.split("---")[1])["configs"][0]["data_files"][0]["path"]
    assert sorted(out.glob(pattern)) == sorted((out / "data").glob("*.parquet"))

    dedup = tmp_path / "dedup"
    assert main(["dedupe", str(out), "-o", str(dedup)]) == 0
    d = json.loads((dedup / "stats.json").read_text())
    assert d["input"] == stats["kept"] and d["dropped"]["duplicate"] >= 20 and funnel_adds_up(d)
    ids = datasets.load_dataset(str(dedup), split="train")["id"]
    assert len(ids) == len(set(ids))  # exact copies share the content id; one of each is kept


def test_rerun_reproduces_rows(deen_tsv, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["filter", str(deen_tsv), "--langs", "de-en", "-o", str(a)]) == 0
    assert main(["filter", str(deen_tsv), "--langs", "de-en", "-o", str(b)]) == 0
    assert main(["filter", str(deen_tsv), "--langs", "de-en", "-o", str(a)]) == 0  # nothing left to do, same output
    assert pq.read_table(a / "data").to_pylist() == pq.read_table(b / "data").to_pylist()


def test_bad_input_exits_2_and_publishes_nothing(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("Guten Morgen.\tGood morning.\n" * 50 + "kaputt ohne Tab\n")
    out = tmp_path / "out"
    r = redraft("filter", bad, "--langs", "de-en", "-o", out)
    assert r.returncode == 2, r.stderr
    assert f"{bad}:51:" in r.stderr
    assert not (out / "data").exists() and not (out / "stats.json").exists()


def test_bad_input_keeps_an_earlier_good_output(tmp_path):
    good = tmp_path / "in.tsv"
    good.write_text("Guten Morgen.\tGood morning.\nDanke schön.\tThank you very much.\n")
    out = tmp_path / "out"
    assert main(["filter", str(good), "--langs", "de-en", "-o", str(out)]) == 0
    before = pq.read_table(out / "data").to_pylist()
    good.write_bytes(good.read_bytes() + b"\xff\xfe\tbroken\n")
    r = redraft("filter", good, "--langs", "de-en", "-o", out)
    assert r.returncode == 2 and "not valid UTF-8" in r.stderr
    assert pq.read_table(out / "data").to_pylist() == before


def test_show_and_stats(deen_tsv, tmp_path, capsys):
    out = tmp_path / "clean"
    assert main(["filter", str(deen_tsv), "--langs", "de-en", "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["show", str(out), "-n", "2"]) == 0
    shown = capsys.readouterr().out
    assert shown.count("── ") == 2 and "[source]" in shown
    assert main(["stats", str(out)]) == 0
    assert "kept" in capsys.readouterr().out and (out / "plots" / "funnel.png").stat().st_size > 1000


def test_usage_errors_exit_2(tmp_path):
    assert redraft("filter", tmp_path / "missing.tsv", "-o", tmp_path / "o").returncode == 2
    assert redraft("filter", tmp_path / "x.tsv", "-o", tmp_path / "o", "--set", "a=b").returncode == 2
    assert redraft("run").returncode == 2  # argparse: missing recipe


def test_load_dataset_sees_a_rerun_with_new_rows(tmp_path):
    """`datasets` caches a folder with `configs` in its card by config alone: the shard names must change with content."""
    pairs = tmp_path / "in.tsv"
    pairs.write_text("Guten Morgen.\tGood morning.\nDanke schön.\tThank you very much.\n")
    out = tmp_path / "out"
    assert main(["filter", str(pairs), "--langs", "de-en", "-o", str(out)]) == 0
    assert len(datasets.load_dataset(str(out), split="train")) == 2
    pairs.write_text(pairs.read_text() + "Bis morgen.\tSee you tomorrow.\n")
    assert main(["filter", str(pairs), "--langs", "de-en", "-o", str(out)]) == 0
    assert len(datasets.load_dataset(str(out), split="train")) == 3
