"""The Hugging Face Hub: what a Hub repo id looks like (`is_hub_id`, the one guess of "Hub id or local path" every
reader and config makes), and `redraft push`, which publishes an output directory as a dataset repo in one commit.

`push` uploads only the files redraft published in the directory, as its manifest lists them (redraft/output.py;
a folder from before the manifest: the files under its output parts), never a file of the user's beside them nor
`.redraft/`, which holds the response cache and must never leave the machine. Input is checked before any network
call; Hub and network failures come back as `PushError` (a RuntimeError), bad input as `UsageError`.
"""

from __future__ import annotations

import re
from pathlib import Path

from redraft.errors import UsageError
from redraft.output import published_files

HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")


def is_hub_id(value: str, bare_name: bool = False) -> bool:
    """Whether `value` reads as a Hub repo id, `namespace/name` (with `bare_name`, also a legacy id without a
    namespace, like `gpt2`), rather than a local path. Callers look for the local path first."""
    return bool(HUB_ID.fullmatch(value)) and ".." not in value and (bare_name or "/" in value)


class PushError(RuntimeError):
    """The Hub refused the push or could not be reached."""


def files_to_push(out_dir: Path) -> list[Path]:
    """The files redraft published in `out_dir`, relative to it (none while a publish is under way there)."""
    return [Path(f) for f in published_files(out_dir) if (out_dir / f).is_file()]


def check_push_input(out_dir: Path, repo_id: str) -> list[Path]:
    if not is_hub_id(repo_id) or repo_id.endswith((".git", ".")):
        raise UsageError(f"repo id {repo_id!r} must look like namespace/name (e.g. my-user/my-dialogues)")
    if not out_dir.is_dir():
        raise UsageError(f"{out_dir}: no such output directory")
    if not any((out_dir / "data").glob("*.parquet")):
        raise UsageError(f"{out_dir}: no data/*.parquet to publish; run `redraft run` first")
    if not (out_dir / "README.md").is_file():
        raise UsageError(f"{out_dir}: no README.md dataset card")
    return files_to_push(out_dir)


def push(out_dir: str | Path, repo_id: str, private: bool = False, token: str | None = None) -> str:
    """Create (or reuse) the dataset repo `repo_id` and upload `out_dir` to it in one commit; return the repo URL."""
    out_dir = Path(out_dir)
    files = check_push_input(out_dir, repo_id)

    # Imported here: huggingface_hub reads HF_ENDPOINT and friends at import, and the rest of redraft doesn't need it.
    from huggingface_hub import CommitOperationAdd, HfApi, get_token

    token = token or get_token()
    if not token:
        raise UsageError("no Hugging Face token: set HF_TOKEN or run `hf auth login`")

    api = HfApi(token=token)
    operations = [CommitOperationAdd(path_in_repo=p.as_posix(), path_or_fileobj=out_dir / p) for p in files]
    try:
        repo_url = api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        api.create_commit(repo_id, operations, repo_type="dataset",
                          commit_message=f"redraft push: {len(files)} files from {out_dir.name}")
    # The HTTP library under huggingface_hub changes between releases (requests, httpx, httpx2), so its connection
    # errors share no base class with HfHubHTTPError; only create_repo/create_commit run in here.
    except Exception as err:
        raise PushError(f"pushing {out_dir} to {repo_id} failed: {type(err).__name__}: {err}") from err
    return str(repo_url)
