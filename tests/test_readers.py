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


def documents(reader: ItemReader, tasks: int) -> list[tuple]:
    """(id, text, metadata) of every document the `tasks` tasks read, in rank order."""
    reader.plan_shares(tasks)
    return [(d.id, d.text, d.metadata) for rank in range(tasks) for d in reader.run(None, rank, tasks)]


def test_parquet_pairs_read_by_column_are_the_rows_read_one_by_one(tmp_path):
    """A parquet file of pairs is read column by column: the same documents as the same rows in JSON lines (read one
    by one): the row's id when it has one (null and empty ids get the content hash), its languages when given."""
    n = 300
    rows = [{"id": None if i % 3 == 0 else "" if i % 7 == 0 else f"p{i}",
             "src": f"Satz {i}" + " lang" * (i % 5), "tgt": f"Sentence {i}", "extra": i,
             "src_lang": "fr" if i % 4 == 0 else None, "tgt_lang": None}
            for i in range(n)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "p.parquet", row_group_size=16)
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    expected = [(d.id, d.text, d.metadata) for d in read(tmp_path / "p.jsonl", src_lang="de", tgt_lang="en")]
    assert [d[0] for d in expected] == [r["id"] or item_id(r["src_lang"] or "de", "en", r["src"], r["tgt"])
                                        for r in rows]
    assert expected[3][0] == item_id("de", "en", "Satz 3 lang lang lang", "Sentence 3") and expected[7][0] != ""
    reader = ItemReader(str(tmp_path / "p.parquet"), src_lang="de", tgt_lang="en")
    for tasks in (1, 3, 8):
        got = documents(reader, tasks)
        assert [(i, t, {k: v for k, v in m.items() if k != "_position"}) for i, t, m in got] == expected, tasks
        assert [m["_position"] for *_, m in got] == list(range(n))


def test_a_parquet_value_that_is_not_text_is_named_by_its_row_from_any_task(tmp_path):
    sources = [f"Satz {i}" for i in range(200)]
    sources[150] = None
    pq.write_table(pa.table({"source": sources, "target": [f"Sentence {i}" for i in range(200)]}),
                   tmp_path / "p.parquet", row_group_size=10)
    reader = ItemReader(str(tmp_path / "p.parquet"), src_lang="de", tgt_lang="en")
    reader.plan_shares(8)
    with pytest.raises(InputError, match=r"p.parquet:row 151: source and target must be strings"):
        for rank in range(8):
            list(reader.run(None, rank, 8))
    assert rank > 0  # a later task's share: the row is counted from the file's start
    pq.write_table(pa.table({"source": list(range(5)), "target": ["a"] * 5}), tmp_path / "n.parquet")
    with pytest.raises(InputError, match=r"n.parquet:row 1: source and target must be strings"):
        read(tmp_path / "n.parquet", src_lang="de", tgt_lang="en")
