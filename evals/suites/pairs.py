"""The parallel test set of the translation and interactive suites: two line-aligned files (WMT's `.src` / `.ref`),
or any pairs input redraft reads (TSV, JSONL, parquet, a Hugging Face dataset id) as `source` alone."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from redraft.filters.language_codes import language_pair
from redraft.readers import ItemReader

from ..segments import file_digest, read_lines, same_length


class PairsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None  # the suite's label in results (default: SUITE-LANGS)
    source: str  # source segments, one a line (or a pairs file / Hub dataset id, without `reference`)
    reference: str | None = None  # references, line-aligned with `source`
    langs: str  # xx-yy
    limit: int | None = Field(None, ge=1)  # the first N pairs only


def read_pairs(config: PairsConfig) -> tuple[list[tuple[str, str]], dict]:
    """Every (source, reference) pair, and the data files with their sha256 (a Hub id is recorded as given)."""
    src_lang, tgt_lang = language_pair(config.langs, f"{config.name}.langs")
    if config.reference is not None:
        sources, references = read_lines(config.source), read_lines(config.reference)
        same_length(sources, config.source, references, config.reference)
        return list(zip(sources, references)), {p: file_digest(p) for p in (config.source, config.reference)}
    from redraft.storage import location

    reader = ItemReader(config.source, src_lang=src_lang, tgt_lang=tgt_lang)
    pairs = [(doc.text, doc.metadata["reference_text"]) for doc in reader.read() if "messages" not in doc.metadata]
    files = {config.source: file_digest(config.source) if location(config.source).is_file() else "hub"}
    return pairs, files
