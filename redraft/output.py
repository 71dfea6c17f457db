"""The output folder of every command that writes one (`run`, `filter`, `dedupe`, `eval`): where a run keeps its
state, the checks made on the folder before any work, and `publish`, the one way a finished run's parts replace an
earlier run's.

A run works under `OUT/.redraft/` (`STATE_DIR`: response cache and work files, never published) and assembles its
parts in a staging folder there; only once the whole run succeeded does `publish` move them into `OUT`, so a failed
run leaves an earlier good output as it was. Every command goes through `check_output_dir` before any work and
`publish` at the end: the rules of what redraft may write in a folder live here alone.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from redraft.chat_formats import CHAT_FORMATS
from redraft.errors import UsageError

STATE_DIR = ".redraft"
# a dataset output folder's parts (SPEC), `output.formats` folders included
DATASET_PARTS = ("data", "rejected", "plots", "README.md", "recipe.yaml", "stats.json", *CHAT_FORMATS)


def check_output_dir(out: str | Path, inputs: list[str | Path | None] = ()) -> None:
    """Before any work: OUT must be a folder redraft can write, apart from its inputs (an output inside an input
    folder would be read back as input on the next run; an input inside OUT would be replaced by the output)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: exists and is not a folder; give a folder for the output")
    here = out.resolve()
    for given in filter(None, inputs):
        src = Path(given).resolve()
        if not src.exists():
            continue
        if here == src or (src.is_dir() and src in here.parents):
            raise UsageError(f"{out}: the output folder is inside the input {given}; write it elsewhere")
        if here in src.parents and src.relative_to(here).parts[0] in DATASET_PARTS:
            raise UsageError(f"{out}: the output would replace its own input {given}; write it elsewhere")
    parent = next(p for p in (out, *out.parents) if p.exists())
    if os.statvfs(parent).f_flag & os.ST_RDONLY or not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{out}: cannot write there ({parent} is read-only)")


def publish(staging: Path, out: Path, parts: tuple[str, ...]) -> None:
    """Replace the earlier run's `parts` in `out` with those in `staging` (a part missing there is removed from
    `out`), then remove `staging`."""
    out.mkdir(parents=True, exist_ok=True)
    for name in parts:
        if (out / name).is_dir():
            shutil.rmtree(out / name)
        elif (out / name).exists():
            (out / name).unlink()
    for name in parts:
        if (staging / name).exists():
            (staging / name).rename(out / name)
    shutil.rmtree(staging, ignore_errors=True)
