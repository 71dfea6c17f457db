"""Paths as published artefacts record them: never the absolute paths of the machine that ran the command.

`recipe.yaml`, the dataset card and a curation's record travel with the dataset to the Hub, where `/home/me/...` or
`/tmp/...` tells nothing and leaks the machine's layout. A path is recorded relative to the recipe's folder when it
lies there, else relative to the working directory when it lies there, else by its name alone. Relative paths that
lie in neither (a Hub dataset id, `../data/x.tsv`) stay as given.
"""

from __future__ import annotations

import os
from pathlib import Path

# recipe fields (at any depth) that hold local paths
PATH_KEYS = ("path", "paths", "target_path", "input")


def portable_path(path: str | None, *bases: Path) -> str | None:
    """`path` relative to the first of `bases` (then the working directory) that holds it; else as given when
    relative, or its name when absolute."""
    if not path:
        return path
    p = Path(path)
    full = Path(os.path.abspath(p))
    for base in (*bases, Path.cwd()):
        base = Path(os.path.abspath(base))
        if full == base or base in full.parents:
            return full.relative_to(base).as_posix() or "."
    return p.name if p.is_absolute() else path


def portable_record(data, *bases: Path):
    """A recipe (or any record) as plain data with every path field made portable; other values as they are."""
    if isinstance(data, dict):
        return {k: (_portable_value(v, bases) if k in PATH_KEYS else portable_record(v, *bases))
                for k, v in data.items()}
    if isinstance(data, list):
        return [portable_record(v, *bases) for v in data]
    return data


def _portable_value(value, bases):
    if isinstance(value, str):
        return portable_path(value, *bases)
    if isinstance(value, list):
        return [portable_path(v, *bases) if isinstance(v, str) else v for v in value]
    return portable_record(value, *bases)

