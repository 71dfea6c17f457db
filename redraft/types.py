"""The shared types: a parallel pair, a dialogue turn, a dialogue, and how they travel through datatrove.

Inside a datatrove pipeline every item is a `datatrove.data.Document`: `text` holds the source sentence, `id` the
stable item id, and `metadata` every other row field. `pair_document` builds a pair's Document (`pair_to_document`
from a ParallelPair), `document_to_row` converts back, `PAIR_SCHEMA` / `DIALOGUE_SCHEMA` fix the parquet columns (SPEC:
output directory, row columns), and `document_columns` is what the stage writers store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Literal, TypedDict

import pyarrow as pa
from datatrove.data import Document

Role = Literal["system", "user", "assistant"]


class Turn(TypedDict):
    role: Role
    content: str


@dataclass(slots=True)
class ParallelPair:
    id: str
    src_lang: str
    tgt_lang: str
    source_text: str
    reference_text: str

    @classmethod
    def make(cls, src_lang: str, tgt_lang: str, source_text: str, reference_text: str) -> "ParallelPair":
        return cls(item_id(src_lang, tgt_lang, source_text, reference_text), src_lang, tgt_lang, source_text,
                   reference_text)


@dataclass(slots=True)
class Dialogue:
    id: str
    messages: list[Turn]
    src_lang: str
    tgt_lang: str
    source_text: str
    reference_text: str
    revisions: list[str] = field(default_factory=list)  # one revision-kind name per follow-up request
    # one JSON object per revision with what curation needs to check compliance (e.g. {"word": "..."}, {"max_words": 8})
    revision_args: list[str] = field(default_factory=list)
    teacher: str = ""
    usage: dict = field(default_factory=lambda: {"prompt_tokens": 0, "completion_tokens": 0})
    # the LLM judge's verdict (filters/judge.py): {score, turns, rationale, model}; None when not judged
    judge: dict | None = None


_ID_HASH = hashlib.blake2b(digest_size=8)  # copied for each id: half the cost of making a new one


def item_id(src_lang: str, tgt_lang: str, source_text: str, reference_text: str) -> str:
    """Stable across runs, files and worker counts: a hash of the pair's content (ids are published: keep it so)."""
    key = "\x1f".join((src_lang, tgt_lang, source_text, reference_text))
    h = _ID_HASH.copy()
    h.update(key.encode("utf-8"))
    return h.hexdigest()


PAIR_COLUMNS = ["id", "src_lang", "tgt_lang", "source_text", "reference_text"]
DIALOGUE_COLUMNS = PAIR_COLUMNS[:1] + ["messages"] + PAIR_COLUMNS[1:] + ["revisions", "revision_args", "teacher",
                                                                        "usage", "judge"]
REJECT_COLUMNS = ["status", "reason"]  # status: "dropped" (a filter said no) or "failed" (synthesis gave up)

_TURN = pa.struct([("role", pa.string()), ("content", pa.string())])
_USAGE = pa.struct([("prompt_tokens", pa.int64()), ("completion_tokens", pa.int64())])
# score: the weakest assistant turn's mean of its three criteria, null when the judge gave no usable verdict
_JUDGE = pa.struct([("score", pa.float64()), ("turns", pa.list_(pa.struct([
    ("adequacy", pa.float64()), ("fluency", pa.float64()), ("instruction_following", pa.float64())]))),
    ("rationale", pa.string()), ("model", pa.string())])
PAIR_SCHEMA = pa.schema([(c, pa.string()) for c in PAIR_COLUMNS])
DIALOGUE_SCHEMA = pa.schema([
    ("id", pa.string()), ("messages", pa.list_(_TURN)), ("src_lang", pa.string()), ("tgt_lang", pa.string()),
    ("source_text", pa.string()), ("reference_text", pa.string()), ("revisions", pa.list_(pa.string())),
    ("revision_args", pa.list_(pa.string())), ("teacher", pa.string()), ("usage", _USAGE), ("judge", _JUDGE),
])


# An item's place in the input as read (file order, then row order). Dedupe keeps the smallest of each group, so the
# kept rows do not depend on how the input was split into tasks. Carried through the stages, never published.
POSITION = "_position"


def staged_schema(schema: pa.Schema) -> pa.Schema:
    return schema.append(pa.field(POSITION, pa.int64()))


def rejected_schema(schema: pa.Schema) -> pa.Schema:
    return schema.append(pa.field("status", pa.string())).append(pa.field("reason", pa.string()))


def is_dialogue(doc: Document) -> bool:
    return "messages" in doc.metadata


def pair_document(src_lang: str, tgt_lang: str, source_text: str, reference_text: str,
                  pair_id: str | None = None) -> Document:
    """A pair as a Document, its id `pair_id` or else the content hash (`item_id`): readers build pairs here."""
    if pair_id is None:
        pair_id = item_id(src_lang, tgt_lang, source_text, reference_text)
    return Document(text=source_text, id=pair_id, metadata={
        "src_lang": src_lang, "tgt_lang": tgt_lang, "reference_text": reference_text})


def pair_to_document(pair: ParallelPair) -> Document:
    return pair_document(pair.src_lang, pair.tgt_lang, pair.source_text, pair.reference_text, pair.id)


def dialogue_to_document(d: Dialogue) -> Document:
    meta = asdict(d)
    meta.pop("id"), meta.pop("source_text")
    return Document(text=d.source_text, id=d.id, metadata=meta)


def document_to_pair(doc: Document) -> ParallelPair:
    m = doc.metadata
    return ParallelPair(doc.id, m["src_lang"], m["tgt_lang"], doc.text, m["reference_text"])


def document_to_dialogue(doc: Document) -> Dialogue:
    m = doc.metadata
    return Dialogue(doc.id, m["messages"], m["src_lang"], m["tgt_lang"], doc.text, m["reference_text"],
                    list(m.get("revisions") or []), list(m.get("revision_args") or []), m.get("teacher") or "",
                    dict(m.get("usage") or {"prompt_tokens": 0, "completion_tokens": 0}), m.get("judge"))


def document_to_row(doc: Document) -> dict:
    """The parquet row of a document: dialogue columns if it has `messages`, pair columns otherwise."""
    m = doc.metadata
    row = {"id": doc.id, "source_text": doc.text}
    for c in DIALOGUE_COLUMNS if is_dialogue(doc) else PAIR_COLUMNS:
        if c not in row:
            row[c] = m.get(c)
    return row


def document_columns(docs: list[Document], names: list[str]) -> dict[str, list]:
    """The columns `names` of a batch of documents, what the stage writers store (redraft/writers.py): each
    document's `document_to_row`, column by column, plus the stage columns: the input position (`staged_schema`), a
    rejected item's `status` and `reason` (`rejected_schema`, set by `reject` or a datatrove filter's
    `filter_reason`). A column the document lacks is null."""
    columns = {}
    for name in names:
        if name == "id":
            columns[name] = [d.id for d in docs]
        elif name == "source_text":
            columns[name] = [d.text for d in docs]
        elif name == POSITION:
            columns[name] = [d.metadata[POSITION] for d in docs]
        elif name == "status":
            columns[name] = [d.metadata.get("status", "dropped") for d in docs]
        elif name == "reason":
            columns[name] = [d.metadata.get("reason") or d.metadata.get("filter_reason") or "unspecified"
                             for d in docs]
        else:
            columns[name] = [d.metadata.get(name) for d in docs]
    return columns


def row_to_document(row: dict) -> Document:
    """Inverse of `document_to_row`; rows without `id` get the content hash."""
    doc_id = row.get("id") or item_id(row["src_lang"], row["tgt_lang"], row["source_text"], row["reference_text"])
    meta = {k: v for k, v in row.items() if k not in ("id", "source_text") and k not in REJECT_COLUMNS}
    return Document(text=row["source_text"], id=doc_id, metadata=meta)


def documents_from_columns(columns: dict[str, list]) -> Iterator[Document]:
    """`row_to_document` of each row of a batch given column by column (a stage's rows: every row has an `id`)."""
    meta_names = [k for k in columns if k not in ("id", "source_text") and k not in REJECT_COLUMNS]
    for doc_id, text, *meta in zip(columns["id"], columns["source_text"], *(columns[k] for k in meta_names)):
        yield Document(text=text, id=doc_id, metadata=dict(zip(meta_names, meta)))


def reject(doc: Document, status: Literal["dropped", "failed"], reason: str) -> Document:
    doc.metadata["status"], doc.metadata["reason"] = status, reason
    return doc
