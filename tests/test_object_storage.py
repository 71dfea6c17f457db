"""Issue M: inputs, output folders, the work folder and the response cache on s3://, against a live S3 server on
loopback (moto's, tests/s3_server.py; no mocks inside the process). `filter`, `dedupe --near`, `export` and `redraft
run` (a loopback teacher, synthesis and near dedupe) give the same rows and stats.json as on local paths; a run killed
with SIGKILL mid-synthesis re-pays at most one cache segment per task; `load_dataset` reads the published output;
a missing bucket, an unreachable endpoint and a secret in a recipe exit 2 before any work."""

from __future__ import annotations

import glob
import io
import json
import os
import signal
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from redraft.cli import main
from redraft.export import export
from test_scale_out import _pairs, overrides, redraft, run
from test_synth_faults import KEY_VAR, SECRET, fault_server, server_stats



def fs():
    import s3fs

    return s3fs.S3FileSystem(skip_instance_cache=True, use_listings_cache=False)


def snapshot(out: str) -> dict:
    """Rows in published order, stats.json and the rejected reasons of an output folder, local or on s3."""
    f = fs() if out.startswith("s3://") else None
    ls = (lambda p: sorted(f.glob(p.removeprefix("s3://")))) if f else (lambda p: sorted(glob.glob(p)))
    read = (lambda p: f.cat_file(p.removeprefix("s3://"))) if f else (lambda p: Path(p).read_bytes())
    rows = [r for p in ls(f"{out}/data/*.parquet") for r in pq.read_table(io.BytesIO(read(p))).to_pylist()]
    rejected = sorted((r["id"], r["reason"]) for p in ls(f"{out}/rejected/*.parquet")
                      for r in pq.read_table(io.BytesIO(read(p)), columns=["id", "reason"]).to_pylist())
    return {"rows": rows, "stats": json.loads(read(f"{out}/stats.json")), "rejected": rejected}


@pytest.fixture(scope="module")
def pairs(tmp_path_factory, shared_data) -> Path:
    src = (shared_data / "wmt22" / "deen.src").read_text(encoding="utf-8").splitlines()[:400]
    ref = (shared_data / "wmt22" / "deen.ref").read_text(encoding="utf-8").splitlines()[:400]
    rows = [(s.strip(), r.strip()) for s, r in zip(src, ref)]
    rows += [(s + " Danke.", r + " Thanks.") for s, r in rows[:60]] + rows[100:120]  # near and exact duplicates
    path = tmp_path_factory.mktemp("s3-pairs") / "pairs.tsv"
    path.write_text("".join(f"{s}\t{r}\n" for s, r in rows), encoding="utf-8")
    return path


def test_filter_dedupe_and_export_on_s3_equal_local_paths(tmp_path, pairs, s3_bucket, dialogue_dirs):
    fs().put(str(pairs), f"{s3_bucket}/in/pairs.tsv".removeprefix("s3://"))
    sets = ["--set", "executor.tasks=3", "--set", "executor.workers=1"]  # tasks in the command's process: cheaper
    for where, src in (("local", str(pairs)), ("s3", f"{s3_bucket}/in/pairs.tsv")):
        root = str(tmp_path) if where == "local" else s3_bucket
        rc, log = run(["filter", src, "--langs", "de-en", "-o", f"{root}/filtered", *sets], key_env={})
        assert rc == 0, log[-3000:]
        rc, log = run(["dedupe", f"{root}/filtered", "--near", "-o", f"{root}/deduped", *sets], key_env={})
        assert rc == 0, log[-3000:]
    local, remote = snapshot(f"{tmp_path}/deduped"), snapshot(f"{s3_bucket}/deduped")
    assert remote == local
    assert local["stats"]["dropped"].get("near_duplicate", 0) + local["stats"]["dropped"].get("duplicate", 0) >= 60
    assert snapshot(f"{s3_bucket}/filtered") == snapshot(f"{tmp_path}/filtered")
    # what redraft published is all there is, beside its state folder
    names = {p.split("/", 2)[2].split("/")[0] for p in fs().find(f"{s3_bucket}/deduped".removeprefix("s3://"))}
    assert names == {".redraft", "data", "rejected", "plots", "recipe.yaml", "stats.json", "README.md"}

    rc, log = run(["stats", f"{s3_bucket}/deduped"], key_env={})
    assert rc == 0 and f"kept {local['stats']['kept']}" in log, log[-2000:]

    import datasets

    ds = datasets.load_dataset("parquet", data_files=f"{s3_bucket}/deduped/data/*.parquet", split="train",
                               storage_options={"endpoint_url": os.environ["AWS_ENDPOINT_URL"]})
    assert ds.to_list() == local["rows"]

    # export: a dialogue folder on s3 to a file and to a folder on s3, as from and to local paths
    fs().put(str(dialogue_dirs[0]), f"{s3_bucket}/dialogues".removeprefix("s3://"), recursive=True)
    for fmt, out in (("sharegpt", "x.jsonl"), ("alpaca", "folder")):  # the Python API: the CLI adds nothing here
        export(str(dialogue_dirs[0]), fmt, f"{tmp_path}/{out}")
        export(f"{s3_bucket}/dialogues", fmt, f"{s3_bucket}/{out}")
        name = out if out.endswith(".jsonl") else f"{out}/train.json"
        assert fs().cat_file(f"{s3_bucket}/{name}".removeprefix("s3://")) == (tmp_path / name).read_bytes()


RUNS = {"local-2": ["executor.tasks=2", "executor.workers=2"],
        "ray-4": ["executor.kind=ray", "executor.tasks=4", "executor.workers=2"]}
SEGMENT_SECONDS = 1.0  # the cache's segment window in these runs (default 30 s)


@pytest.mark.parametrize("name", list(RUNS))
def test_run_on_s3_killed_mid_synthesis_then_rerun_equals_local(name, request, tmp_path, s3_bucket, monkeypatch):
    """`redraft run` with input, output, work folder and response cache on s3: SIGKILL mid-synthesis, then the same
    command: the rows, stats.json and rejected reasons of a local run, and the calls re-paid are at most those one
    cache segment per task can hold (SEGMENT_SECONDS of calls, plus those in flight)."""
    extra = list(RUNS[name])
    key = tmp_path / "key"  # the way a key reaches Ray workers (README: Scaling out)
    key.write_text(SECRET + "\n")
    key.chmod(0o600)
    key_env = {f"{KEY_VAR}_FILE": str(key)}
    if name.startswith("ray"):
        extra.append(f"executor.ray.address={request.getfixturevalue('ray_address')}")
        # the workers' AWS credentials are their node's (.ci/clusters.sh starts the head with the loopback S3 server's
        # test credentials), the endpoint travels from here (AWS_ENDPOINT_URL)
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("\n".join(_pairs()) + "\n", encoding="utf-8")
    fs().put(str(pairs), f"{s3_bucket}/in/pairs.tsv".removeprefix("s3://"))
    monkeypatch.setenv("REDRAFT_CACHE_SEGMENT_SECONDS", str(SEGMENT_SECONDS))
    latency, concurrency = 0.3, 4
    with fault_server("--faults", "0", "--latency", str(latency)) as port:
        sets = [a for o in overrides(port, pairs, *extra) for a in ("--set", o)]
        rc, log = run(["run", "bayling-zh-en", "-o", str(tmp_path / "local"), *sets], key_env=key_env)
        assert rc == 0, log[-3000:]
        clean = sum(server_stats(port)["served"].values())

        remote = overrides(port, pairs, *extra)
        remote[0] = f"source.path={s3_bucket}/in/pairs.tsv"
        sets = [a for o in remote for a in ("--set", o)]
        args = ["run", "bayling-zh-en", "-o", f"{s3_bucket}/out", *sets]
        proc = redraft(args, key_env=key_env)
        deadline = time.monotonic() + 120
        while sum(server_stats(port)["served"].values()) < clean + clean // 2:
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        assert not fs().exists(f"{s3_bucket}/out/stats.json".removeprefix("s3://"))  # nothing published
        rc, log = run(args, key_env=key_env)
        assert rc == 0, log[-3000:]
        total = sum(server_stats(port)["served"].values())
    assert snapshot(f"{s3_bucket}/out") == snapshot(str(tmp_path / "local"))
    repaid = total - 2 * clean
    tasks = int(next(e for e in extra if e.startswith("executor.tasks=")).split("=")[1])
    # a task's open segment holds the answers of at most SEGMENT_SECONDS; the workers running at once each lose one
    bound = min(tasks, 2) * (SEGMENT_SECONDS * concurrency / latency + concurrency)
    assert 0 <= repaid <= bound, (repaid, bound)
    assert repaid < clean // 2  # most of what was answered before the kill was not paid again


def test_storage_errors_exit_2_before_any_work(tmp_path, s3, s3_bucket, pairs, capsys):
    rc, log = run(["filter", str(pairs), "--langs", "de-en", "-o", "s3://no-such-bucket/out"], key_env={})
    assert rc == 2 and "s3://no-such-bucket/out" in log and "no bucket 'no-such-bucket'" in log, log[-2000:]
    assert main(["stats", "s3://no-such-bucket/x"]) == 2
    assert "no bucket" in capsys.readouterr().err

    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"name: t\nsource: {{path: {pairs}, src_lang: de, tgt_lang: en}}\n"
                      "teacher: {provider: embedded}\noutput: {path: s3://x/out}\n"
                      "storage_options: {endpoint_url: http://127.0.0.1:9, secret: abc}\n")
    assert main(["validate", str(recipe)]) == 2
    log = capsys.readouterr().err
    assert "storage_options" in log and "secret" in log and "abc" not in log, log

    env = {**os.environ, "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"}
    rc, log = run(["filter", str(pairs), "--langs", "de-en", "-o", f"{s3_bucket}/out"], env=env, key_env={})
    assert rc == 2 and f"{s3_bucket}/out" in log and "cannot reach the storage at http://127.0.0.1:9" in log, log
