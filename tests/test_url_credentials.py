"""A teacher or model `base_url` carrying credentials (`http://user:password@host/v1`, or a key in its query string)
works, against the loopback server requiring HTTP basic auth or `?key=` (tests/synth_fault_server.py), and what
redraft writes shows it redacted: recipe.yaml, the card, results.json, the logs, executor.json, any other file, and
the command's own output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from redraft.synth.endpoint import redacted, split

SERVER = Path(__file__).with_name("synth_fault_server.py")
PASSWORD = "pw-5e4d3c2b1a-never-written"
QUERY_KEY = "qk-0a9b8c7d6e-never-written"
AUTH = {"basic": f"alice:{PASSWORD}", "query": None, "both": f"alice:{PASSWORD}"}


@contextmanager
def guarded_server(kind: str):
    """The loopback server requiring basic auth, a query key, or both; yields the base URL that passes."""
    env = {**os.environ, "T_BASIC": f"alice:{PASSWORD}", "T_QUERY": QUERY_KEY}
    args = {"basic": ["--basic-auth-env", "T_BASIC"], "query": ["--query-key-env", "T_QUERY"],
            "both": ["--basic-auth-env", "T_BASIC", "--query-key-env", "T_QUERY"]}[kind]
    proc = subprocess.Popen([sys.executable, str(SERVER), "--port", "0", "--judge", *args], stdout=subprocess.PIPE,
                            text=True, env=env)
    try:
        port = int(proc.stdout.readline())
        userinfo = f"alice:{PASSWORD}@" if kind in ("basic", "both") else ""
        query = f"?key={QUERY_KEY}" if kind in ("query", "both") else ""
        yield f"http://{userinfo}127.0.0.1:{port}/v1{query}"
    finally:
        proc.kill()
        proc.wait()


def redraft(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "REDRAFT_PROGRESS": "0", "REDRAFT_VERBOSE": "0"}
    env.pop("OPENAI_API_KEY", None)  # basic auth takes the key's place; a query key needs none either
    return subprocess.run([sys.executable, "-m", "redraft.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def assert_nothing_shows_the_secrets(folder: Path, *outputs: str) -> None:
    files = [f for f in folder.rglob("*") if f.is_file()]
    assert files
    for secret in (PASSWORD, QUERY_KEY):
        for f in files:
            assert secret.encode() not in f.read_bytes(), f"{secret} was written to {f}"
        for text in outputs:
            assert secret not in text


def pairs(tmp_path: Path, n: int = 6) -> Path:
    path = tmp_path / "pairs.tsv"
    path.write_text("".join(f"我们第{i}次一起去北京旅游。\tThis is our trip number {i} to Beijing together.\n"
                            for i in range(n)), encoding="utf-8")
    return path


def test_split_and_redacted():
    end = split("https://al%40x:p%3Aw@host:8443/v1?key=k1&api-version=2024-06-01")
    assert end.url == "https://host:8443/v1"
    assert end.headers == {"Authorization": "Basic YWxAeDpwOnc="}  # base64 of "al@x:p:w", unquoted
    assert end.query == {"key": "k1", "api-version": "2024-06-01"}
    assert redacted("https://al:pw@host/v1?key=k1&api-version=2") == "https://***@host/v1?key=***&api-version=***"
    assert redacted("https://tok@host/v1") == "https://***@host/v1"
    assert redacted("http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000/v1" and redacted(None) is None
    assert split("http://127.0.0.1:8000/v1").url == "http://127.0.0.1:8000/v1"


@pytest.mark.parametrize("kind", ["basic", "query", "both"])
def test_run_through_a_url_with_credentials_publishes_it_redacted(tmp_path, kind):
    out = tmp_path / "out"
    with guarded_server(kind) as url:
        r = redraft(["run", "bayling-zh-en", "-o", str(out), "--set", f"source.path={pairs(tmp_path)}",
                     "--set", f"teacher.base_url={url}", "--set", "teacher.model=m", "--set", "synth.turns=2",
                     "--set", "filters=[]", "--set", "dedupe=false",
                     "--set", "judge={teacher: {model: j, base_url: " + json.dumps(url) + "}}"], tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    stats = json.loads((out / "stats.json").read_text())
    assert stats["kept"] == 6 and not stats["failed"], stats  # every call answered: none failed as invalid_response
    rows = [row for f in (out / "data").glob("*.parquet") for row in pq.read_table(f).to_pylist()]
    assert all(row["judge"]["score"] is not None for row in rows)  # the judge got through as well
    recipe = (out / "recipe.yaml").read_text()
    assert redacted(url) in recipe and "***" in recipe
    assert list(out.glob(".redraft/work-*/logs-*/executor.json"))  # datatrove's record of the run is checked too
    assert_nothing_shows_the_secrets(out, r.stdout, r.stderr)


def test_wrong_credentials_are_refused_without_showing_them(tmp_path):
    with guarded_server("basic") as url:
        wrong = url.replace(PASSWORD, PASSWORD[::-1])
        r = redraft(["run", "bayling-zh-en", "-o", str(tmp_path / "out"), "--set", f"source.path={pairs(tmp_path)}",
                     "--set", f"teacher.base_url={wrong}", "--set", "teacher.model=m", "--set", "filters=[]",
                     "--set", "dedupe=false"], tmp_path)
    assert r.returncode == 1
    assert "refused the credentials in teacher.base_url" in r.stderr and redacted(url) in r.stderr
    for text in (r.stdout, r.stderr, *(f.read_text() for f in (tmp_path / "out").rglob("*.log"))):
        assert PASSWORD[::-1] not in text


def test_filter_with_a_judge_url_with_credentials(tmp_path, dialogue_dirs):
    out = tmp_path / "out"
    with guarded_server("both") as url:
        r = redraft(["filter", str(dialogue_dirs[0]), "-o", str(out), "--judge-model", "j", "--judge-url", url],
                    tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = [row for f in (out / "data").glob("*.parquet") for row in pq.read_table(f).to_pylist()]
    assert rows and all(row["judge"]["score"] is not None for row in rows)
    assert redacted(url) in (out / "recipe.yaml").read_text()
    assert_nothing_shows_the_secrets(out, r.stdout, r.stderr)


def test_eval_against_a_url_with_credentials_records_it_redacted(tmp_path):
    src, ref = tmp_path / "src.txt", tmp_path / "ref.txt"
    src.write_text("今天天气很好。\n我喜欢读书。\n", encoding="utf-8")
    ref.write_text("The weather is nice today.\nI like reading books.\n", encoding="utf-8")
    out = tmp_path / "out"
    with guarded_server("both") as url:
        r = redraft(["eval", "translation", "--src", str(src), "--ref", str(ref), "--langs", "zh-en", "--model", "m",
                     "--base-url", url, "-o", str(out)], tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert results["model"]["base_url"] == redacted(url)
    assert results["suites"]["translation-zh-en"]["metrics"].get("failed", 0) == 0
    assert_nothing_shows_the_secrets(out, r.stdout, r.stderr)
