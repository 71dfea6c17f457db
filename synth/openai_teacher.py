"""A teacher behind an OpenAI-compatible chat-completions endpoint, through the official `openai` client.

The client retries 429 (honouring `Retry-After`), 5xx, timeouts and dropped connections itself. What it lacks, and
this adds: flow control shared by all requests (synth/ratelimit.py), a retry when a 200 reply is truncated, invalid or
empty, and a verdict on errors that mean the endpoint is unusable (bad key, wrong URL or model).
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from urllib.parse import urlparse

import openai

from redraft.synth import endpoint
from redraft.synth.errors import TeacherError, TeacherUnavailable
from redraft.synth.ratelimit import RateLimiter
from redraft.synth.teacher import Completion

PLACEHOLDER_KEY = "sk-no-key-needed"  # local servers ignore the key, but the client insists on one


def http_client_class():
    """aiohttp's pool when `openai[aiohttp]` is installed: httpx's pool scans every connection on each request,
    which costs more than the request itself with hundreds in flight."""
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        return openai.DefaultAsyncHttpxClient
    return getattr(openai, "DefaultAioHttpClient", openai.DefaultAsyncHttpxClient)


def _is_local(base_url: str | None) -> bool:
    host = urlparse(base_url).hostname if base_url else None
    return host in ("localhost", "127.0.0.1", "::1", "0.0.0.0")


def key_from_environment(name: str) -> str | None:
    """The key in `$NAME`, else in the file `$NAME_FILE` names (a file only its owner can read: the way to hand a key
    to Ray workers, see recipes/executors.py), else None."""
    if os.environ.get(name):
        return os.environ[name]
    path = os.environ.get(f"{name}_FILE")
    if not path:
        return None
    try:
        return Path(path).read_text().strip() or None
    except OSError as e:
        raise TeacherUnavailable(f"${name}_FILE names {path!r}, which cannot be read here ({e.strerror}): it must "
                                 f"be on a filesystem this machine sees, readable by this user") from None


def resolve_api_key(config) -> str:
    key = key_from_environment(config.api_key_env) if config.api_key_env else None
    if key:
        return key
    if config.base_url and (_is_local(config.base_url) or not config.api_key_env
                            or endpoint.has_userinfo(config.base_url)):  # basic auth from the URL replaces the key
        return PLACEHOLDER_KEY
    name = config.api_key_env
    raise TeacherUnavailable(
        f"teacher {config.model!r}: the API key variable {name!r} is not set (export {name}=..., or {name}_FILE=a "
        f"file holding it; on a Ray cluster, in each node's environment at `ray start` or as {name}_FILE: see the "
        f"README, Scaling out), or set teacher.api_key_env: null for a server without keys")


def encode_body(body: dict) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def completion_from(reply) -> Completion:
    """The completion in a chat-completions reply body; TeacherError `invalid_response` (not a chat completion) or
    `empty_response` (no text) when it holds none."""
    try:
        choice = reply["choices"][0] if reply.get("choices") else {}
        text = (choice.get("message") or {}).get("content")
        usage = reply.get("usage") or {}
        prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError) as e:
        raise TeacherError("invalid_response", repr(e)) from None
    if not isinstance(text, str) or not text:
        raise TeacherError("empty_response", f"finish_reason={choice.get('finish_reason')}")
    return Completion(text, prompt, completion, choice.get("finish_reason") or "stop")


class OpenAITeacher:
    def __init__(self, config):
        self.config = config
        self.model = config.model
        self.params = {"temperature": config.temperature, "max_tokens": config.max_tokens}
        self.uses_seed = config.send_seed
        self.limiter = RateLimiter(config.max_concurrency, config.requests_per_minute, config.tokens_per_minute)
        self._client: openai.AsyncOpenAI | None = None
        self.retries_invalid = 0  # 200 replies that could not be used and were asked again

    @property
    def client(self) -> openai.AsyncOpenAI:
        if self._client is None:  # inside the running loop: httpx binds its pool to it
            async def hook(response):
                self.limiter.on_response(response.status_code, response.headers)

            import httpx2

            limits = httpx2.Limits(max_connections=self.config.max_concurrency + 8,
                                   max_keepalive_connections=self.config.max_concurrency + 8)
            http = http_client_class()(event_hooks={"response": [hook]}, limits=limits)
            where = endpoint.split(self.config.base_url)  # credentials in the URL as headers and query parameters
            self._client = openai.AsyncOpenAI(
                base_url=where.url, api_key=resolve_api_key(self.config), timeout=self.config.timeout,
                max_retries=self.config.max_retries, http_client=http, default_headers=where.headers or None,
                default_query=where.query or None)
        return self._client

    def request_body(self, messages, seed: int) -> dict:
        """One chat-completions request: direct calls send it, batch files (synth/batch.py) hold it as it is."""
        extra = {"seed": seed} if self.config.send_seed else {}
        return {"model": self.model, "messages": messages, **self.params, **extra}

    async def complete(self, messages, *, seed: int) -> Completion:
        estimated = sum(len(m["content"]) for m in messages) // 3 + self.params["max_tokens"]
        # the body goes as bytes (replayed as-is on the client's retries): the client's own JSON encoder runs in
        # Python, json.dumps in C, and CPU per request is what limits requests/s (see synth_overhead.py)
        body = encode_body(self.request_body(messages, seed))
        last: Exception | None = None
        for attempt in range(self.config.max_retries + 1):
            if attempt:
                await asyncio.sleep(min(8.0, 0.25 * 2 ** attempt))
            async with self.limiter.slot(estimated):
                try:
                    # the client's generic `post`: same retries, timeouts and errors as `chat.completions.create`,
                    # without its per-call TypedDict transform of the body (the costliest part of a request here)
                    # and without building pydantic models of the reply: only three fields of it are read
                    reply = await self.client.post("/chat/completions", cast_to=dict, content=body)
                except (openai.APIResponseValidationError, ValueError, TypeError) as e:
                    # a 200 whose body is truncated or not JSON: the client does not retry these
                    reply = e
                except openai.APIError as e:
                    raise self.error(e) from None
            try:
                if isinstance(reply, Exception):
                    raise TeacherError("invalid_response", repr(reply))
                done = completion_from(reply)
            except TeacherError as e:
                last = e
                self.retries_invalid += e.reason == "invalid_response"
                continue
            self.limiter.used_tokens(estimated, done.prompt_tokens + done.completion_tokens)
            return done
        raise last

    def error(self, e: openai.APIError) -> TeacherError | TeacherUnavailable:
        """What a failed request means: this request failed (TeacherError), or the teacher cannot be used."""
        where = self.config.where  # the base URL with any credentials in it redacted
        if isinstance(e, (openai.AuthenticationError, openai.PermissionDeniedError)):
            what = ("the credentials in teacher.base_url" if endpoint.has_userinfo(self.config.base_url)
                    else f"the API key from ${self.config.api_key_env}")
            return TeacherUnavailable(f"teacher {self.model!r} at {where} refused {what}: {e}")
        if isinstance(e, openai.NotFoundError):
            return TeacherUnavailable(f"teacher {self.model!r}: {where} has no such model or endpoint (check "
                                      f"teacher.base_url and teacher.model): {e}")
        if isinstance(e, openai.RateLimitError):
            return TeacherError("rate_limited", str(e))
        if isinstance(e, openai.APITimeoutError):
            return TeacherError("timeout", str(e))
        if isinstance(e, openai.APIConnectionError):
            return TeacherError("connection_error", f"{e} ({e.__cause__!r})")
        if isinstance(e, openai.APIStatusError):
            return TeacherError("bad_request" if e.status_code < 500 else "server_error", str(e))
        return TeacherError("invalid_response", repr(e))

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
