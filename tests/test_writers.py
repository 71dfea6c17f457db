"""redraft/writers.py: the batch writer writes what datatrove's ParquetWriter writes, file by file and row by row,
rotation to `NNN_` files at `max_file_size` included."""

import pyarrow.parquet as pq
from datatrove.pipeline.writers.parquet import ParquetWriter

from redraft.types import PAIR_SCHEMA, ParallelPair, kept_row, pair_to_document
from redraft.writers import BatchParquetWriter


def docs(n):
    return [pair_to_document(ParallelPair.make("de", "en", f"Satz {i} " * (1 + i % 7), f"sentence {i}")) for i in range(n)]


def written(folder):
    return {f.name: pq.read_table(f).to_pylist() for f in sorted(folder.glob("*.parquet"))}


def test_batch_writer_writes_the_files_and_rows_datatrove_writes(tmp_path):
    for max_size in (-1, 20_000):  # 20 kB: a few files
        for name, cls in (("ours", BatchParquetWriter), ("datatrove", ParquetWriter)):
            writer = cls(str(tmp_path / f"{name}{max_size}"), output_filename="${rank}.parquet", adapter=kept_row,
                         schema=PAIR_SCHEMA, batch_size=100, max_file_size=max_size)
            assert len(list(writer.run(iter(docs(2500)), rank=3))) == 2500
        ours, theirs = written(tmp_path / f"ours{max_size}"), written(tmp_path / f"datatrove{max_size}")
        assert ours == theirs
        assert sum(map(len, ours.values())) == 2500
    assert list(written(tmp_path / "ours-1")) == ["00003.parquet"]
    assert len(written(tmp_path / "ours20000")) > 2  # the size limit did rotate: 000_00003.parquet, 001_...
