"""A config as its user wrote it: a YAML file read with the line of every field, `--set dotted.key=value` overrides
on top, and pydantic validation whose errors say where each bad value came from (`FILE:LINE`, or the `--set` item as
written). Recipes, training configs and eval configs are all read through `ConfigSource`.

No library does this part: PyYAML, OmegaConf and pydantic-settings drop the line numbers once a file is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from redraft.errors import ConfigError

Model = TypeVar("Model", bound=BaseModel)
FieldPath = tuple  # keys and list indices: ("suites", 0, "limit")


@dataclass
class ConfigSource:
    """A config's fields (`data`), and where each came from: its line in `file`, or the `--set` item that set it."""

    data: dict
    file: str  # the file, or what stands for one ("--set", "options")
    lines: dict[FieldPath, int] = field(default_factory=dict)
    overrides: dict[FieldPath, str] = field(default_factory=dict)  # path -> the `--set` item as written

    @classmethod
    def read(cls, path: str | Path, what: str) -> ConfigSource:
        """A YAML file's mapping with the line of every field; ConfigError naming the line when it is not valid
        YAML, or saying `what` a config is when it is not a mapping."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"{path}: {e.strerror.lower()}") from None
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            raise ConfigError(f"{path}{f':{mark.line + 1}' if mark else ''}: not valid YAML: "
                              f"{getattr(e, 'problem', e)}") from None
        finally:
            loader.dispose()
        if not isinstance(data, dict):
            raise ConfigError(f"{path}:1: {what}")
        return cls(data, str(path), _lines(node))

    def set(self, items: Iterable[str], under: FieldPath = ()) -> ConfigSource:
        """Apply `--set dotted.key=value` items in order: the value read as YAML, a number indexes a list
        (`suites.0.limit=20`), missing parents are created. `under` roots the keys (one suite's fields)."""
        for item in items:
            keys, value = parse_override(item)
            path = _put(self.data, under + keys, value, item)
            self.overrides.pop(path, None)  # kept in the order last set
            self.overrides[path] = item
        return self

    def origin(self, path: FieldPath | str) -> str:
        """Where the value at `path` (a tuple, or dotted) came from: the last `--set` item that set it, a parent of it
        or a field below it (`--set nope.x=1` answers for `nope`), else FILE:LINE of the nearest field in the file."""
        if isinstance(path, str):
            path = tuple(int(k) if k.isdigit() else k for k in path.split("."))
        for keys, item in reversed(self.overrides.items()):
            n = min(len(keys), len(path))
            if n and keys[:n] == path[:n]:
                return f"--set {item}"
        line = next((self.lines[path[:i]] for i in range(len(path), -1, -1) if path[:i] in self.lines), None)
        return f"{self.file}:{line}" if line else self.file

    def validate(self, model: type[Model], what: str, name: Callable[[str], str] = str) -> Model:
        """`model` made from the data; else ConfigError `invalid WHAT` with one line `ORIGIN: FIELD: message` per
        error, FIELD the dotted path as `name` writes it."""
        try:
            return model.model_validate(self.data)
        except ValidationError as e:
            msgs = []
            for err in e.errors():
                path = written_path(self.data, err)
                dotted = ".".join(map(str, path)) or f"({what})"
                msgs.append(f"{self.origin(path)}: {name(dotted)}: {err['msg']}")
            raise ConfigError(f"invalid {what}\n  " + "\n  ".join(dict.fromkeys(msgs))) from None


def parse_override(item: str) -> tuple[FieldPath, object]:
    """`a.b.c=value` as (("a", "b", "c"), value), the value read as YAML (`filters=[]`, `teacher.timeout=5`)."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {item!r}: expected dotted.key=value")
    try:
        value = yaml.safe_load(raw) if raw != "" else ""
    except yaml.YAMLError as e:
        raise ConfigError(f"--set {item!r}: the value is not valid YAML: {e}") from None
    return tuple(key.strip().split(".")), value


def written_path(data: dict, error: dict) -> FieldPath:
    """A pydantic error's location as the config writes it: the union tags pydantic puts in (`literal['default']`,
    `DedupeConfig`, a suite's name) dropped, so only keys and list indices of `data` remain."""
    path, node, loc = [], data, error["loc"]
    for i, key in enumerate(loc):
        if isinstance(node, dict) and (key in node or (i == len(loc) - 1 and error["type"] == "missing")):
            node = node.get(key)
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            continue  # a tag: no step into the data
        path.append(key)
    return tuple(path)


def _put(node, keys: FieldPath, value, item: str) -> FieldPath:
    """node[k1][k2]... = value, making missing (or scalar) parents mappings; the path with list indices as ints."""
    path = []
    for i, key in enumerate(keys):
        if isinstance(node, list):
            if not (isinstance(key, int) or key.isdigit()) or int(key) >= len(node):
                raise ConfigError(f"--set {item}: no item {key} in a list of {len(node)}")
            key = int(key)
        path.append(key)
        if i == len(keys) - 1:
            node[key] = value
        else:
            if not isinstance(node[key] if isinstance(node, list) else node.get(key), (dict, list)):
                node[key] = {}
            node = node[key]
    return tuple(path)


def _lines(node: yaml.Node, path: FieldPath = (), out: dict | None = None) -> dict[FieldPath, int]:
    """The 1-based line of each field path (keys and list indices) in a composed YAML document."""
    out = {} if out is None else out
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            out[path + (k.value,)] = k.start_mark.line + 1
            _lines(v, path + (k.value,), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            out[path + (i,)] = v.start_mark.line + 1
            _lines(v, path + (i,), out)
    return out
