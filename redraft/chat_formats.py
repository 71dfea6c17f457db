"""The chat formats other trainers read, each mapped to and from our `messages` rows. One place for all of them.

- `messages`: `{"messages": [{"role": "user", "content": ...}, {"role": "assistant", ...}], ...}`, what `redraft run`
  writes (and TRL, the OpenAI fine-tuning API and axolotl's `chat_template` default read).
- `sharegpt`: `{"id": ..., "conversations": [{"from": "human", "value": ...}, {"from": "gpt", "value": ...}]}`, what
  FastChat, LLaMA-Factory and axolotl read. Roles human/user, gpt/assistant and system; turns written as
  `{role, content}` under another column (`messages_column`) are read the same way.
- `alpaca`: `{"instruction": ..., "input": ..., "output": ..., "system": ..., "history": [[user, assistant], ...]}`:
  one exchange, earlier ones in `history`. The user turn is `instruction` and `input` joined by a newline, as
  LLaMA-Factory joins them.

Readers call `as_messages_row` on every row; writers call `from_messages`. A ShareGPT or Alpaca row that breaks the
rules (unknown role, turns that do not alternate user/assistant after an optional system turn, a missing answer)
raises `InputError` naming the file and row.
"""

from __future__ import annotations

from redraft.errors import InputError

CHAT_FORMATS = ("messages", "sharegpt", "alpaca")
# ShareGPT role names (and our own) -> ours
ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system"}
SHAREGPT_ROLES = {"user": "human", "assistant": "gpt", "system": "system"}
SHAREGPT_COLUMN = "conversations"
ALPACA_COLUMNS = ("instruction", "input", "output", "system", "history")
# our row columns copied into every exported row, so that reading an export back gives the same rows
METADATA_COLUMNS = ("src_lang", "tgt_lang", "source_text", "reference_text", "revisions", "revision_args", "teacher",
                    "usage", "judge")


def candidates(row: dict, messages_column: str | None = None) -> list[str]:
    """The chat formats whose columns a row has (none: a parallel pair)."""
    found = []
    if messages_column is not None:
        found += ["sharegpt"] if messages_column in row else []
    else:
        if SHAREGPT_COLUMN in row:
            found.append("sharegpt")
        if "messages" in row:
            turns = row["messages"]
            first = turns[0] if isinstance(turns, list) and turns else None
            found.append("sharegpt" if isinstance(first, dict) and "from" in first else "messages")
    if "instruction" in row and "output" in row:
        found.append("alpaca")
    return list(dict.fromkeys(found))


def as_messages_row(row: dict, fmt: str, messages_column: str | None, file, line) -> dict:
    """`row` with its ShareGPT or Alpaca columns replaced by `messages`; pairs and `messages` rows as they are.

    `fmt`: `auto` (from the columns, which must fit one format) or one of CHAT_FORMATS. Errors name `file` and
    `line` (a line number or `row N`)."""
    found = candidates(row, messages_column)
    if fmt == "messages" and messages_column:  # {role, content} turns under another column: read like ShareGPT's
        fmt = "sharegpt"
    if fmt == "auto":
        if len(found) > 1:
            raise InputError(str(file), line, f"the columns fit more than one chat format ({', '.join(found)}); "
                             f"choose one (--chat-format {'|'.join(CHAT_FORMATS)})")
        found = found[0] if found else None
    elif fmt in found:
        found = fmt
    else:
        want = {"sharegpt": f"a `{messages_column or SHAREGPT_COLUMN}` column",
                "alpaca": "`instruction` and `output` columns", "messages": "a `messages` column"}[fmt]
        raise InputError(str(file), line, f"chat format {fmt} needs {want}; found {sorted(row)}")
    if found in (None, "messages"):
        return row
    try:
        if found == "sharegpt":
            column = messages_column or (SHAREGPT_COLUMN if SHAREGPT_COLUMN in row else "messages")
            messages = sharegpt_to_messages(row[column])
            dropped = (column,)
        else:
            messages = alpaca_to_messages(row)
            dropped = ALPACA_COLUMNS
    except ValueError as e:
        raise InputError(str(file), line, f"{found}: {e}") from None
    out = {k: v for k, v in row.items() if k not in dropped}
    out["messages"] = messages
    return out


def check_turns(messages: list[dict]) -> None:
    """An optional system turn, then user and assistant turns in turn, starting with the user and ending with the
    assistant. Raises ValueError naming the first turn that breaks it."""
    start = 1 if messages and messages[0]["role"] == "system" else 0
    for i, m in enumerate(messages[start:], start):
        want = "user" if (i - start) % 2 == 0 else "assistant"
        if m["role"] != want:
            raise ValueError(f"turn {i + 1} is {m['role']!r} where {want!r} was expected (turns alternate user, "
                             "assistant after an optional system turn)")
    if len(messages) - start < 2:
        raise ValueError("no exchange: a dialogue needs a user turn and an assistant turn")
    if (len(messages) - start) % 2:
        raise ValueError(f"the last turn ({len(messages)}) is the user's, with no assistant answer")


def sharegpt_to_messages(turns) -> list[dict]:
    if not isinstance(turns, list):
        raise ValueError(f"the conversation must be a list of turns, not {type(turns).__name__}")
    messages = []
    for i, t in enumerate(turns, 1):
        if not isinstance(t, dict):
            raise ValueError(f"turn {i} is not an object")
        role, content = (t.get("from"), t.get("value")) if "from" in t else (t.get("role"), t.get("content"))
        if role not in ROLES:
            raise ValueError(f"turn {i}: unknown role {role!r} (known: {', '.join(ROLES)})")
        if not isinstance(content, str):
            raise ValueError(f"turn {i}: the text must be a string")
        messages.append({"role": ROLES[role], "content": content})
    check_turns(messages)
    return messages


def alpaca_to_messages(row: dict) -> list[dict]:
    for col in ("instruction", "input", "output", "system"):
        if row.get(col) is not None and not isinstance(row[col], str):
            raise ValueError(f"`{col}` must be a string")
    if row.get("output") is None:
        raise ValueError("`output` is missing")
    messages = [{"role": "system", "content": row["system"]}] if row.get("system") else []
    history = row.get("history") or []
    if not isinstance(history, list):
        raise ValueError("`history` must be a list of [user, assistant] pairs")
    for i, pair in enumerate(history, 1):
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
            raise ValueError(f"`history` item {i} is not a [user, assistant] pair of strings")
        messages += [{"role": "user", "content": pair[0]}, {"role": "assistant", "content": pair[1]}]
    user = "\n".join(x for x in (row.get("instruction"), row.get("input")) if x)
    messages += [{"role": "user", "content": user}, {"role": "assistant", "content": row["output"]}]
    return messages


def from_messages(row: dict, fmt: str) -> dict:
    """One of our rows (`document_to_row`) in format `fmt`: `id`, the format's columns, then METADATA_COLUMNS.
    Raises ValueError when the turns do not fit the format (see `check_turns`)."""
    messages = [{"role": m["role"], "content": m["content"]} for m in row["messages"]]
    out = {"id": row["id"]}
    if fmt == "messages":
        out["messages"] = messages
    elif fmt == "sharegpt":
        for i, m in enumerate(messages, 1):
            if m["role"] not in SHAREGPT_ROLES:
                raise ValueError(f"turn {i}: role {m['role']!r} has no ShareGPT name")
        check_turns(messages)
        out[SHAREGPT_COLUMN] = [{"from": SHAREGPT_ROLES[m["role"]], "value": m["content"]} for m in messages]
    elif fmt == "alpaca":
        check_turns(messages)
        has_system = messages[0]["role"] == "system"
        system, turns = (messages[0]["content"], messages[1:]) if has_system else ("", messages)
        pairs = [[turns[i]["content"], turns[i + 1]["content"]] for i in range(0, len(turns), 2)]
        # `system` and `history` always present: LLaMA-Factory's column mapping reads them from every row
        out.update(instruction=pairs[-1][0], input="", output=pairs[-1][1], system=system, history=pairs[:-1])
    else:
        raise ValueError(f"unknown format {fmt!r} (one of {', '.join(CHAT_FORMATS)})")
    out.update({c: row.get(c) for c in METADATA_COLUMNS})
    return out
