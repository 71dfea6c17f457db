"""`redraft stats` (filters/stats.py): the funnel and summaries of an output folder, its plots, and what it reads."""

import json

import pyarrow as pa
import pyarrow.parquet as pq

from redraft.filters.stats import print_report, summarize, write_plots
from redraft.types import DIALOGUE_SCHEMA, rejected_schema


def make_output(tmp_path):
    rows = [{"id": str(i), "messages": [{"role": "user", "content": "Translate: Hallo"},
                                         {"role": "assistant", "content": "Hello"}],
             "src_lang": "de", "tgt_lang": "en", "source_text": "Hallo" * (i + 1), "reference_text": "Hello",
             "revisions": ["shorten"] if i % 2 else [], "revision_args": ['{"max_words": 3}'] if i % 2 else [],
             "teacher": "t", "usage": {"prompt_tokens": 1, "completion_tokens": 1}} for i in range(5)]
    (tmp_path / "data").mkdir()
    pq.write_table(pa.Table.from_pylist(rows, schema=DIALOGUE_SCHEMA), tmp_path / "data" / "00000.parquet")
    (tmp_path / "rejected").mkdir()
    rej = [dict(rows[0], status="dropped", reason="lang_mismatch"), dict(rows[1], status="failed", reason="timeout")]
    pq.write_table(pa.Table.from_pylist(rej, schema=rejected_schema(DIALOGUE_SCHEMA)), tmp_path / "rejected" / "a.parquet")
    return tmp_path


def test_summary_adds_up_from_rejected_rows(tmp_path):
    stats = summarize(make_output(tmp_path))
    assert stats["kept"] == 5 and stats["dropped"] == {"lang_mismatch": 1} and stats["failed"] == {"timeout": 1}
    assert stats["input"] == stats["kept"] + 2
    assert stats["summary"]["revision_kinds"] == {"shorten": 2}
    assert stats["summary"]["languages"] == {"de-en": 5}


def test_stats_json_wins_and_plots_are_written(tmp_path, capsys):
    out = make_output(tmp_path)
    (out / "stats.json").write_text(json.dumps({"input": 9, "kept": 5, "dropped": {"x": 4}, "failed": {}}))
    assert print_report(str(out)) == 0
    printed = capsys.readouterr().out
    assert "input 9" in printed and "dropped x: 4" in printed
    assert not (out / "plots").exists()  # stats only reads, unless asked for plots
    assert print_report(str(out), str(tmp_path / "plots")) == 0
    names = sorted(p.name for p in (tmp_path / "plots").glob("*.png"))
    assert names == ["funnel.png", "languages.png", "lengths.png", "revision_kinds.png"]
    assert all(p.stat().st_size > 1000 for p in (tmp_path / "plots").glob("*.png"))
    assert write_plots(tmp_path / "p2", summarize(out), out)
