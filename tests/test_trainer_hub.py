"""Training data given as a Hub dataset id, served by the loopback Hub (tests/hub_server.py). The trainer's processes
read HF_ENDPOINT at import, so the push runs in a subprocess and the training processes inherit the environment."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from hub_server import TOKEN, HubServer
from redraft.trainer import train
from test_trainer_distributed import make_config, metrics

REPO_ID = "test-user/zh-en-dialogues"

PUSH = """
import sys
from redraft.hub import push
push(sys.argv[1], sys.argv[2])
"""


@pytest.fixture
def hub_env(tmp_path, monkeypatch):
    with HubServer(tmp_path / "hub") as hub:
        for k in [k for k in os.environ if k.startswith(("HF_", "HUGGINGFACE_"))]:
            monkeypatch.delenv(k)
        for k, v in {"HF_ENDPOINT": hub.endpoint, "HF_HUB_DISABLE_XET": "1", "HF_HOME": str(tmp_path / "hf_home"),
                     "HF_HUB_CACHE": str(tmp_path / "hf_cache"), "HF_DATASETS_CACHE": str(tmp_path / "ds_cache"),
                     "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1", "HF_TOKEN": TOKEN,
                     "NO_PROXY": "127.0.0.1"}.items():
            monkeypatch.setenv(k, v)
        yield hub


def test_train_from_a_hub_dataset_id_equals_the_local_folder(tmp_path, hub_env, tiny_llama_dir, dialogue_dirs):
    folder = shutil.copytree(dialogue_dirs[0], tmp_path / "zh-en")
    (folder / "README.md").write_text("# zh-en dialogues\n")
    pushed = subprocess.run([sys.executable, "-c", PUSH, str(folder), REPO_ID], capture_output=True, text=True,
                            timeout=120)
    assert pushed.returncode == 0, pushed.stderr

    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.chdir(tmp_path)  # `test-user/zh-en-dialogues` must not exist as a folder
    try:
        # not "hub": the loopback Hub keeps its files in tmp_path/hub, a folder redraft did not write
        assert train(str(make_config(tmp_path, tiny_llama_dir, [REPO_ID], "from-hub", max_steps=2)), [], 1) == 0
    finally:
        monkeypatch.undo()
    assert any(r.method == "GET" and REPO_ID in r.path for r in hub_env.requests)
    assert train(str(make_config(tmp_path, tiny_llama_dir, [folder], "local", max_steps=2)), [], 1) == 0

    manifest = json.loads((tmp_path / "from-hub" / "final" / "training_manifest.json").read_text())
    source = manifest["data"][0]
    assert (source["kind"], source["path"], source["name"], source["rows"]) == ("hub", REPO_ID, REPO_ID, 24)
    assert source["content_hash"] and source["mask_audit"]["examples"] == 24
    # the same rows in the same order: the same losses as training from the folder that was pushed
    assert [m["loss"] for m in metrics(tmp_path / "from-hub")] == [m["loss"] for m in metrics(tmp_path / "local")]
