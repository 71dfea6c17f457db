"""Shares (redraft/shares.py, redraft/readers.py): each task reads only its share, and the shares of any task count,
put together in rank order, are the input in order: the same items, the same positions, the same first `limit`
items and the same errors (file and line) as one task reading everything."""

import copy
import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from redraft.errors import InputError
from redraft.readers import BUFFER, InputChanged, ItemReader
from redraft.shares import Piece, Unit, assign
from redraft.types import POSITION

TASKS = (1, 3, 8, 64)


def pair(i: int) -> tuple[str, str]:
    """Pair i: lengths vary (a long one now and then), so byte ranges do not fall on line boundaries."""
    filler = " und noch mehr" * (i % 7) + (" lang" * 400 if i % 97 == 13 else "")
    return f"Satz Nummer {i}{filler}, größer als {i - 1}.", f"Sentence number {i}{' and more' * (i % 5)}."


def items(reader: ItemReader, tasks: int) -> list[list[tuple]]:
    """What each task reads: (id, source, reference, position) of its items."""
    reader.plan_shares(tasks)
    return [[(d.id, d.text, d.metadata["reference_text"], d.metadata[POSITION]) for d in reader.run(None, rank, tasks)]
            for rank in range(tasks)]


def tsv_lines(n: int, start: int = 0) -> list[str]:
    return [f"{s}\t{t}" for s, t in map(pair, range(start, start + n))]


def write_inputs(root):
    """One input per case a share is cut in: {name: (path, reader options)}."""
    cases = {}
    one = root / "one.tsv"  # byte ranges of one file: a BOM, CRLF and blank lines, no newline at the end
    lines = tsv_lines(500)
    lines[10:10] = ["", "   "]
    one.write_bytes(("\ufeff" + "\n".join(lines[:300]) + "\r\n" + "\r\n".join(lines[300:])).encode())
    cases["tsv"] = (one, {})

    folder = root / "many"  # a many-file folder: files of every size, an empty one, a gzip one (read whole)
    (folder / "sub").mkdir(parents=True)
    sizes, at = [0, 3, 60, 1, 200, 17, 90, 5], 0
    for k, n in enumerate(sizes):
        body = "".join(line + "\n" for line in tsv_lines(n, at))
        (folder / f"part-{k:02d}.tsv").write_text(body, encoding="utf-8")
        at += n
    (folder / "part-03.tsv").write_text("\n\n", encoding="utf-8")  # blank lines only
    with gzip.open(folder / "part-04b.tsv.gz", "wt", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in tsv_lines(40, 10_000)))
    (folder / "sub" / "z.tsv").write_text("".join(line + "\n" for line in tsv_lines(30, 20_000)), encoding="utf-8")
    cases["folder"] = (folder, {})

    jsonl = root / "p.jsonl"
    jsonl.write_text("".join(json.dumps({"src": s, "tgt": t}, ensure_ascii=False) + "\n"
                             for s, t in map(pair, range(400))), encoding="utf-8")
    cases["jsonl"] = (jsonl, {})

    mixed = root / "json"  # .json files: JSON arrays (read whole) between JSON-lines files (split by bytes)
    mixed.mkdir()
    rows = [{"source": s, "target": t} for s, t in map(pair, range(300))]
    (mixed / "a.json").write_text(json.dumps(rows[:40], ensure_ascii=False, indent=1), encoding="utf-8")
    (mixed / "b.json").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows[40:200]))
    (mixed / "c.json").write_text(json.dumps(rows[200:230], ensure_ascii=False), encoding="utf-8")
    (mixed / "d.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows[230:]))
    cases["json"] = (mixed, {})

    parquet = root / "parquet"  # row groups of several files
    parquet.mkdir()
    at = 0
    for k, (n, group) in enumerate([(50, 7), (1, 1), (120, 16), (33, 40)]):
        pairs = [pair(i) for i in range(at, at + n)]
        pq.write_table(pa.table({"source": [s for s, _ in pairs], "target": [t for _, t in pairs]}),
                       parquet / f"{k:03d}.parquet", row_group_size=group)
        at += n
    cases["parquet"] = (parquet, {})

    src, tgt = root / "p.de", root / "p.en"  # two aligned text files
    pairs = [pair(i) for i in range(700)]
    src.write_text("".join(s + "\n" for s, _ in pairs), encoding="utf-8")
    tgt.write_text("".join(t + "\n" for _, t in pairs), encoding="utf-8")
    cases["text"] = (src, {"target_path": str(tgt)})
    return cases


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return write_inputs(tmp_path_factory.mktemp("shares"))


@pytest.fixture(autouse=True)
def small_text_index(monkeypatch):
    monkeypatch.setattr("redraft.readers.TEXT_INDEX_EVERY", 16)  # many marks for a small file


def test_assign_cuts_contiguous_balanced_runs():
    units = [Unit(Piece(0, 0, 1000), 1000, splittable=True), Unit(Piece(1), 10), Unit(Piece(2, 0, 500), 500, True)]
    shares = assign(units, 4)  # total 1510: cuts at 377, 755, 1132
    assert shares == [[Piece(0, 0, 377)], [Piece(0, 377, 755)], [Piece(0, 755, 1000), Piece(1), Piece(2, 0, 122)],
                      [Piece(2, 122, 500)]]
    groups = [Unit(Piece(0, 10 * g, 10 * g + 10), 10) for g in range(5)]  # row groups: whole, adjacent ones merged
    assert assign(groups, 2) == [[Piece(0, 0, 20)], [Piece(0, 20, 50)]]
    # more tasks than row groups: each goes to the task holding its middle, some tasks get nothing
    assert assign(groups, 8) == [[Piece(0, 0, 10)], [], [Piece(0, 10, 20)], [], [Piece(0, 20, 30)],
                                 [Piece(0, 30, 40)], [], [Piece(0, 40, 50)]]
    assert assign([], 3) == [[], [], []]


@pytest.mark.parametrize("case", ["tsv", "folder", "jsonl", "json", "parquet", "text"])
def test_shares_of_any_task_count_are_the_input_in_order(inputs, case):
    path, options = inputs[case]
    reader = ItemReader(str(path), src_lang="de", tgt_lang="en", **options)
    (whole,) = items(reader, 1)
    assert [(d.id, d.text) for d in reader.read()] == [(i, s) for i, s, _, _ in whole]
    positions = [p for *_, p in whole]
    assert positions == sorted(set(positions)) and len(whole) > 100
    for tasks in TASKS[1:]:
        shares = items(reader, tasks)
        assert sum(shares, []) == whole, tasks
        assert sum(1 for s in shares if s) >= min(tasks, 3)  # the input is spread, not read by one task
    for tasks in TASKS:  # `limit`: the first N items in input order, whatever the task count
        limited = ItemReader(str(path), src_lang="de", tgt_lang="en", limit=37, **options)
        assert sum(items(limited, tasks), []) == whole[:37], tasks


def test_a_bad_line_is_named_by_file_and_line_from_any_task(tmp_path):
    lines = tsv_lines(2000)
    lines[1499] = "ohne Tabulator"
    bad = tmp_path / "bad.tsv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    undecodable = tmp_path / "undecodable.tsv"
    undecodable.write_bytes("\n".join(tsv_lines(1700)).encode() + b"\n\xff\xfe\tx\n")
    jsonl = tmp_path / "bad.jsonl"
    rows = [json.dumps({"source": s, "target": t}) for s, t in map(pair, range(1300))]
    rows[1199] = '{"source": "a", "target": '
    jsonl.write_text("\n".join(rows) + "\n")
    for path, message in ((bad, "bad.tsv:1500: expected 2 tab-separated fields"),
                          (undecodable, "undecodable.tsv:1701: not valid UTF-8"),
                          (jsonl, "bad.jsonl:1200: not valid JSON")):
        reader = ItemReader(str(path), src_lang="de", tgt_lang="en")
        reader.plan_shares(8)
        with pytest.raises(InputError, match=message):
            for rank in range(8):
                list(reader.run(None, rank, 8))
        assert rank > 0  # the bad line lies in a later task's share: that task named its line all the same


def test_two_text_files_of_different_lengths_stop_before_any_task(tmp_path):
    (tmp_path / "a.de").write_text("eins\nzwei\ndrei\n")
    (tmp_path / "a.en").write_text("one\ntwo\n")
    reader = ItemReader(str(tmp_path / "a.de"), target_path=str(tmp_path / "a.en"), src_lang="de", tgt_lang="en")
    with pytest.raises(InputError, match=r"a.en:3: ends early"):
        reader.plan_shares(2)
    limited = ItemReader(str(tmp_path / "a.de"), target_path=str(tmp_path / "a.en"), src_lang="de", tgt_lang="en",
                         limit=2)
    limited.plan_shares(2)
    assert [d.text for rank in (0, 1) for d in limited.run(None, rank, 2)] == ["eins", "zwei"]


def test_a_file_changed_since_the_shares_were_cut_stops_its_task(tmp_path):
    path = tmp_path / "p.tsv"
    path.write_text("\n".join(tsv_lines(100)) + "\n")
    reader = ItemReader(str(path), src_lang="de", tgt_lang="en")
    reader.plan_shares(2)
    with path.open("a") as f:
        f.write("Noch ein Satz.\tOne more sentence.\n")
    with pytest.raises(InputChanged, match=f"{path}: changed since the run started"):
        list(reader.run(None, 1, 2))


def input_bytes(reader: ItemReader, rank: int, tasks: int) -> int:
    """What task `rank` read from the input files (its reader's `input_bytes` stat)."""
    task = copy.deepcopy(reader)
    for _ in task.run(None, rank, tasks):
        pass
    return task.stats["input_bytes"].total


@pytest.mark.parametrize("tasks", [2, 8])
def test_each_task_reads_its_share_and_hardly_more(tmp_path, tasks):
    lines = tsv_lines(12_000)
    path = tmp_path / "big.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    size, longest = path.stat().st_size, max(len(line.encode()) + 1 for line in lines)
    reader = ItemReader(str(path), src_lang="de", tgt_lang="en")
    reader.plan_shares(tasks)
    read = [input_bytes(reader, rank, tasks) for rank in range(tasks)]
    # its byte range, the rest of its last line, and at most one read-ahead buffer past it
    assert max(read) <= size / tasks + longest + BUFFER, (read, size)
    assert sum(read) <= size + tasks * (longest + BUFFER)
    assert min(read) >= size / tasks - longest


def test_aligned_text_files_and_parquet_row_groups_are_read_in_shares(tmp_path):
    pairs = [pair(i) for i in range(12_000)]
    src, tgt = tmp_path / "p.de", tmp_path / "p.en"
    src.write_text("".join(s + "\n" for s, _ in pairs), encoding="utf-8")
    tgt.write_text("".join(t + "\n" for _, t in pairs), encoding="utf-8")
    size = src.stat().st_size + tgt.stat().st_size
    longest = max(len(s.encode()) + len(t.encode()) + 2 for s, t in pairs)
    reader = ItemReader(str(src), target_path=str(tgt), src_lang="de", tgt_lang="en")
    reader.plan_shares(8)
    read = [input_bytes(reader, rank, 8) for rank in range(8)]
    # lines are balanced, not bytes: a share is about size/8; up to 16 lines skipped from the mark, a buffer each
    assert max(read) <= 1.5 * size / 8 + 16 * longest + 2 * BUFFER, (read, size)

    table = pa.table({"source": [s for s, _ in pairs], "target": [t for _, t in pairs]})
    pq.write_table(table, tmp_path / "p.parquet", row_group_size=500, compression="none")
    size = (tmp_path / "p.parquet").stat().st_size
    reader = ItemReader(str(tmp_path / "p.parquet"), src_lang="de", tgt_lang="en")
    reader.plan_shares(8)
    read = [input_bytes(reader, rank, 8) for rank in range(8)]
    footer = pq.ParquetFile(tmp_path / "p.parquet").metadata.serialized_size + 8
    assert max(read) <= 4 * 500 / 12_000 * size + size / 8 + 2 * footer + BUFFER, (read, size)
    assert sum(read) <= 1.2 * size + 8 * (2 * footer + BUFFER)


def expected_lines(data: bytes) -> list[tuple[int, str]]:
    """(byte offset, text) of the non-blank lines of a TSV file's bytes, split the plain way."""
    out, offset = [], 0
    for raw in data.split(b"\n"):
        text = raw.decode("utf-8").rstrip("\r")
        if text.strip():
            out.append((offset, text.lstrip("\ufeff") if offset == 0 else text))
        offset += len(raw) + 1
    return out


@pytest.mark.parametrize("buffer", [5, 97, 4096])
def test_tsv_read_in_blocks_gives_every_line_once_at_its_offset(tmp_path, monkeypatch, buffer):
    """Blocks smaller than a line, of a few lines and of many: share boundaries fall mid-line and mid-block, yet the
    tasks together read each line once, with its byte offset as position (a BOM, CRLF, blank lines, no final
    newline)."""
    monkeypatch.setattr("redraft.readers.BUFFER", buffer)
    lines = tsv_lines(300)
    lines[40:40] = ["", " \t ".strip(), "  "]
    data = ("\ufeff" + "\r\n".join(lines[:100]) + "\n" + "\n".join(lines[100:])).encode()
    path = tmp_path / "p.tsv"
    path.write_bytes(data)
    want = [(offset, *text.split("\t")) for offset, text in expected_lines(data)]
    reader = ItemReader(str(path), src_lang="de", tgt_lang="en")
    for tasks in TASKS:
        got = [(p, s, t) for share in items(reader, tasks) for _, s, t, p in share]
        assert got == want, tasks


def test_a_bad_line_in_a_later_block_or_a_gzip_file_is_named_by_its_line(tmp_path, monkeypatch):
    monkeypatch.setattr("redraft.readers.BUFFER", 1000)
    lines = [line.encode() for line in tsv_lines(400)]
    lines[333] = b"Sch\xf6n\tnice"  # latin-1, not UTF-8
    plain, zipped = tmp_path / "bad.tsv", tmp_path / "bad.tsv.gz"
    plain.write_bytes(b"\r\n".join(lines) + b"\r\n")
    zipped.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    for path in (plain, zipped):
        reader = ItemReader(str(path), src_lang="de", tgt_lang="en")
        for tasks in (1, 3):
            reader.plan_shares(tasks)
            with pytest.raises(InputError, match=rf"{path.name}:334: not valid UTF-8 \(byte 3\)"):
                for rank in range(tasks):
                    list(reader.run(None, rank, tasks))
    ragged = [line.encode() for line in tsv_lines(50)]
    ragged[44] += b"\tthird"
    zipped.write_bytes(gzip.compress(b"\n".join(ragged)))
    with pytest.raises(InputError, match=r"bad.tsv.gz:45: expected 2 tab-separated fields"):
        list(ItemReader(str(zipped), src_lang="de", tgt_lang="en").read())
