"""Atomic distributed checkpoints with torch.distributed.checkpoint (DCP), in a local folder or at an fsspec URL
(`s3://...`: DCP's FsspecWriter and FsspecReader).

A checkpoint is written to `checkpoints/step-N/` (object stores have no rename), `complete.json` (every file's size)
last. Only folders whose `complete.json` matches the files there are loaded, so an interrupted or truncated
checkpoint is skipped in favour of the previous one.

Contents: the sharded model and optimizer (DCP), and `trainer_state.json` (step, scheduler, data position) plus one
`rng-rank{r}.pt` per rank.

Loading runs no code a checkpoint holds: the RNG files are read with `weights_only=True`, DCP's `.metadata` pickle with
an unpickler that builds DCP's metadata types and nothing else, and the optimizer's plain values (which DCP itself
reads with `weights_only=False`) with `weights_only=True`. A crafted file raises `UnsafeCheckpoint`.
"""

from __future__ import annotations

import io
import json
import pickle
import re
import shutil
from pathlib import Path

from torch.distributed.checkpoint._fsspec_filesystem import FsspecReader, FsspecWriter  # not re-exported in 2.13

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
import torch.distributed.checkpoint.metadata as dcp_metadata
from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict

from redraft.storage import is_url

STEP_DIR = re.compile(r"^step-(\d+)$")


class UnsafeCheckpoint(RuntimeError):
    """A checkpoint file that would run code when loaded."""


def _refuse(path, error: Exception) -> UnsafeCheckpoint:
    lines = [line for line in str(error).splitlines() if line.strip()] or [type(error).__name__]
    reason = next((line for line in lines if "GLOBAL" in line), lines[0])  # torch.load's line naming the global
    return UnsafeCheckpoint(f"{path}: refusing to load it: it holds more than checkpoint data ({reason}); this "
                            "trainer did not write it: delete its checkpoint folder to resume from the one before")


class _MetadataUnpickler(pickle.Unpickler):
    """DCP's `.metadata`: its metadata classes, tensor sizes, dtypes, layouts and paths, and no other callable."""

    EXTRA = {("torch", "Size"), ("torch.serialization", "_get_layout"), ("pathlib", "PosixPath"),
             ("pathlib", "WindowsPath"), ("torch.distributed.checkpoint.filesystem", "_StorageInfo"),
             ("collections", "OrderedDict")}

    def find_class(self, module: str, name: str):
        if (module, name) in self.EXTRA:
            return super().find_class(module, name)
        found = {"torch": torch, dcp_metadata.__name__: dcp_metadata}.get(module)
        found = getattr(found, name, None) if found is not None and "." not in name else None
        if isinstance(found, torch.dtype) or (isinstance(found, type) and found.__module__ == dcp_metadata.__name__):
            return found
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed")


class _SafeMetadata:
    def read_metadata(self, *args, **kwargs) -> dcp_metadata.Metadata:
        """FileSystemReader's, with `_MetadataUnpickler` in place of `pickle.load`."""
        path = self.fs.concat_path(self.path, ".metadata")
        try:
            with self.fs.create_stream(path, "rb") as f:
                metadata = _MetadataUnpickler(f).load()
        except pickle.UnpicklingError as e:
            raise _refuse(path, e) from None
        if getattr(metadata, "storage_meta", None) is None:
            metadata.storage_meta = dcp_metadata.StorageMeta()
        metadata.storage_meta.load_id = self.load_id
        return metadata


class _Reader(_SafeMetadata, dcp.FileSystemReader):
    pass


class _UrlReader(_SafeMetadata, FsspecReader):
    pass


def _reader(folder: Path):
    return _UrlReader(str(folder)) if is_url(folder) else _Reader(folder)


def _writer(folder: Path):
    # an object is whole once its upload completes: no fsync (which FsspecWriter would turn into a global os.sync)
    return FsspecWriter(str(folder), sync_files=False) if is_url(folder) else dcp.FileSystemWriter(folder)


def _rmtree(folder: Path) -> None:
    if not is_url(folder):
        shutil.rmtree(folder, ignore_errors=True)
    elif folder.exists():
        folder.fs.rm(folder.path, recursive=True)


def _fresh(folder: Path) -> Path:
    """The folder with no listing cached (s3fs keeps listings; other ranks and runs write there too)."""
    if is_url(folder):
        folder.fs.invalidate_cache()
    return folder


class _Planner(dcp.DefaultLoadPlanner):
    def load_bytes(self, read_item, value: io.BytesIO) -> None:
        """The non-tensor values (the optimizer's hyperparameters), read with weights_only=True and handed to DCP
        re-saved, so its own `torch.load(weights_only=False)` reads only what we wrote."""
        try:
            plain = torch.load(value, weights_only=True)
        except pickle.UnpicklingError as e:
            raise _refuse(f"the checkpoint's {read_item.dest_index.fqn}", e) from None
        value = io.BytesIO()
        torch.save(plain, value)
        value.seek(0)
        super().load_bytes(read_item, value)


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def is_complete(folder: Path) -> bool:
    manifest = folder / "complete.json"
    if not manifest.is_file():
        return False
    try:
        sizes = json.loads(manifest.read_text())["files"]
    except (ValueError, KeyError):
        return False
    return all((folder / name).is_file() and (folder / name).stat().st_size == size for name, size in sizes.items())


def latest_checkpoint(root: Path) -> Path | None:
    """The last complete checkpoint under `root` (a Path, or a URL's `redraft.storage.path`)."""
    if not _fresh(root).is_dir():
        return None
    steps = sorted((int(m.group(1)), p) for p in root.iterdir() if (m := STEP_DIR.match(p.name)) and p.is_dir())
    for _, folder in reversed(steps):
        if is_complete(folder):
            return folder
    return None


def save_checkpoint(root: Path, step: int, model, optimizer, trainer_state: dict, rank: int, keep: int) -> Path:
    folder = root / f"step-{step}"
    if rank == 0:
        _rmtree(folder)  # an incomplete one a kill left
        folder.mkdir(parents=True, exist_ok=True)
    dist.barrier()
    model_sd, optim_sd = get_state_dict(model, optimizer)
    dcp.save({"model": model_sd, "optim": optim_sd}, storage_writer=_writer(folder))
    with (folder / f"rng-rank{rank}.pt").open("wb") as f:
        torch.save(_rng_state(), f)
    dist.barrier()
    if rank == 0:
        (folder / "trainer_state.json").write_text(json.dumps(trainer_state, indent=1))
        sizes = {p.name: p.stat().st_size for p in _fresh(folder).iterdir() if p.is_file()}
        (folder / "complete.json").write_text(json.dumps({"step": step, "files": sizes}))
        done = sorted((int(m.group(1)), p) for p in _fresh(root).iterdir() if (m := STEP_DIR.match(p.name)))
        for _, old in done[:-keep]:
            _rmtree(old)
    dist.barrier()
    return folder


def load_checkpoint(folder: Path, model, optimizer, rank: int) -> dict:
    """Restore model, optimizer and this rank's RNG in place; returns trainer_state.json."""
    model_sd, optim_sd = get_state_dict(model, optimizer)
    state = {"model": model_sd, "optim": optim_sd}
    rng = folder / f"rng-rank{rank}.pt"
    try:
        rng_state = torch.load(io.BytesIO(rng.read_bytes()), weights_only=True) if rng.is_file() else None
    except pickle.UnpicklingError as e:
        raise _refuse(rng, e) from None
    _reader(folder).read_metadata()  # refused here, not in the failure summary DCP gathers from the ranks
    try:
        dcp.load(state, storage_reader=_reader(folder), planner=_Planner())
    except dcp.CheckpointException as e:
        refused = [exc for exc, _ in e.failures.values() if isinstance(exc, UnsafeCheckpoint)]
        if refused:
            raise refused[0] from None
        raise
    set_state_dict(model, optimizer, model_state_dict=state["model"], optim_state_dict=state["optim"])
    if rng_state is not None:
        _set_rng_state(rng_state)
    return json.loads((folder / "trainer_state.json").read_text())
