"""The output folder of every command that writes one (`run`, `filter`, `dedupe`, `eval`, `export` to a folder, the
trainer's `final/`): who owns it, the checks made on it before any work, and `publish`, the one way a finished run's
parts replace an earlier run's.

Ownership: a folder is redraft's only if redraft made it, which `OUT/.redraft/` (`STATE_DIR`) says; its
`manifest.json` lists the parts and files redraft published there. A non-empty folder without `.redraft/` is refused
before any work (`check_output_dir`), and in redraft's own folder only the parts in its manifest are ever replaced or
removed: a file of the user's beside them is never touched. (A folder from before the manifest, `.redraft/` without
it, is redraft's too: its parts are the part names present, as earlier versions treated them.)

Atomic publishing: a run assembles its parts in a staging folder under `.redraft/` (same filesystem, so moves are
renames), then `publish` writes a journal (`.redraft/publish.json`: what goes in, what goes out, the manifest to write)
and only then moves anything. Each step is idempotent, so `finish_publish`, which every command writing the folder
calls first (`claim_output_dir`), completes a publish a kill interrupted. The parts go in the order their tuple
gives, the one readers look at last (a dataset's card): `data/` shards carry a content fingerprint in their names, so
new ones are added beside the old ones, which the earlier card keeps selecting until the new card replaces it; only
then are the old shards removed. `load_dataset(OUT)` thus reads the complete old rows or the complete new ones at
every instant; redraft's own readers refuse a folder while its journal is there (`check_not_publishing`). Every
other part is replaced whole: a file by one rename, a folder by two (the old one set aside in `.redraft/`).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from redraft.chat_formats import CHAT_FORMATS
from redraft.errors import UsageError

STATE_DIR = ".redraft"
MANIFEST = "manifest.json"  # under STATE_DIR: {"format": 1, "parts": [...], "files": [...]}
JOURNAL = "publish.json"  # under STATE_DIR while a publish is under way
MANIFEST_FORMAT = 1
SHARDS = "data"  # the one part merged file by file (see the module's docstring)
_SET_ASIDE = "published-before"  # under STATE_DIR: the parts being replaced, until the journal is done
# a dataset output folder's parts (SPEC), in the order they are published: the card, which load_dataset reads, last
DATASET_PARTS = ("data", "rejected", "plots", *CHAT_FORMATS, "recipe.yaml", "stats.json", "README.md")


def check_output_dir(out: str | Path, inputs: list[str | Path | None] = ()) -> None:
    """Before any work: OUT must be a folder redraft can write, apart from its inputs (an output inside an input
    folder would be read back as input on the next run; an input inside OUT would be replaced by the output), and
    empty or redraft's own."""
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
    if out.is_dir():
        check_owned(out)


def check_owned(out: Path) -> None:
    """OUT is empty or redraft's: it has `.redraft/`, with a manifest in a format this version reads."""
    entries = sorted(p.name + ("/" if p.is_dir() else "") for p in out.iterdir())
    if not entries:
        return
    if not (out / STATE_DIR).is_dir():
        shown = ", ".join(entries[:5]) + (f" and {len(entries) - 5} more" if len(entries) > 5 else "")
        raise UsageError(f"{out}: the folder holds files redraft did not write ({shown}) and is not a redraft output "
                         f"folder (no {STATE_DIR}/ in it); redraft replaces what it writes there, so choose another "
                         "output folder, or empty this one")
    manifest = read_manifest(out)
    if manifest and manifest.get("format", 0) > MANIFEST_FORMAT:
        raise UsageError(f"{out}: written by a newer redraft (output format {manifest['format']}; this one writes "
                         f"{MANIFEST_FORMAT}); upgrade redraft, or choose another output folder")


def claim_output_dir(out: Path) -> Path:
    """At the start of the work, after `check_output_dir`: mark OUT as redraft's (`OUT/.redraft/`) and complete a
    publish a kill interrupted. Returns the state folder."""
    state = out / STATE_DIR
    state.mkdir(parents=True, exist_ok=True)
    finish_publish(out)
    return state


def clear_state(out: Path) -> None:
    """`--fresh`: forget the work files and caches under `OUT/.redraft/`, never the manifest (what redraft owns)."""
    state = out / STATE_DIR
    claim_output_dir(out)
    for p in state.iterdir():
        if p.name != MANIFEST:
            _remove(p)


def read_manifest(out: Path) -> dict | None:
    path = out / STATE_DIR / MANIFEST
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except ValueError as e:
        raise UsageError(f"{path}: not a readable manifest ({e}); remove it to treat the folder as an earlier "
                         "redraft's") from None


def owned_parts(out: Path, parts: tuple[str, ...]) -> list[str]:
    """Of `parts`, those OUT holds as redraft's: its manifest's, or in a folder from before the manifest, those
    present."""
    manifest = read_manifest(out)
    owned = manifest["parts"] if manifest else [p for p in parts if (out / p).exists() or (out / p).is_symlink()]
    return [p for p in parts if p in owned]


def published_files(out: Path, parts: tuple[str, ...] = DATASET_PARTS) -> list[str]:
    """The files redraft published in OUT (relative, posix): its manifest's, or in a folder from before the
    manifest, every file under the `parts` present."""
    check_not_publishing(out)
    manifest = read_manifest(out)
    if manifest:
        return sorted(manifest["files"])
    return sorted(f for p in owned_parts(out, parts) for f in _files_under(out, p))


def check_not_publishing(folder: Path) -> None:
    """Readers of an output folder: refuse one whose publish is under way or was interrupted (its `data/` may hold
    two runs' shards until the publish completes)."""
    if (folder / STATE_DIR / JOURNAL).exists():
        raise UsageError(f"{folder}: a publish into this folder is under way or was interrupted "
                         f"({STATE_DIR}/{JOURNAL}); run the command that writes it again, which completes it first")


def _files_under(root: Path, part: str) -> list[str]:
    """The files of a part (a dotfile, such as a writer's temporary file, is never one)."""
    p = root / part
    if p.is_file():
        return [part]
    files = (f.relative_to(root) for f in p.rglob("*") if f.is_file()) if p.is_dir() else ()
    return sorted(f.as_posix() for f in files if not any(n.startswith(".") for n in f.parts))


def _write_json(path: Path, obj) -> None:
    """Atomically: a reader (or a kill) sees the old file or the new one."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def publish(staging: Path, out: Path, parts: tuple[str, ...]) -> None:
    """Replace the earlier run's `parts` in `out` with those in `staging` (a folder under `out/.redraft/`): each of
    `parts` in `staging` goes in, in the tuple's order; one of them redraft published before and `staging` lacks is
    removed; nothing else in `out` is touched. `staging` is gone afterwards."""
    state = claim_output_dir(out)
    owned = owned_parts(out, parts)
    new = [p for p in parts if (staging / p).exists()]
    for p in new:
        if (out / p).exists() and p not in owned:
            raise UsageError(f"{out / p}: redraft did not write it (it is not in {STATE_DIR}/{MANIFEST}), and this "
                             f"run would replace it; move it out of {out}, then run the same command again")
    manifest = read_manifest(out) or {"parts": owned, "files": [f for p in owned for f in _files_under(out, p)]}
    new_files = [f for p in new for f in _files_under(staging, p)]
    kept_parts = [p for p in manifest["parts"] if p not in parts]
    journal = {
        "staging": staging.relative_to(out).as_posix(),
        "publish": new,
        "retire": [p for p in owned if p not in new],
        "old_shards": [f for f in manifest["files"] if f.startswith(f"{SHARDS}/") and f not in new_files]
        if SHARDS in owned else [],
        "manifest": {"format": MANIFEST_FORMAT, "parts": sorted({*kept_parts, *new}),
                     "files": sorted({*(f for f in manifest["files"] if f.split("/")[0] in kept_parts), *new_files})},
    }
    _write_json(state / JOURNAL, journal)
    finish_publish(out)


def finish_publish(out: Path) -> None:
    """Complete the publish `OUT/.redraft/publish.json` describes, from wherever a kill stopped it: every step is
    done only if it was not, so running this again is harmless."""
    state = out / STATE_DIR
    try:
        journal = json.loads((state / JOURNAL).read_text())
    except FileNotFoundError:
        return
    staging, aside = out / journal["staging"], state / _SET_ASIDE
    for part in journal["publish"]:
        if part == SHARDS and (staging / part).is_dir():
            (out / part).mkdir(exist_ok=True)
            for shard in sorted((staging / part).iterdir()):
                os.replace(shard, out / part / shard.name)
            (staging / part).rmdir()
        elif (staging / part).exists():
            if (out / part).is_dir() or (staging / part).is_dir():
                _set_aside(out, part, aside)
            os.replace(staging / part, out / part)
    lost = [f for f in journal["manifest"]["files"] if f.split("/")[0] in journal["publish"] and not (out / f).exists()]
    if lost:  # the staging folder went away under the journal: removing the old parts would leave neither
        raise RuntimeError(f"{out}: cannot complete the publish in {state / JOURNAL}: {lost[0]} is neither staged nor "
                           f"published; remove {state / JOURNAL} and run the command again")
    for part in journal["retire"]:
        _set_aside(out, part, aside)
    for f in journal["old_shards"]:
        (out / f).unlink(missing_ok=True)
    _write_json(state / MANIFEST, journal["manifest"])
    shutil.rmtree(aside, ignore_errors=True)
    shutil.rmtree(staging, ignore_errors=True)
    (state / JOURNAL).unlink()


def _set_aside(out: Path, part: str, aside: Path) -> None:
    """Move an old part out of the way (into `aside`, removed once the publish is done)."""
    if not ((out / part).exists() or (out / part).is_symlink()):
        return
    aside.mkdir(exist_ok=True)
    _remove(aside / part)  # a part of the same name set aside before: the older still
    os.replace(out / part, aside / part)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
