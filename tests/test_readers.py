"""Readers (redraft/readers.py): every input format reads the same pairs, bad lines are named, shards cover all."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from redraft.errors import InputError, UsageError
from redraft.readers import ItemReader
from redraft.types import item_id

PAIRS = [("今天下雨。", "It is raining today."), ("我很好。", "I am fine."), ("谢谢你。", "Thank you.")]


def read(path, **kw):
    return list(ItemReader(str(path), **kw).read())


def assert_pairs(docs, pairs=PAIRS, langs=("zh", "en")):
    assert [(d.text, d.metadata["reference_text"]) for d in docs] == pairs
    assert all((d.metadata["src_lang"], d.metadata["tgt_lang"]) == langs for d in docs)
    assert [d.id for d in docs] == [item_id(*langs, s, t) for s, t in pairs]


def test_every_pair_format_reads_the_same_pairs(tmp_path):
    tsv = tmp_path / "p.tsv"
    tsv.write_text("".join(f"{s}\t{t}\n" for s, t in PAIRS))
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text("".join(json.dumps({"src": s, "tgt": t}) + "\n" for s, t in PAIRS))
    parquet = tmp_path / "p.parquet"
    pq.write_table(pa.table({"source": [s for s, _ in PAIRS], "target": [t for _, t in PAIRS]}), parquet)
    (tmp_path / "p.zh").write_text("".join(s + "\n" for s, _ in PAIRS))
    (tmp_path / "p.en").write_text("".join(t + "\n" for _, t in PAIRS))
    for path, kw in [(tsv, {}), (jsonl, {}), (parquet, {}), (tmp_path / "p.zh", {"target_path": str(tmp_path / "p.en")})]:
        assert_pairs(read(path, src_lang="zh", tgt_lang="en", **kw))


def test_a_json_file_is_format_json_and_reads_as_an_array_or_as_lines(tmp_path):
    rows = [{"source": s, "target": t} for s, t in PAIRS]
    array = tmp_path / "array.json"
    array.write_text(json.dumps(rows, ensure_ascii=False))
    lines = tmp_path / "lines.json"
    lines.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "a.json").write_text(json.dumps(rows[:1], ensure_ascii=False))
    (tmp_path / "folder" / "b.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows[1:]))
    for path in (array, lines, tmp_path / "folder"):
        reader = ItemReader(str(path), src_lang="zh", tgt_lang="en")
        assert reader.format == "json"
        assert_pairs(list(reader.read()))
    assert ItemReader(str(tmp_path / "folder" / "b.jsonl"), src_lang="zh", tgt_lang="en").format == "jsonl"


def test_ragged_tsv_names_file_and_line(tmp_path):
    p = tmp_path / "bad.tsv"
    p.write_text("a\tb\nc\td\te\n")
    with pytest.raises(InputError, match=r"bad.tsv:2: expected 2 tab-separated fields"):
        read(p, src_lang="de", tgt_lang="en")


def test_undecodable_and_invalid_json_name_the_line(tmp_path):
    p = tmp_path / "bad.tsv"
    p.write_bytes("gut\tgood\n".encode() + b"\xff\xfe\tbad\n")
    with pytest.raises(InputError, match=r"bad.tsv:2: not valid UTF-8"):
        read(p, src_lang="de", tgt_lang="en")
    j = tmp_path / "bad.jsonl"
    j.write_text('{"source": "a", "target": "b"}\n{"source": "a", "target": \n')
    with pytest.raises(InputError, match=r"bad.jsonl:2: not valid JSON"):
        read(j, src_lang="de", tgt_lang="en")
    j.write_text('{"source": "a", "target": "b"}\n{"text": "a"}\n')
    with pytest.raises(InputError, match=r"bad.jsonl:2: no source/target columns"):
        read(j, src_lang="de", tgt_lang="en")


def test_text_files_must_be_line_aligned(tmp_path):
    (tmp_path / "a.de").write_text("eins\nzwei\ndrei\n")
    (tmp_path / "a.en").write_text("one\ntwo\n")
    with pytest.raises(InputError, match=r"a.en:3: ends early"):
        read(tmp_path / "a.de", target_path=str(tmp_path / "a.en"), src_lang="de", tgt_lang="en")


def test_languages_must_be_known(tmp_path):
    p = tmp_path / "p.tsv"
    p.write_text("a\tb\n")
    with pytest.raises(UsageError, match="languages"):
        read(p)


def test_dialogues_keep_their_fields(tmp_path):
    row = {"id": "d1", "messages": [{"role": "user", "content": "Translate: Hallo"}, {"role": "assistant",
           "content": "Hello"}], "src_lang": "de", "tgt_lang": "en", "source_text": "Hallo",
           "reference_text": "Hello", "revisions": [], "teacher": "t", "usage": {"prompt_tokens": 3,
                                                                                 "completion_tokens": 1}}
    p = tmp_path / "d.jsonl"
    p.write_text(json.dumps(row) + "\n" + json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n")
    first, foreign = read(p)
    assert first.id == "d1" and first.metadata["messages"] == row["messages"] and first.metadata["teacher"] == "t"
    assert foreign.text == "hi" and foreign.metadata["src_lang"] == "und"  # any messages dataset reads
    p.write_text(json.dumps({"messages": "not a list"}) + "\n")
    with pytest.raises(InputError, match=r"d.jsonl:1: `messages` must be a list"):
        read(p)


def test_shards_cover_every_item_once(tmp_path):
    p = tmp_path / "p.tsv"
    p.write_text("".join(f"s{i}\tt{i}\n" for i in range(10)))
    reader = ItemReader(str(p), src_lang="de", tgt_lang="en", limit=9)
    shards = [[d.text for d in reader.run(None, rank, 3)] for rank in range(3)]
    assert sorted(sum(shards, [])) == [f"s{i}" for i in range(9)]
    assert all(len(s) == 3 for s in shards)
