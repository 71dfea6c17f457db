import io

import numpy as np
import pytest

from redraft.filters.bucketed import BucketedWriter, read_bucket

REC = np.dtype([("key", "<u8"), ("pos", "<u4"), ("sig", "u1", (5,))])


def records(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rec = np.zeros(n, REC)
    rec["key"], rec["pos"], rec["sig"] = rng.integers(0, 2**63, n), np.arange(n), rng.integers(0, 255, (n, 5))
    return rec


def write(path, buffer_bytes: int, buckets: int = 7) -> dict[str, np.ndarray]:
    batches = {"a": [records(n, s) for s, n in enumerate([0, 30, 1, 200, 57])], "b": [records(90, 9)]}
    with BucketedWriter(path, {"a": REC, "b": REC, "empty": REC}, buckets, buffer_bytes=buffer_bytes) as w:
        for name, parts in batches.items():
            for rec in parts:
                w.add(name, rec, rec["key"] % buckets)
    return {name: np.concatenate(parts) for name, parts in batches.items()}


def test_each_bucket_reads_back_its_records_in_the_order_added(tmp_path):
    added = write(tmp_path / "f.bin", 1 << 20)
    with open(tmp_path / "f.bin", "rb") as f:
        for name, rec in added.items():
            for b in range(7):
                got = read_bucket(f, name, b, REC)
                assert got.tobytes() == rec[rec["key"] % 7 == b].tobytes()
        assert all(len(read_bucket(f, s, 3, REC)) == 0 for s in ("empty", "not written"))
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_records_spilled_in_runs_give_the_same_file(tmp_path):
    write(tmp_path / "memory.bin", 1 << 30)
    write(tmp_path / "spilled.bin", 100)  # a run every batch or two
    assert (tmp_path / "memory.bin").read_bytes() == (tmp_path / "spilled.bin").read_bytes()


class CountingFile(io.BytesIO):
    read_bytes = 0

    def read(self, size=-1):
        data = super().read(size)
        self.read_bytes += len(data)
        return data


def test_a_reader_reads_the_index_entry_and_its_range_only(tmp_path):
    added = write(tmp_path / "f.bin", 1 << 20, buckets=50)
    data = (tmp_path / "f.bin").read_bytes()
    f = CountingFile(data)
    got = read_bucket(f, "a", 17, REC)
    assert len(got) and len(got) == (added["a"]["key"] % 50 == 17).sum()
    header = 16 + 3 * 16  # magic and counts, section names
    assert f.read_bytes == header + 16 + got.nbytes < len(data) / 10


def test_a_failed_writer_leaves_no_file_and_a_reader_names_bad_files(tmp_path):
    with pytest.raises(RuntimeError), BucketedWriter(tmp_path / "f.bin", {"a": REC}, 3) as w:
        w.add("a", records(5, 0), np.arange(5) % 3)
        raise RuntimeError
    assert not list(tmp_path.iterdir())
    write(tmp_path / "f.bin", 1 << 20)
    with open(tmp_path / "f.bin", "rb") as f, pytest.raises(ValueError, match="another task count"):
        read_bucket(f, "a", 7, REC)
    (tmp_path / "cut.bin").write_bytes((tmp_path / "f.bin").read_bytes()[:-10])
    with open(tmp_path / "cut.bin", "rb") as f, pytest.raises(ValueError, match="truncated"):
        read_bucket(f, "b", 6, REC)
    with pytest.raises(ValueError, match="out of range"):
        BucketedWriter(tmp_path / "g.bin", {"a": REC}, 3).add("a", records(5, 0), np.arange(5))
