"""A teacher's `base_url` may carry credentials: `https://user:password@host/v1` (HTTP basic auth, for a server
behind a proxy) or a key in its query string (`https://host/v1?key=...`). They are sent as the official client's own
transport (httpx) sends them: userinfo as an `Authorization: Basic` header, which takes the place of the bearer key,
and the query on every request. aiohttp, redraft's transport, refuses userinfo beside the client's `Authorization`
header, and the client joins paths after a query, so both are taken out of the URL here (`split`).

Anything written (recipe.yaml, the card, eval results, logs, error messages, datatrove's executor.json) shows the
URL `redacted`: userinfo and every query value replaced by `***`."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from pydantic import PlainSerializer

HIDDEN = "***"


def has_userinfo(url: str | None) -> bool:
    return bool(url) and "@" in urlsplit(url).netloc


def has_credentials(url: str | None) -> bool:
    """Userinfo or a query string (every query value is taken for a credential)."""
    return has_userinfo(url) or bool(url) and bool(urlsplit(url).query)


def redacted(url: str | None) -> str | None:
    """`url` with its userinfo and query values replaced by `***`; a URL without either, as it is."""
    if not has_credentials(url):
        return url
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{HIDDEN}@{host}" if has_userinfo(url) else host
    query = urlencode([(k, HIDDEN) for k, _ in parse_qsl(parts.query, keep_blank_values=True)], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


@dataclass(frozen=True)
class Endpoint:
    """What an OpenAI client is given for a `base_url`: the URL without credentials, and the headers and query
    parameters that carry them."""

    url: str | None
    headers: dict[str, str] = field(default_factory=dict, repr=False)  # not in logged tracebacks either
    query: dict[str, str] = field(default_factory=dict, repr=False)


def split(url: str | None) -> Endpoint:
    if not has_credentials(url):
        return Endpoint(url)
    parts = urlsplit(url)
    headers = {}
    if has_userinfo(url):
        user, _, password = parts.netloc.rpartition("@")[0].partition(":")
        token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    bare = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))
    return Endpoint(bare, headers, dict(parse_qsl(parts.query, keep_blank_values=True)))


# a config field holding a base URL: its JSON form (recipe.yaml, results.json, ...) is the URL redacted
BaseUrl = Annotated[str | None, PlainSerializer(redacted, when_used="json")]
