import random

import numpy as np
import pytest

from redraft.filters.config import DedupeConfig
from redraft.filters.dedupe import content_hashes, dedupe_documents, dedupe_stages, resolve
from redraft.filters.minhash import MinHashLSH, near_dedupe_text
from redraft.filters.registry import build_filters

from filters_defects import doc
from filters_dialogues import FIRST, dialogue


def sharded_dedupe(cfg, docs, tasks: int, folder) -> dict[str, str]:
    """id -> 'kept' or the drop reason, the three stages run in-process as `tasks` tasks."""
    verdict = dedupe_documents(docs, resolve(cfg), tasks, str(folder))
    return {d.id: "kept" if v is True else v for d, v in zip(docs, verdict)}


def kept(verdict: dict) -> list[str]:
    return [k for k, v in verdict.items() if v == "kept"]


def test_exact_dedupe_after_normalisation_keeps_the_first(tmp_path):
    docs = [doc("de", "en", "Guten Morgen, Welt!", "Good morning, world!", i=0),
            doc("de", "en", "Heute regnet es.", "It is raining today.", i=1),
            doc("de", "en", "guten  morgen welt", "Good morning world", i=2),
            doc("de", "fr", "Guten Morgen, Welt!", "Good morning, world!", i=3)]  # other direction: not a duplicate
    v = sharded_dedupe("default", docs, 1, tmp_path)
    assert sorted(kept(v)) == ["deen-0", "deen-1", "defr-3"] and v["deen-2"] == "duplicate"


def test_dialogue_exact_dedupe_looks_at_turns(tmp_path):
    a, b, c = dialogue([FIRST], i=0), dialogue([FIRST.upper()], i=1), dialogue(["A different answer."], i=2)
    assert sorted(kept(sharded_dedupe(DedupeConfig(exact=True), [a, b, c], 2, tmp_path))) == ["d0", "d2"]


def test_dedupe_off():
    assert dedupe_stages(False, "x") is None
    assert dedupe_stages(DedupeConfig(exact=False, near=False), "x") is None


def test_near_dedupe_short_and_cjk_texts_keep_the_first(tmp_path):
    docs = [doc("zh", "en", "我们明天早上九点在火车站见面吧", "Let's meet at the train station at nine tomorrow morning.", i=0),
            doc("zh", "en", "我们明天早上九点在火车站见面吧。", "Let us meet at the train station at nine tomorrow morning.", i=1),
            doc("zh", "en", "今天的天气非常好，适合去公园散步", "The weather is lovely today, good for a walk in the park.", i=2),
            doc("de", "en", "Danke", "Thanks", i=3), doc("de", "en", "Danke!", "Thanks!", i=4),
            doc("de", "en", "Bitte", "Please", i=5)]
    v = sharded_dedupe(DedupeConfig(exact=False, near=True), docs, 3, tmp_path)
    assert sorted(kept(v)) == ["deen-3", "deen-5", "zhen-0", "zhen-2"]
    assert v["zhen-1"] == v["deen-4"] == "near_duplicate"


def reference_dedupe(cfg: DedupeConfig, docs) -> dict[str, str]:
    """The rule, one item at a time in input order, with Python sets: what the sharded stages must reproduce."""
    lsh = MinHashLSH(cfg.threshold, cfg.num_perm, cfg.bands, cfg.rows)
    hashes = content_hashes(docs)
    sig = lsh.hasher.signatures([near_dedupe_text(d) for d in docs])
    keys, packed = lsh.band_keys(sig), lsh.pack(sig)
    seen, first_with_key, verdict = set(), {}, {}
    for i, d in enumerate(docs):
        near = any(lsh.is_near(packed[i], packed[first_with_key[(b, k)]])
                   for b, k in enumerate(keys[i]) if (b, k) in first_with_key)
        for b, k in enumerate(keys[i]):
            first_with_key.setdefault((b, k), i)
        verdict[d.id] = "duplicate" if hashes[i] in seen else "near_duplicate" if near else "kept"
        seen.add(hashes[i])
    return verdict


@pytest.fixture(scope="module")
def noisy_docs():
    rng = random.Random(0)
    words = [f"w{i}" for i in range(300)]
    base = [" ".join(rng.choices(words, k=rng.choice([2, 5, 20]))) for _ in range(300)]
    texts = base + [t + " extra" for t in base[:60]] + base[100:140]  # near copies and exact copies
    rng.shuffle(texts)
    return texts


@pytest.mark.parametrize("tasks", [1, 2, 3, 5, 8, 64])
def test_sharded_dedupe_matches_the_one_pass_rule_at_any_task_count(tmp_path, noisy_docs, tasks):
    cfg = DedupeConfig(exact=True, near=True)
    docs = [doc("de", "en", t, t, i=i) for i, t in enumerate(noisy_docs)]
    expected = reference_dedupe(cfg, [doc("de", "en", t, t, i=i) for i, t in enumerate(noisy_docs)])
    got = sharded_dedupe(cfg, docs, tasks, tmp_path)
    assert got == expected
    counts = {r: list(got.values()).count(r) for r in ("duplicate", "near_duplicate")}
    assert counts["duplicate"] >= 40 and counts["near_duplicate"] >= 15  # planted copies found (short texts + "extra" are not near)


def test_near_dedupe_keeps_the_earliest_input_position_not_the_first_task(tmp_path):
    texts = ["alpha beta gamma delta epsilon zeta eta theta", "one two three four five six seven eight",
             "alpha beta gamma delta epsilon zeta eta theta iota"]
    docs = [doc("de", "en", t, t, i=i) for i, t in enumerate(texts)]
    # 2 tasks: item 2 (a near copy of item 0) sits in task 0 next to item 0, item 1 in task 1
    v = sharded_dedupe(DedupeConfig(exact=False, near=True), docs, 2, tmp_path)
    assert v == {"deen-0": "kept", "deen-1": "kept", "deen-2": "near_duplicate"}
    v = sharded_dedupe(DedupeConfig(exact=False, near=True), docs[::-1], 2, tmp_path / "reversed")
    assert v == {"deen-2": "kept", "deen-1": "kept", "deen-0": "near_duplicate"}


def test_bucket_files_hold_each_item_once_per_band_in_its_bucket(tmp_path):
    cfg = DedupeConfig(exact=True, near=True)
    docs = [doc("de", "en", f"Satz Nummer {i}", f"Sentence number {i}", i=i) for i in range(50)]
    sharded_dedupe(cfg, docs, 3, tmp_path)
    from redraft.filters.dedupe import EXACT, near_dtype, read_buckets

    sig = tmp_path / "signatures"
    exact = [read_buckets(sig, "exact", EXACT, b, 3) for b in range(3)]
    near = [read_buckets(sig, "near", near_dtype(32), b, 3) for b in range(3)]
    assert all((e["hash"] % 3 == b).all() for b, e in enumerate(exact))
    assert all(((n["key"].astype(np.uint64) + n["band"]) % 3 == b).all() for b, n in enumerate(near))
    exact, near = np.concatenate(exact), np.concatenate(near)
    assert sorted(exact["pos"].tolist()) == list(range(50))
    assert len(near) == 50 * cfg.bands and set(near["pos"].tolist()) == set(range(50))


@pytest.mark.parametrize("tasks", [8, 32])
def test_files_grow_with_the_tasks_not_their_square(tmp_path, noisy_docs, tasks):
    docs = [doc("de", "en", t, t, i=i) for i, t in enumerate(noisy_docs)]
    sharded_dedupe(DedupeConfig(exact=True, near=True), docs, tasks, tmp_path)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) <= 2 * tasks  # one file per task and stage (signatures, marked); no leftover .tmp
    assert {p.parent.name for p in files} == {"signatures", "marked"}


def test_positions_need_not_be_dense_and_tasks_may_have_no_input(tmp_path, noisy_docs):
    """Positions as byte offsets (sparse, past 2**32) and more tasks than items for some: the same verdicts."""
    from redraft.types import POSITION

    cfg = DedupeConfig(exact=True, near=True)
    texts = noisy_docs[:40]
    expected = reference_dedupe(cfg, [doc("de", "en", t, t, i=i) for i, t in enumerate(texts)])
    for tasks in (1, 64):
        docs = [doc("de", "en", t, t, i=i) for i, t in enumerate(texts)]
        for i, d in enumerate(docs):
            d.metadata[POSITION] = 2**33 + 1_000_003 * i + i * i
        signatures, buckets, drop = dedupe_stages(cfg, str(tmp_path / str(tasks)))
        shards = [docs[i * len(docs) // tasks:(i + 1) * len(docs) // tasks] for i in range(tasks)]  # contiguous
        for rank, shard in enumerate(shards):
            list(signatures[0].run(iter(shard), rank, tasks))
        for rank in range(tasks):
            list(buckets[0].run(None, rank, tasks))
        got = {}
        for rank, shard in enumerate(shards):
            list(drop.run(iter(()), rank, tasks))
            verdicts = drop.filter_batch(shard) if shard else []
            got |= {d.id: "kept" if r is True else r[1] for d, r in zip(shard, verdicts)}
        assert got == expected, tasks


# ── `redraft dedupe`: the stages read the input themselves ─────────────────────────────────────────────────────


def published(out) -> dict:
    """What a dedupe run publishes: the kept rows in order, the funnel, the rejected rows with their reasons."""
    import json

    import pyarrow.parquet as pq

    rows = [r for f in sorted((out / "data").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    rejected = sorted((r for f in (out / "rejected").glob("*.parquet") for r in pq.read_table(f).to_pylist()),
                      key=lambda r: json.dumps(r, sort_keys=True))  # an exact duplicate has its first's id
    return {"rows": rows, "stats": json.loads((out / "stats.json").read_text()), "rejected": rejected}


@pytest.fixture
def pairs_tsv(tmp_path, noisy_docs):
    path = tmp_path / "pairs.tsv"
    path.write_text("".join(f"{t} satz\t{t} sentence\n" for t in noisy_docs), encoding="utf-8")
    return path


@pytest.mark.parametrize("tasks", [1, 8])
def test_plain_dedupe_reads_the_input_twice_instead_of_a_copy_with_the_same_results(tmp_path, pairs_tsv, tasks):
    """Nothing filters before dedupe: no stage copies the input into `rows/`, and the rows, funnel and rejected rows
    are those of the copying layout (a filter that keeps everything before dedupe)."""
    from redraft.filters.config import FilterSpec
    from redraft.recipes.runner import curate
    from redraft.recipes.schema import ExecutorConfig

    executor = ExecutorConfig(tasks=tasks, workers=1)
    cfg = DedupeConfig(exact=True, near=True)
    direct = curate(str(pairs_tsv), str(tmp_path / "direct"), filters=[], dedupe=cfg, langs="de-en",
                    executor=executor)
    copied = curate(str(pairs_tsv), str(tmp_path / "copied"), filters=[FilterSpec(name="empty")], dedupe=cfg,
                    langs="de-en", executor=executor)
    work = {name: next((tmp_path / name).glob(".redraft/work-*")) for name in ("direct", "copied")}
    assert not (work["direct"] / "rows").exists() and (work["copied"] / "rows").is_dir()
    assert sorted(p.name for p in work["direct"].glob("logs-*")) == [
        "logs-dedupe-buckets", "logs-dedupe-filter", "logs-dedupe-signatures"]
    got, expected = published(direct), published(copied)
    assert got == expected
    assert got["stats"]["input"] == 400 and got["stats"]["dropped"]["duplicate"] >= 40, got["stats"]
    assert got["stats"]["dropped"]["near_duplicate"] >= 15, got["stats"]


def test_a_hub_dataset_is_still_copied_once_and_filtered_input_always(tmp_path, pairs_tsv):
    """Streamed twice a Hub dataset would cost twice, and its changes go unseen; filtered rows must be staged."""
    from redraft.readers import ItemReader
    from redraft.recipes.runner import Work, stages

    def names(reader, steps, dedupe=True) -> list[str]:
        return [s.name for s in stages(reader, steps, "pair", dedupe, Work(tmp_path / "out", "key"), 2, "read")]

    hub = ItemReader("someone/pairs", format="hf", src_lang="de", tgt_lang="en")
    tsv = ItemReader(str(pairs_tsv), src_lang="de", tgt_lang="en")
    copied = ["read", "dedupe-signatures", "dedupe-buckets", "dedupe-filter"]
    assert names(hub, []) == copied
    assert names(tsv, []) == copied[1:]
    assert names(tsv, build_filters("default", "de", "en", "pair")) == copied
    assert names(tsv, [], dedupe=False) == ["read"]


def test_an_input_changed_between_the_two_readings_fails_the_run_and_publishes_nothing(tmp_path, pairs_tsv,
                                                                                      monkeypatch):
    """A line added at the start between `dedupe-signatures` and `dedupe-filter` would shift every position the
    marks name: the second reading stops instead, and a re-run dedupes the new input."""
    from redraft.filters.dedupe import DedupeBuckets
    from redraft.readers import InputChanged
    from redraft.recipes.runner import curate
    from redraft.recipes.schema import ExecutorConfig

    bucket_run = DedupeBuckets.run

    def then_change_the_input(self, *args, **kwargs):
        yield from bucket_run(self, *args, **kwargs)
        if not pairs_tsv.read_text(encoding="utf-8").startswith("Neu"):
            pairs_tsv.write_text("Neu satz\tNew sentence\n" + pairs_tsv.read_text(encoding="utf-8"), encoding="utf-8")

    monkeypatch.setattr(DedupeBuckets, "run", then_change_the_input)
    out = tmp_path / "out"
    with pytest.raises(InputChanged, match="changed since the run started"):
        curate(str(pairs_tsv), str(out), filters=[], dedupe=True, langs="de-en",
               executor=ExecutorConfig(tasks=2, workers=1))
    assert not (out / "data").exists() and not (out / "stats.json").exists()
    monkeypatch.setattr(DedupeBuckets, "run", bucket_run)
    curate(str(pairs_tsv), str(out), filters=[], dedupe=True, langs="de-en")
    curate(str(pairs_tsv), str(tmp_path / "fresh"), filters=[], dedupe=True, langs="de-en")
    assert published(out) == published(tmp_path / "fresh") and published(out)["stats"]["input"] == 401
