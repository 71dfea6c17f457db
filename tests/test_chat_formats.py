"""ShareGPT and Alpaca in (JSONL, JSON arrays, parquet), bad rows named by file and row, and round trips through
`redraft export` that give back the same rows (redraft/chat_formats.py, redraft/export.py)."""

import json
import subprocess
import sys
import tracemalloc
import weakref

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import ZH_EN, write_dialogue_dir
from redraft.cli import main
from redraft.errors import InputError
from redraft.readers import ItemReader
from redraft.types import document_to_row

# hand-written rows: a system turn, a two-exchange dialogue, and the roles' other spellings
SYSTEM = "You are a careful translator."
DIALOGUES = [
    [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "把这句话翻译成英文：我喜欢读书。"},
     {"role": "assistant", "content": "I like reading books."}],
    [{"role": "user", "content": "Übersetze ins Englische: Der Zug kommt spät an."},
     {"role": "assistant", "content": "The train arrives late."},
     {"role": "user", "content": "Use the word \"delayed\"."},
     {"role": "assistant", "content": "The train is delayed."}],
]
SHAREGPT_ROWS = [
    {"id": "sg-1", "conversations": [{"from": "system", "value": SYSTEM},
                                     {"from": "human", "value": "把这句话翻译成英文：我喜欢读书。"},
                                     {"from": "gpt", "value": "I like reading books."}]},
    {"id": "sg-2", "conversations": [{"from": "user", "value": "Übersetze ins Englische: Der Zug kommt spät an."},
                                     {"from": "assistant", "value": "The train arrives late."},
                                     {"from": "human", "value": "Use the word \"delayed\"."},
                                     {"from": "gpt", "value": "The train is delayed."}]},
]
ALPACA_ROWS = [
    {"instruction": "把这句话翻译成英文：", "input": "我喜欢读书。", "output": "I like reading books.", "system": SYSTEM},
    {"instruction": "Use the word \"delayed\".", "input": "", "output": "The train is delayed.",
     "history": [["Übersetze ins Englische: Der Zug kommt spät an.", "The train arrives late."]]},
]


def messages(path, **kw):
    return [d.metadata["messages"] for d in ItemReader(str(path), **kw).read()]


def write(rows, path):
    if path.suffix == ".parquet":  # every row with every column (from_pylist takes the first row's keys)
        keys = list(dict.fromkeys(k for r in rows for k in r))
        pq.write_table(pa.Table.from_pylist([{k: r.get(k) for k in keys} for r in rows]), path)
    elif path.suffix == ".json":  # FastChat's layout: one indented JSON array
        path.write_text(json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8")
    else:
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".parquet"])
def test_sharegpt_reads_as_the_same_dialogues(tmp_path, suffix):
    path = write(SHAREGPT_ROWS, tmp_path / f"sharegpt{suffix}")
    docs = list(ItemReader(str(path)).read())
    assert [d.metadata["messages"] for d in docs] == DIALOGUES
    assert [d.id for d in docs] == ["sg-1", "sg-2"]
    assert docs[1].text == DIALOGUES[1][0]["content"]  # a foreign dialogue's source: its first user turn


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".parquet"])
def test_alpaca_reads_as_the_same_dialogues(tmp_path, suffix):
    path = write(ALPACA_ROWS, tmp_path / f"alpaca{suffix}")
    expected = [[DIALOGUES[0][0], {"role": "user", "content": "把这句话翻译成英文：\n我喜欢读书。"}, DIALOGUES[0][2]],
                DIALOGUES[1]]
    assert messages(path) == expected


def test_role_content_turns_under_another_column(tmp_path):
    path = write([{"chat": DIALOGUES[1], "source": "made by hand"}], tmp_path / "chat.jsonl")
    with pytest.raises(InputError, match="no source/target columns"):  # without the option it is not a dialogue
        messages(path)
    assert messages(path, messages_column="chat") == [DIALOGUES[1]]
    assert messages(path, chat_format="messages", messages_column="chat") == [DIALOGUES[1]]
    # and ShareGPT turns under `messages` are recognised by their keys
    sg_in_messages = write([{"messages": SHAREGPT_ROWS[1]["conversations"]}], tmp_path / "m.jsonl")
    assert messages(sg_in_messages) == [DIALOGUES[1]]


def test_ambiguous_columns_need_an_explicit_format(tmp_path):
    row = {**ALPACA_ROWS[0], "conversations": SHAREGPT_ROWS[1]["conversations"]}
    path = write([row], tmp_path / "both.jsonl")
    with pytest.raises(InputError, match=r"both.jsonl:1: the columns fit more than one chat format"):
        messages(path)
    assert messages(path, chat_format="sharegpt") == [DIALOGUES[1]]
    assert messages(path, chat_format="alpaca")[0][-1] == DIALOGUES[0][-1]
    with pytest.raises(InputError, match=r"1: chat format messages needs a `messages` column"):
        messages(path, chat_format="messages")


@pytest.mark.parametrize("turns, error", [
    ([{"from": "human", "value": "a"}, {"from": "bot", "value": "b"}], "turn 2: unknown role 'bot'"),
    ([{"from": "human", "value": "a"}, {"from": "human", "value": "b"}, {"from": "gpt", "value": "c"}],
     "turn 2 is 'user' where 'assistant' was expected"),
    ([{"from": "gpt", "value": "a"}, {"from": "human", "value": "b"}], "turn 1 is 'assistant' where 'user'"),
    ([{"from": "human", "value": "a"}, {"from": "gpt", "value": "b"}, {"from": "human", "value": "c"}],
     "the last turn \\(3\\) is the user's, with no assistant answer"),
    ([{"from": "human", "value": "a"}, {"from": "gpt", "value": None}], "turn 2: the text must be a string"),
])
def test_bad_sharegpt_rows_name_file_and_row(tmp_path, turns, error):
    good = SHAREGPT_ROWS[0]
    array = write([good, good, {"id": "bad", "conversations": turns}], tmp_path / "bad.json")
    with pytest.raises(InputError, match=rf"bad.json:row 3, line \d+: sharegpt: {error}"):
        messages(array)
    lines = write([good, {"id": "bad", "conversations": turns}], tmp_path / "bad.jsonl")
    with pytest.raises(InputError, match=rf"bad.jsonl:2: sharegpt: {error}"):
        messages(lines)


def test_bad_alpaca_rows_name_file_and_row(tmp_path):
    path = write([ALPACA_ROWS[0], {**ALPACA_ROWS[1], "history": [["only the question"]]}], tmp_path / "a.parquet")
    with pytest.raises(InputError, match=r"a.parquet:row 2: alpaca: `history` item 1 is not a \[user, assistant\]"):
        messages(path)


@pytest.mark.parametrize("chunk", [None, 5])  # the reader's pieces of a line: as it is, and lines cut in pieces
def test_json_array_errors_name_the_line(tmp_path, monkeypatch, chunk):
    if chunk:
        monkeypatch.setattr("redraft.json_array.CHUNK", chunk, raising=False)
    p = tmp_path / "broken.json"
    p.write_text('[\n  {"conversations": []}\n]\n')
    with pytest.raises(InputError, match=r"broken.json:row 1, line 2: sharegpt: no exchange"):
        messages(p)
    p.write_text('[\n  ' + json.dumps(SHAREGPT_ROWS[0]) + ',\n  {"conversations": [}\n]\n')
    with pytest.raises(InputError, match=r"broken.json:3: not valid JSON"):
        messages(p)
    p.write_text(json.dumps(SHAREGPT_ROWS, indent=1) + "\n]")
    with pytest.raises(InputError, match=r"broken.json:\d+: not valid JSON: text after the closing"):
        messages(p)
    p.write_text('[' + json.dumps(SHAREGPT_ROWS[0]) + '\n ' + json.dumps(SHAREGPT_ROWS[1]) + ']')
    with pytest.raises(InputError, match=r"broken.json:2: not valid JSON: ',' or '\]' expected after row 1"):
        messages(p)
    p.write_text('[\n  ' + json.dumps(SHAREGPT_ROWS[0]) + ',\n  {"conversations": [')  # a writer killed midway
    with pytest.raises(InputError, match=r"broken.json:3: not valid JSON: the file ends inside row 2"):
        messages(p)


def sharegpt_array(path, rows: int):
    """A FastChat-style indented JSON array of `rows` dialogues, written a row at a time."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("[")
        for i in range(rows):
            row = {"id": str(i), "conversations": [{"from": "human", "value": f"Übersetze: {'字' * 200} {i}"},
                                                   {"from": "gpt", "value": f"{'word ' * 60}{i}"}]}
            f.write(("," if i else "") + "\n" + json.dumps(row, ensure_ascii=False, indent=2))
        f.write("\n]\n")
    return path


def test_a_json_array_is_read_a_row_at_a_time(tmp_path):
    path = sharegpt_array(tmp_path / "big.json", 8000)  # 7 MB
    tracemalloc.start()  # Python's allocations: a file read whole shows as its size
    try:
        ids = [d.id for d in ItemReader(str(path), src_lang="zh", tgt_lang="en").read()]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert ids == [str(i) for i in range(8000)]
    assert peak < path.stat().st_size / 8, f"peak {peak:,} B reading a {path.stat().st_size:,} B file"


def test_one_line_json_array_names_rows_on_line_1(tmp_path, monkeypatch):
    monkeypatch.setattr("redraft.json_array.CHUNK", 64, raising=False)  # the line is fed in pieces
    path = tmp_path / "one-line.json"
    path.write_text(json.dumps([SHAREGPT_ROWS[0]] * 5 + [{"conversations": []}], ensure_ascii=False))
    with pytest.raises(InputError, match=r"one-line.json:row 6, line 1: sharegpt: no exchange"):
        messages(path)


def test_parquet_export_holds_a_batch_of_rows_not_all(tmp_path, monkeypatch):
    from redraft import export

    n, alive, peak = 5000, 0, 0

    class Row(dict):  # a dict that can be counted while alive
        pass

    def gone():
        nonlocal alive
        alive -= 1

    def rows(*_, **__):
        nonlocal alive, peak
        for i in range(n):
            row = Row(id=str(i), conversations=[{"from": "human", "value": f"q{i}"}, {"from": "gpt", "value": "a"}],
                      src_lang="de", tgt_lang="en", source_text=f"q{i}", reference_text="", revisions=[],
                      revision_args=[], teacher=None, usage=None, judge=None)
            alive += 1
            weakref.finalize(row, gone)
            peak = max(peak, alive)
            yield row

    monkeypatch.setattr(export, "converted_rows", rows)
    assert export.export("in.json", "sharegpt", tmp_path / "x.parquet") == (tmp_path / "x.parquet", n)
    assert peak <= n / 2, f"{peak} of {n} rows held at once"
    written = pq.ParquetFile(tmp_path / "x.parquet")
    assert written.metadata.num_row_groups > 1 and written.schema_arrow == export.parquet_schema("sharegpt")
    assert [r["id"] for r in written.read().to_pylist()] == [str(i) for i in range(n)]


@pytest.mark.parametrize("fmt", ["sharegpt", "alpaca", "messages"])
def test_parquet_export_in_row_groups_reads_back_identical(tmp_path, dialogue_dir, monkeypatch, fmt):
    monkeypatch.setattr("redraft.export.PARQUET_BATCH", 2, raising=False)
    out = tmp_path / "train.parquet"
    assert main(["export", str(dialogue_dir), "--format", fmt, "-o", str(out)]) == 0
    assert pq.ParquetFile(out).metadata.num_row_groups > 1
    assert full_rows(out) == full_rows(dialogue_dir / "data")


def test_bad_input_exits_2_naming_file_and_row_and_publishes_nothing(tmp_path):
    bad = write([SHAREGPT_ROWS[0], {"conversations": [{"from": "human", "value": "a"}, {"from": "robot",
                                                                                     "value": "b"}]}],
                tmp_path / "bad.json")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "redraft.cli", "filter", str(bad), "--langs", "zh-en", "-o", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 2, r.stderr
    assert "bad.json:row 2, line " in r.stderr and "unknown role 'robot'" in r.stderr
    assert not (out / "data").exists() and not (out / "stats.json").exists()


def full_rows(path, **kw):
    return [document_to_row(d) for d in ItemReader(str(path), **kw).read()]


@pytest.fixture(scope="module")
def dialogue_dir(tmp_path_factory):
    """An output folder of zh-en dialogues, half of them with a revision turn, one with a system turn."""
    out = write_dialogue_dir(tmp_path_factory.mktemp("dialogues") / "zh-en", ZH_EN, "zh", "en", "zh-en-test")
    t = pq.read_table(out / "data").to_pylist()
    t[0]["messages"] = [{"role": "system", "content": SYSTEM}, *t[0]["messages"]]
    pq.write_table(pa.Table.from_pylist(t, schema=pq.read_schema(out / "data" / "part-00000.parquet")),
                   out / "data" / "part-00000.parquet")
    return out


@pytest.mark.parametrize("fmt", ["sharegpt", "alpaca", "messages"])
@pytest.mark.parametrize("target", ["train.json", "train.jsonl", "train.parquet", "folder"])
def test_export_then_read_gives_identical_rows(tmp_path, dialogue_dir, fmt, target):
    original = full_rows(dialogue_dir / "data")
    assert any(len(r["messages"]) == 4 for r in original) and original[0]["messages"][0]["role"] == "system"
    out = tmp_path / target
    assert main(["export", str(dialogue_dir), "--format", fmt, "-o", str(out)]) == 0
    written = out / "train.json" if target == "folder" else out
    if fmt == "alpaca":  # one exchange a row, the earlier ones in `history`
        first = json.loads(written.read_text())[0] if written.suffix == ".json" else None
        assert first is None or (first["history"] == [] and first["system"] == SYSTEM)
    assert full_rows(written) == original  # every turn, every column


def test_sharegpt_export_is_what_fastchat_reads(tmp_path, dialogue_dir):
    out = tmp_path / "sg"
    assert main(["export", str(dialogue_dir), "--format", "sharegpt", "-o", str(out)]) == 0
    rows = json.loads((out / "train.json").read_text())  # one JSON array, as FastChat's train.py json.load()s it
    assert isinstance(rows, list) and all(isinstance(r["id"], str) for r in rows)
    assert {t["from"] for r in rows for t in r["conversations"]} == {"system", "human", "gpt"}
    info = json.loads((out / "dataset_info.json").read_text())
    assert info == {"zh-en-test": {"file_name": "train.json", "formatting": "sharegpt",
                                   "columns": {"messages": "conversations"},
                                   "tags": {"role_tag": "from", "content_tag": "value", "user_tag": "human",
                                            "assistant_tag": "gpt", "system_tag": "system"}}}


def test_export_of_pairs_or_unwritable_turns_exits_2_and_writes_nothing(tmp_path, dialogue_dir, capsys):
    pairs = write([{"source": "Hallo.", "target": "Hello.", "src_lang": "de", "tgt_lang": "en"}], tmp_path / "p.jsonl")
    assert main(["export", str(pairs), "--format", "sharegpt", "-o", str(tmp_path / "p.json")]) == 2
    assert "holds parallel pairs" in capsys.readouterr().err and not (tmp_path / "p.json").exists()
    rows = full_rows(dialogue_dir / "data")
    rows[3]["messages"].append({"role": "tool", "content": "{}"})
    bad = write(rows, tmp_path / "bad.jsonl")
    assert main(["export", str(bad), "--format", "sharegpt", "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl: row 4 (id zh-en-test-0-3)" in err and "role 'tool' has no ShareGPT name" in err
    assert not (tmp_path / "out").exists()


def test_pairs_as_a_json_array(tmp_path):
    path = write([{"source": s, "target": t} for s, t in ZH_EN[:3]], tmp_path / "pairs.json")
    docs = list(ItemReader(str(path), src_lang="zh", tgt_lang="en").read())
    assert [(d.text, d.metadata["reference_text"]) for d in docs] == ZH_EN[:3]
