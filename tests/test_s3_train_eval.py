"""The trainer and `redraft eval` with their data and output folders on S3: a live S3 server on loopback (moto's,
the `s3` fixture), reached through AWS_ENDPOINT_URL as any S3-compatible store would be. No mock in this process."""

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from redraft.trainer import train


def s3fs_():
    import s3fs

    return s3fs.S3FileSystem(skip_instance_cache=True)


def upload(local: Path, url: str) -> str:
    s3fs_().put(str(local), url.removeprefix("s3://"), recursive=local.is_dir())
    return url


def s3_metrics(url: str) -> list[dict]:
    return [json.loads(line) for line in s3fs_().cat(f"{url}/metrics.jsonl").decode().splitlines()]


def train_config(tmp_path: Path, name: str, model: Path, data: str, output_dir: str, **fields) -> Path:
    cfg = {"model": str(model), "data": [data], "output_dir": output_dir, "seq_len": 128, "micro_batch_size": 2,
           "lr": 1e-3, "max_steps": 4, "save_every": 2, "warmup_steps": 2, "seed": 1, "progress": False, **fields}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_training_on_s3_killed_and_resumed_gives_the_uninterrupted_losses(s3_bucket, tmp_path, tiny_llama_dir,
                                                                         dialogue_dirs, capfd):
    from safetensors.torch import load, load_file

    data = upload(dialogue_dirs[0], f"{s3_bucket}/data/zh-en")
    local = train_config(tmp_path, "local", tiny_llama_dir, str(dialogue_dirs[0]), str(tmp_path / "local"))
    assert train(str(local), [], 2) == 0
    expected = [json.loads(line) for line in (tmp_path / "local" / "metrics.jsonl").read_text().splitlines()]

    out = f"{s3_bucket}/runs/a"
    on_s3 = train_config(tmp_path, "s3", tiny_llama_dir, data, out)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REDRAFT_TRAIN_CRASH_AFTER_STEP", "3")  # every rank SIGKILLs itself after step 3
        assert train(str(on_s3), [], 2) != 0
    fs = s3fs_()
    assert fs.ls(f"{out}/checkpoints".removeprefix("s3://"), detail=False)[-1].endswith("step-2")
    assert not fs.exists(f"{out}/final")
    assert [m["step"] for m in s3_metrics(out)] == [1, 2]  # the lines up to the checkpoint were uploaded with it
    capfd.readouterr()

    assert train(str(on_s3), [], 2) == 0
    assert f"resumed from {out}/checkpoints/step-2 at step 2" in capfd.readouterr().err
    got = s3_metrics(out)
    assert [m["step"] for m in got] == [1, 2, 3, 4]
    assert [m["loss"] for m in got] == [m["loss"] for m in expected]
    assert [m["lr"] for m in got] == [m["lr"] for m in expected]
    weights = load(fs.cat(f"{out}/final/model.safetensors"))
    for k, v in load_file(tmp_path / "local" / "final" / "model.safetensors").items():
        assert (weights[k] == v).all(), k
    manifest = json.loads(fs.cat(f"{out}/final/training_manifest.json"))
    assert manifest["data"][0]["path"] == data and manifest["data"][0]["recipe_name"] == "zh-en-test"
    assert "final/config.json" in json.loads(fs.cat(f"{out}/.redraft/manifest.json"))["files"]


def redraft(capsys, *args) -> tuple[int, str, str]:
    """`redraft ARGS` in this process (the CLI's own entry point): exit status, stdout, stderr."""
    from redraft.cli import main

    capsys.readouterr()
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_eval_score_and_run_on_s3_give_the_local_figures(s3_bucket, shared_data, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # where an eval output at a URL keeps its state
    released = [shared_data / "bayling_outputs/bayling-13b/zh-en.hypo", shared_data / "wmt22/zhen.src",
                shared_data / "wmt22/zhen.ref"]
    hyp, src, ref = (tmp_path / p.name for p in released)  # their first 300 lines, to be quick
    for p, local in zip(released, (hyp, src, ref)):
        local.write_text("".join(p.read_text(encoding="utf-8").splitlines(keepends=True)[:300]), encoding="utf-8")
    urls = {p: upload(p, f"{s3_bucket}/in/{p.name}") for p in (hyp, src, ref)}

    def score(h, r):
        status, out, err = redraft(capsys, "eval", "score", "--hyp", str(h), "--ref", str(r), "--langs", "zh-en",
                                   "--json")
        assert status == 0, err
        lines = out.splitlines()
        return lines[:-1], {k: v for k, v in json.loads(lines[-1]).items() if k not in ("hyp", "ref")}

    on_s3, local = score(urls[hyp], urls[ref]), score(hyp, ref)
    assert on_s3 == local and local[1]["n"] == 300

    def evaluate(s, r, h, out):
        status, _, err = redraft(capsys, "eval", "translation", "--src", str(s), "--ref", str(r), "--langs", "zh-en",
                                 "--model", str(h), "--limit", "100", "-o", str(out))
        assert status == 0, err

    evaluate(src, ref, hyp, tmp_path / "local")
    out = f"{s3_bucket}/evals/a"
    evaluate(urls[src], urls[ref], urls[hyp], out)
    fs = s3fs_()
    local = json.loads((tmp_path / "local" / "results.json").read_text())["suites"]["translation-zh-en"]
    remote = json.loads(fs.cat(f"{out}/results.json"))["suites"]["translation-zh-en"]
    assert remote["metrics"] == local["metrics"] and remote["metrics"]["n"] == 100
    assert list(remote["data"].values()) == list(local["data"].values())  # the sha256 of the same bytes
    with fs.open(f"{out}/generations.parquet") as f:
        assert pq.read_table(f).to_pylist() == pq.read_table(tmp_path / "local" / "generations.parquet").to_pylist()
    assert fs.exists(f"{out}/plots/scores.png") and fs.exists(f"{out}/.redraft/manifest.json")

    fs.rm(f"{out}/generations.parquet".removeprefix("s3://"))  # the same command again publishes it again, the
    evaluate(urls[src], urls[ref], urls[hyp], out)              # finished suite reused from the local state
    assert json.loads(fs.cat(f"{out}/results.json"))["suites"]["translation-zh-en"] == remote
    assert fs.exists(f"{out}/generations.parquet")
    status, _, err = redraft(capsys, "eval", "compare", out, str(tmp_path / "local"), "-o", f"{s3_bucket}/compare")
    assert status == 0, err
    assert fs.exists(f"{s3_bucket}/compare/compare.png")
    assert f"{local['metrics']['bleu']:.2f} | {local['metrics']['bleu']:.2f}" in fs.cat(
        f"{s3_bucket}/compare/compare.md").decode()


def test_a_missing_bucket_or_unreachable_endpoint_exits_2_before_any_work(s3_bucket, tmp_path, tiny_llama_dir,
                                                                          dialogue_dirs, capsys, monkeypatch):
    cfg = train_config(tmp_path, "nobucket", tiny_llama_dir, str(dialogue_dirs[0]), "s3://no-such-bucket/run")
    assert train(str(cfg), [], 1) == 2  # before torchrun starts
    err = capsys.readouterr().err
    assert "output_dir" in err and "s3://no-such-bucket/run" in err and "create it" in err
    data = train_config(tmp_path, "nodata", tiny_llama_dir, "s3://no-such-bucket/data", str(tmp_path / "run"))
    assert train(str(data), [], 1) == 2
    assert "data.0.path" in capsys.readouterr().err and not (tmp_path / "run").exists()

    (tmp_path / "h.txt").write_text("a\n")
    hyp = upload(tmp_path / "h.txt", f"{s3_bucket}/h.txt")
    with monkeypatch.context() as mp:
        mp.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # the discard port: nothing listens
        status, _, err = redraft(capsys, "eval", "score", "--hyp", hyp, "--ref", hyp, "--langs", "zh-en")
    assert status == 2
    assert hyp in err and "cannot reach the storage at http://127.0.0.1:9" in err and "AWS_ENDPOINT_URL" in err

    with monkeypatch.context() as mp:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
            mp.delenv(name, raising=False)
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        mp.setenv("AWS_CONFIG_FILE", "/dev/null")
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        status, _, err = redraft(capsys, "eval", "translation", "--src", hyp, "--ref", hyp, "--langs", "zh-en",
                                 "--model", hyp, "-o", f"{s3_bucket}/ev")
    assert status == 2
    assert "no credentials" in err and "AWS_ACCESS_KEY_ID" in err
