"""`redraft push` against a Hub on loopback (tests/hub_server.py): the real huggingface_hub and datasets clients do
the HTTP. They read HF_ENDPOINT at import, so every client runs in a subprocess pointed at the test server."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hub_server import TOKEN, HubServer
from redraft.types import DIALOGUE_SCHEMA

REPO_ID = "test-user/dialogues"
CARD = """---
language: [en, de]
license: apache-2.0
task_categories: [translation, text-generation]
size_categories: [n<1K]
tags: [redraft, synthetic]
configs:
- config_name: default
  data_files:
  - split: train
    path: data/*.parquet
---

# dialogues

Three interactive translation dialogues.
"""
PUBLISHED = {"README.md", "recipe.yaml", "stats.json", "data/00000.parquet", "data/00001.parquet",
             "rejected/00000.parquet", "plots/funnel.png"}


def dialogue_row(i: int) -> dict:
    return {"id": f"id{i}", "src_lang": "en", "tgt_lang": "de", "source_text": f"house {i}",
            "reference_text": f"Haus {i}", "revisions": ["formal"], "revision_args": ["{}"], "teacher": "t",
            "usage": {"prompt_tokens": 3, "completion_tokens": 4},
            "messages": [{"role": "user", "content": f"Translate: house {i}"},
                         {"role": "assistant", "content": f"Haus {i}"}]}


@pytest.fixture
def out_dir(tmp_path) -> Path:
    out = tmp_path / "out"
    (out / "data").mkdir(parents=True)
    first_shard = pa.Table.from_pylist([dialogue_row(0), dialogue_row(1)], DIALOGUE_SCHEMA)
    pq.write_table(first_shard, out / "data/00000.parquet")
    pq.write_table(pa.Table.from_pylist([dialogue_row(2)], DIALOGUE_SCHEMA), out / "data/00001.parquet")
    (out / "rejected").mkdir()
    rejected = dict(dialogue_row(9), status="dropped", reason="length")
    pq.write_table(pa.Table.from_pylist([rejected]), out / "rejected/00000.parquet")
    (out / "README.md").write_text(CARD)
    (out / "recipe.yaml").write_text("name: dialogues\n")
    (out / "stats.json").write_text(json.dumps({"input": 4, "kept": 3, "dropped": {"length": 1}, "failed": {}}))
    (out / "plots").mkdir()
    (out / "plots/funnel.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    # state and stray dotfiles that must never be published
    (out / ".redraft/staging").mkdir(parents=True)
    (out / ".redraft/cache.sqlite").write_bytes(b"SQLite format 3\0secret responses")
    (out / ".redraft/staging/00000.parquet").write_bytes(b"half written")
    (out / "data/.00002.parquet.tmp").write_bytes(b"partial")
    (out / ".env").write_text("OPENAI_API_KEY=sk-secret\n")
    return out


@pytest.fixture
def hub(tmp_path):
    with HubServer(tmp_path / "hub") as server:
        yield server


def client_env(hub: HubServer, tmp_path: Path, token: str | None = TOKEN) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
    env |= {"HF_ENDPOINT": hub.endpoint, "HF_HUB_DISABLE_XET": "1", "HF_HOME": str(tmp_path / "hf_home"),
            "HF_HUB_CACHE": str(tmp_path / "hf_cache"), "HF_DATASETS_CACHE": str(tmp_path / "datasets_cache"),
            "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1", "NO_PROXY": "127.0.0.1"}
    if token:
        env["HF_TOKEN"] = token
    return env


def run_client(code: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=120)


PUSH = """
import sys
from redraft.hub import push
print(push(sys.argv[1], sys.argv[2], private=sys.argv[3] == "private"))
"""

PUSH_CATCHING_RUNTIME_ERROR = """
import sys
from redraft.hub import push
try:
    push(sys.argv[1], sys.argv[2])
except RuntimeError as err:
    print(type(err).__name__, err)
"""

READ_BACK = """
import json, sys
from datasets import load_dataset
rows = load_dataset(sys.argv[1], split="train")
print(json.dumps([{"id": r["id"], "messages": r["messages"]} for r in rows]))
"""

BAD_INPUTS = """
import json, sys
from pathlib import Path
from redraft.errors import UsageError
from redraft.hub import push
results = {}
for case, out_dir, repo_id in json.loads(sys.argv[1]):
    try:
        push(out_dir, repo_id)
        results[case] = "pushed"
    except UsageError as err:
        results[case] = f"UsageError: {err}"
print(json.dumps(results))
"""


def test_push_uploads_the_folder_in_one_commit_and_reads_back(hub, out_dir, tmp_path):
    env = client_env(hub, tmp_path)
    pushed = run_client(PUSH, env, str(out_dir), REPO_ID, "private")
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.strip() == f"{hub.endpoint}/datasets/{REPO_ID}"

    assert hub.create_payloads == [{"name": "dialogues", "organization": "test-user", "visibility": "private",
                                    "type": "dataset"}]
    repo = hub.repos[REPO_ID]
    assert repo.private
    assert len(repo.commits) == 2  # the empty initial commit, then the whole folder at once
    assert hub.committed_paths(REPO_ID) == PUBLISHED
    for path in PUBLISHED:
        assert hub.file_bytes(REPO_ID, path) == (out_dir / path).read_bytes(), path

    binaries = [p for p in PUBLISHED if p.endswith((".parquet", ".png"))]
    assert {hashlib.sha256((out_dir / p).read_bytes()).hexdigest() for p in binaries} == hub.lfs_uploaded
    assert all(repo.head.files[p].lfs for p in binaries)
    assert not any(repo.head.files[p].lfs for p in PUBLISHED - set(binaries))

    # the LFS PUT goes to a storage URL (S3 on the real Hub) and carries no token; every API write does
    api_writes = [r for r in hub.write_requests() if not (r.method == "PUT" and r.path.startswith("/lfs-objects/"))]
    assert api_writes and all(r.authorization == f"Bearer {TOKEN}" for r in api_writes)
    sent = b"".join(r.body for r in hub.requests) + "".join(r.path for r in hub.requests).encode()
    for secret in (b".redraft", b"secret responses", b"half written", b"partial", b"sk-secret", b".env"):
        assert secret not in sent

    read = run_client(READ_BACK, env, REPO_ID)
    assert read.returncode == 0, read.stderr
    rows = json.loads(read.stdout.strip().splitlines()[-1])
    assert [r["id"] for r in rows] == ["id0", "id1", "id2"]
    assert rows[2]["messages"] == dialogue_row(2)["messages"]


def test_push_again_adds_one_commit_and_keeps_the_repo_public(hub, out_dir, tmp_path):
    env = client_env(hub, tmp_path)
    assert run_client(PUSH, env, str(out_dir), REPO_ID, "public").returncode == 0
    (out_dir / "stats.json").write_text(json.dumps({"input": 4, "kept": 3, "note": "second run"}))
    again = run_client(PUSH, env, str(out_dir), REPO_ID, "public")
    assert again.returncode == 0, again.stderr
    repo = hub.repos[REPO_ID]
    assert not repo.private and len(repo.commits) == 3
    assert hub.file_bytes(REPO_ID, "stats.json") == (out_dir / "stats.json").read_bytes()


def test_push_uploads_only_the_files_redraft_published(hub, out_dir, tmp_path):
    """A file of the user's beside the parts stays on the machine: a folder from before the manifest publishes its
    output parts' files; one with `.redraft/manifest.json` exactly the files listed there."""
    (out_dir / "notes.txt").write_text("my private notes")
    (out_dir / "analysis").mkdir()
    (out_dir / "analysis" / "draft.md").write_text("an unpublished analysis")
    env = client_env(hub, tmp_path)
    assert run_client(PUSH, env, str(out_dir), REPO_ID, "public").returncode == 0
    assert hub.committed_paths(REPO_ID) == PUBLISHED

    listed = PUBLISHED - {"plots/funnel.png"}
    (out_dir / "plots" / "sketch.png").write_bytes(b"\x89PNG a sketch of mine")
    (out_dir / ".redraft" / "manifest.json").write_text(json.dumps(
        {"format": 1, "parts": sorted({p.split("/")[0] for p in listed}), "files": sorted(listed)}))
    pushed = run_client(PUSH, env, str(out_dir), "test-user/listed", "public")
    assert pushed.returncode == 0, pushed.stderr
    assert hub.committed_paths("test-user/listed") == listed
    sent = b"".join(r.body for r in hub.requests) + "".join(r.path for r in hub.requests).encode()
    for mine in (b"my private notes", b"notes.txt", b"an unpublished analysis", b"a sketch of mine"):
        assert mine not in sent


def test_bad_input_is_a_usage_error_before_any_request(hub, out_dir, tmp_path):
    no_data = tmp_path / "no_data"
    shutil.copytree(out_dir, no_data)
    shutil.rmtree(no_data / "data")
    no_card = tmp_path / "no_card"
    shutil.copytree(out_dir, no_card)
    (no_card / "README.md").unlink()
    publishing = tmp_path / "publishing"  # a publish under way (or killed): data/ may hold two runs' shards
    shutil.copytree(out_dir, publishing)
    (publishing / ".redraft" / "publish.json").write_text("{}")
    cases = [("missing dir", str(tmp_path / "nope"), REPO_ID), ("no data", str(no_data), REPO_ID),
             ("publishing", str(publishing), REPO_ID),
             ("no card", str(no_card), REPO_ID), ("no namespace", str(out_dir), "dialogues"),
             ("too deep", str(out_dir), "a/b/c"), ("url", str(out_dir), "https://huggingface.co/datasets/a/b")]
    done = run_client(BAD_INPUTS, client_env(hub, tmp_path), json.dumps(cases))
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert results["missing dir"].startswith("UsageError") and "no such output directory" in results["missing dir"]
    assert "data/*.parquet" in results["no data"]
    assert "README.md" in results["no card"]
    assert "a publish into this folder is under way or was interrupted" in results["publishing"]
    for case in ("no namespace", "too deep", "url"):
        assert "namespace/name" in results[case], results[case]
    assert hub.requests == []


def test_missing_token_is_a_usage_error_naming_hf_token(hub, out_dir, tmp_path):
    done = run_client(BAD_INPUTS, client_env(hub, tmp_path, token=None),
                      json.dumps([("no token", str(out_dir), REPO_ID)]))
    assert done.returncode == 0, done.stderr
    assert "HF_TOKEN" in json.loads(done.stdout)["no token"]
    assert hub.requests == []


def test_hub_refusal_is_a_runtime_error(hub, out_dir, tmp_path):
    refused = run_client(PUSH_CATCHING_RUNTIME_ERROR, client_env(hub, tmp_path, token="hf_wrong"), str(out_dir),
                         REPO_ID)
    assert refused.returncode == 0, refused.stderr
    assert refused.stdout.startswith("PushError") and REPO_ID in refused.stdout
    assert hub.repos == {} and hub.lfs_uploaded == set()


REDRAFT = str(Path(sys.executable).with_name("redraft"))


def test_cli_push_exit_codes(hub, out_dir, tmp_path):
    env = client_env(hub, tmp_path)
    bad_dir = subprocess.run([REDRAFT, "push", str(tmp_path / "nope"), REPO_ID], env=env, capture_output=True,
                             text=True, timeout=60)
    assert bad_dir.returncode == 2 and "no such output directory" in bad_dir.stderr
    assert hub.requests == []

    refused = subprocess.run([REDRAFT, "push", str(out_dir), REPO_ID], env=client_env(hub, tmp_path, "hf_wrong"),
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "PushError" in refused.stderr

    pushed = subprocess.run([REDRAFT, "push", str(out_dir), REPO_ID, "--private"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.strip() == f"{hub.endpoint}/datasets/{REPO_ID}"
    assert hub.repos[REPO_ID].private and hub.committed_paths(REPO_ID) == PUBLISHED
