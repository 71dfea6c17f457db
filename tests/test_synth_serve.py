"""End to end: the `bayling-zh-en` recipe against a real OpenAI-compatible server on loopback (`transformers serve`
on the SmolLM2-135M-Instruct safetensors), through the official openai client."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from redraft.recipes.runner import run_recipe

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def serve_url(smollm2_dir, tmp_path_factory):
    port = free_port()
    hub = tmp_path_factory.mktemp("hf-hub")
    # one torch thread: on shared cores a spinning 2-thread pool slows generation by an order of magnitude
    env = {**os.environ, "HF_HUB_CACHE": str(hub), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    cli = Path(sys.executable).with_name("transformers")
    log = open(tmp_path_factory.mktemp("serve") / "serve.log", "w")
    proc = subprocess.Popen([str(cli), "serve", "--host", "127.0.0.1", "--port", str(port), "--device", "cpu",
                             str(smollm2_dir)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, Path(log.name).read_text()[-3000:]
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, "transformers serve did not come up"
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.kill()
        proc.wait()
        log.close()


def test_bayling_zh_en_against_transformers_serve(serve_url, smollm2_dir, tmp_path):
    args = [f"teacher.base_url={serve_url}", f"teacher.model={smollm2_dir}", "teacher.api_key_env=null",
            "teacher.max_tokens=24", "teacher.max_concurrency=4", "synth.turns=2", "filters=[]", "dedupe=false"]
    out = run_recipe("bayling-zh-en", args, output=str(tmp_path / "out"), limit=3)
    rows = [r for f in sorted((out / "data").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    assert len(rows) == 3
    for row in rows:
        assert [m["role"] for m in row["messages"]] == ["user", "assistant", "user", "assistant"]
        assert all(m["content"].strip() for m in row["messages"])
        assert row["source_text"] in row["messages"][0]["content"]
        assert row["teacher"] == str(smollm2_dir) and len(row["revisions"]) == len(row["revision_args"]) == 1
        assert row["usage"]["prompt_tokens"] > 0 and row["usage"]["completion_tokens"] > 0

    # every call is in the response cache: the same run against a server that is gone still completes, identically
    dead = [a if not a.startswith("teacher.base_url=") else "teacher.base_url=http://127.0.0.1:9/v1" for a in args]
    again = run_recipe("bayling-zh-en", dead, output=str(tmp_path / "out"), limit=3)
    assert [r for f in sorted((again / "data").glob("*.parquet")) for r in pq.read_table(f).to_pylist()] == rows
