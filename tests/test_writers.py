"""redraft/writers.py: the batch writer (its rows taken column by column) writes what datatrove's ParquetWriter writes
with a row adapter, file by file and row by row, rotation to `NNN_` files at `max_file_size` included."""

import pyarrow.parquet as pq
from datatrove.pipeline.writers.parquet import ParquetWriter

from redraft.types import (DIALOGUE_SCHEMA, PAIR_SCHEMA, POSITION, ParallelPair, document_to_row, pair_to_document,
                           reject, rejected_schema, staged_schema)
from redraft.writers import BatchParquetWriter, rejected_writer, stage_writer


def docs(n):
    return [pair_to_document(ParallelPair.make("de", "en", f"Satz {i} " * (1 + i % 7), f"sentence {i}")) for i in range(n)]


def written(folder):
    return {f.name: pq.read_table(f).to_pylist() for f in sorted(folder.glob("*.parquet"))}


def test_batch_writer_writes_the_files_and_rows_datatrove_writes(tmp_path):
    for max_size in (-1, 20_000):  # 20 kB: a few files
        for name, cls in (("ours", BatchParquetWriter), ("datatrove", ParquetWriter)):
            adapter = {} if cls is BatchParquetWriter else {"adapter": lambda writer, doc: document_to_row(doc)}
            writer = cls(str(tmp_path / f"{name}{max_size}"), output_filename="${rank}.parquet", schema=PAIR_SCHEMA,
                         batch_size=100, max_file_size=max_size, **adapter)
            assert len(list(writer.run(iter(docs(2500)), rank=3))) == 2500
        ours, theirs = written(tmp_path / f"ours{max_size}"), written(tmp_path / f"datatrove{max_size}")
        assert ours == theirs
        assert sum(map(len, ours.values())) == 2500
    assert list(written(tmp_path / "ours-1")) == ["00003.parquet"]
    assert len(written(tmp_path / "ours20000")) > 2  # the size limit did rotate: 000_00003.parquet, 001_...


def test_stage_and_rejected_rows_carry_position_status_and_reason(tmp_path):
    items = docs(5)
    for i, d in enumerate(items):
        d.metadata[POSITION] = 10 * i
    items[1].metadata["filter_reason"] = "too_long"  # a datatrove filter's reason
    reject(items[2], "failed", "teacher_error")
    with stage_writer(tmp_path / "rows", DIALOGUE_SCHEMA) as w:
        for d in items:
            w.write(d, 0)
    with rejected_writer(tmp_path / "rejected", "x", PAIR_SCHEMA) as w:
        for d in items:
            w.write(d, 0)
    staged = pq.read_table(tmp_path / "rows" / "00000.parquet")
    assert staged.schema == staged_schema(DIALOGUE_SCHEMA)
    assert staged.to_pylist() == [{**dict.fromkeys(DIALOGUE_SCHEMA.names), **document_to_row(d),
                                   POSITION: 10 * i} for i, d in enumerate(items)]
    rejected = pq.read_table(next((tmp_path / "rejected").glob("*.parquet")))
    assert rejected.schema == rejected_schema(PAIR_SCHEMA)
    assert [(r["status"], r["reason"]) for r in rejected.to_pylist()] == [
        ("dropped", "unspecified"), ("dropped", "too_long"), ("failed", "teacher_error"),
        ("dropped", "unspecified"), ("dropped", "unspecified")]
