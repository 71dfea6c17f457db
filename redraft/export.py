"""`redraft export` and the recipe's `output.formats`: dialogues written in the layout a trainer reads.

`OUT` ending in `.json` (one JSON array), `.jsonl` or `.parquet` is one file. Any other `OUT` is a folder holding
`train.json` and `dataset_info.json`, LLaMA-Factory's description of it, so the folder works as LLaMA-Factory's
`dataset_dir` as it is. Rows are converted by redraft/chat_formats.py and written as they come (parquet in row groups
of `PARQUET_BATCH` rows), so memory holds a batch however big the input; a file appears only once every row
converted, so a bad row leaves nothing half-written. A folder is an output folder like `redraft run`'s
(redraft/output.py): refused when it holds files redraft did not write, its two files published together.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

import yaml

from redraft.chat_formats import CHAT_FORMATS, METADATA_COLUMNS, SHAREGPT_COLUMN, from_messages
from redraft.errors import UsageError
from redraft.output import STATE_DIR, check_output_dir, claim_output_dir, publish
from redraft.readers import ItemReader, rows_path
from redraft.types import DIALOGUE_SCHEMA, document_to_row, is_dialogue

FILE_SUFFIXES = (".json", ".jsonl", ".parquet")
TRAIN_FILE = "train.json"
LLAMAFACTORY_INFO = "dataset_info.json"
EXPORT_PARTS = (TRAIN_FILE, LLAMAFACTORY_INFO)  # an export folder's parts, in the order they are published
PARQUET_BATCH = 2048  # rows per row group of an exported parquet file


def llamafactory_entry(fmt: str, file_name: str = TRAIN_FILE) -> dict:
    """The `dataset_info.json` entry LLaMA-Factory needs to read a file we wrote in `fmt`."""
    if fmt == "alpaca":
        return {"file_name": file_name, "columns": {"prompt": "instruction", "query": "input", "response": "output",
                                                    "system": "system", "history": "history"}}
    role, content, user, assistant, column = (("from", "value", "human", "gpt", SHAREGPT_COLUMN) if fmt == "sharegpt"
                                              else ("role", "content", "user", "assistant", "messages"))
    return {"file_name": file_name, "formatting": "sharegpt", "columns": {"messages": column},
            "tags": {"role_tag": role, "content_tag": content, "user_tag": user, "assistant_tag": assistant,
                     "system_tag": "system"}}


def axolotl_dataset(fmt: str, path: str) -> dict:
    """The entry of an axolotl config's `datasets:` list for a file we wrote in `fmt` (its `chat_template` type;
    axolotl's own `alpaca` type has no history or system, so Alpaca files are for LLaMA-Factory)."""
    if fmt == "alpaca":
        raise ValueError("axolotl reads dialogues through type: chat_template; export sharegpt or messages for it")
    entry = {"path": path, "ds_type": "parquet" if path.endswith(".parquet") else "json", "type": "chat_template"}
    if fmt == "sharegpt":  # its default roles already map human/gpt/system
        entry.update(field_messages=SHAREGPT_COLUMN, message_property_mappings={"role": "from", "content": "value"})
    return entry


def converted_rows(input_path: str, fmt: str, **read) -> Iterator[dict]:
    """Every dialogue of `input_path` (any input `ItemReader` takes) as a row in `fmt`."""
    if fmt not in CHAT_FORMATS:
        raise UsageError(f"--format {fmt!r}: one of {', '.join(CHAT_FORMATS)}")
    for n, doc in enumerate(ItemReader(input_path, **read).read(), 1):
        if not is_dialogue(doc):
            raise UsageError(f"{input_path}: holds parallel pairs; only dialogues export to {fmt}")
        row = document_to_row(doc)
        try:
            yield from_messages(row, fmt)
        except ValueError as e:
            raise UsageError(f"{input_path}: row {n} (id {row['id']}): cannot write it as {fmt}: {e}") from None


def parquet_schema(fmt: str):
    """The columns of an export in `fmt` (SPEC: exported rows), typed as redraft's own dialogue columns."""
    import pyarrow as pa

    string = pa.string()
    columns = {"messages": [("messages", DIALOGUE_SCHEMA.field("messages").type)],
               "sharegpt": [(SHAREGPT_COLUMN, pa.list_(pa.struct([("from", string), ("value", string)])))],
               "alpaca": [("instruction", string), ("input", string), ("output", string), ("system", string),
                          ("history", pa.list_(pa.list_(string)))]}[fmt]
    return pa.schema([("id", string), *columns, *(DIALOGUE_SCHEMA.field(c) for c in METADATA_COLUMNS)])


def _parquet_batch(rows: list[dict], schema, first: int):
    """`rows` as a table of `schema`; a row that does not fit is named (its number counts from `first`)."""
    import pyarrow as pa

    try:
        return pa.Table.from_pylist(rows, schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        for n, row in enumerate(rows, first):
            for field in schema:
                try:
                    pa.array([row.get(field.name)], field.type)
                except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
                    raise UsageError(f"row {n} (id {row.get('id')}): column `{field.name}` does not fit parquet's "
                                     f"{field.type}: {e}") from None
        raise


def _write_parquet(rows: Iterable[dict], path: Path, fmt: str) -> int:
    import pyarrow.parquet as pq

    schema, n, batch = parquet_schema(fmt), 0, []
    with pq.ParquetWriter(path, schema) as writer:
        for n, row in enumerate(rows, 1):
            batch.append(row)
            if len(batch) == PARQUET_BATCH:
                writer.write_table(_parquet_batch(batch, schema, n - len(batch) + 1))
                batch = []
        if batch:
            writer.write_table(_parquet_batch(batch, schema, n - len(batch) + 1))
    return n


def write_rows(rows: Iterable[dict], path: Path, fmt: str) -> int:
    """Write rows in `fmt` as a JSON array, JSONL or parquet (by suffix) into a temporary file renamed at the end."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    n = 0
    try:
        if path.suffix == ".parquet":
            n = _write_parquet(rows, tmp, fmt)
        else:
            array = path.suffix == ".json"
            with open(tmp, "w", encoding="utf-8") as f:
                f.write("[" if array else "")
                for n, row in enumerate(rows, 1):
                    sep = ("\n" if n == 1 else ",\n") if array else ""
                    f.write(sep + json.dumps(row, ensure_ascii=False) + ("" if array else "\n"))
                f.write("\n]\n" if array else "")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return n


def dataset_name(input_path: str) -> str:
    """The name an export goes by in `dataset_info.json`: the recipe's name, else the input folder's."""
    p = Path(input_path)
    folder = p.parent if p.name == "data" or p.is_file() else p
    recipe = folder / "recipe.yaml"
    if recipe.is_file():
        name = (yaml.safe_load(recipe.read_text(encoding="utf-8")) or {}).get("name")
        if isinstance(name, str) and name:
            return name
    return folder.resolve().name or "redraft"


def write_folder(rows: Iterable[dict], folder: Path, fmt: str, name: str) -> tuple[Path, int]:
    """`folder/train.json` and `folder/dataset_info.json` (LLaMA-Factory's entry for it, keyed by `name`)."""
    n = write_rows(rows, folder / TRAIN_FILE, fmt)
    info = {name: llamafactory_entry(fmt)}
    (folder / LLAMAFACTORY_INFO).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return folder / TRAIN_FILE, n


def export(input_path: str, fmt: str, out: str | Path, name: str | None = None, **read) -> tuple[Path, int]:
    """Write the dialogues of `input_path` (an output folder's `data/`, or any dialogue input) in `fmt` to `out` (a
    file by suffix, else a folder, which is published as an output folder: redraft's own, replaced atomically).
    Returns the file written and the number of rows. `read`: ItemReader options for the input (`chat_format`,
    `messages_column`)."""
    out = Path(out)
    rows = converted_rows(rows_path(input_path), fmt, **read)
    if out.suffix in FILE_SUFFIXES:
        return out, write_rows(rows, out, fmt)
    if out.is_file():
        raise UsageError(f"-o {out}: a file without a .json/.jsonl/.parquet suffix; give one, or a folder")
    check_output_dir(out)
    created, claimed = not out.exists(), (out / STATE_DIR).is_dir()
    staging = claim_output_dir(out) / "export"
    try:
        shutil.rmtree(staging, ignore_errors=True)
        _, n = write_folder(rows, staging, fmt, name or dataset_name(input_path))
    except BaseException:  # a bad row: the folder stays as it was
        shutil.rmtree(staging if claimed else out / STATE_DIR, ignore_errors=True)
        if created:
            out.rmdir()
        raise
    publish(staging, out, EXPORT_PARTS)
    return out / TRAIN_FILE, n


def write_formats(out_dir: Path, formats: Iterable[str], name: str) -> None:
    """`output.formats`: `OUT/FORMAT/train.json` (and `dataset_info.json`) beside `OUT/data/`, for each format (into
    the staging folder that is then published as a whole)."""
    for fmt in formats:
        write_folder(converted_rows(str(out_dir / "data"), fmt), out_dir / fmt, fmt, name)
