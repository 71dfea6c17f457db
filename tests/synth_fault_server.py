"""An OpenAI-compatible chat-completions server on loopback that misbehaves on purpose, for the synthesis tests and
the overhead benchmark. Run: python tests/synth_fault_server.py --port 0 [--faults 0.5] [--latency 0.2]; it prints
its port on the first line of stdout.

Answers are a function of the request (model, messages, seed), so a faulty run and a clean run can be compared.
The first attempt at a request is faulty with probability `--faults` (chosen by hashing the request: 429 with
Retry-After, 500, a reply slower than the client's timeout, a truncated JSON body, a dropped connection); its retry
is answered. Messages containing POISON always get a 500. GET /stats returns counters, including how many times
each request was answered in full (`served`): a call "paid" twice shows up there, the most requests it was
answering at once (`max_in_flight`) and every HTTP request it got (`http_requests`). tests/batch_server.py adds the
Batch API to it.

With --judge, a request that asks for an LLM judge's verdict (a system message mentioning "turns": see
filters/judge.py) is answered with a verdict: one entry per `[assistant ...]` line of its first user message, every
criterion scored d where that line holds `SCORE=d` and 5 where it holds none. A request whose first user message holds
MALFORMED is answered with prose instead, every time. With --judge, a pairwise review in BayLing's format (a request
mentioning "Score of the Assistant 1": see evals/pairwise_judge.py) is answered with one: each assistant scores d where its
conversation holds `SCORE=d` (1-10) and 6 where it holds none, and Assistant 1 gets one more (capped at 10), a
position bias to cancel.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import re
from collections import Counter
from urllib.parse import parse_qs, urlsplit

FAULTS = ("429", "500", "slow", "truncated", "drop")
SCORE_MARK = re.compile(r"SCORE=([1-5])")
REVIEW_MARK = re.compile(r"SCORE=(10|[1-9])")
REVIEW_BLOCK = re.compile(r"<\|The Start of Assistant ([12])'s Conversation with User\|>(.*?)<\|The End of Assistant",
                          re.DOTALL)


class FaultServer:
    def __init__(self, faults: float, latency: float, slow_seconds: float, api_key: str | None, status_all: int | None,
                 kinds: tuple[str, ...] = FAULTS, judge: bool = False, basic_auth: str | None = None,
                 query_key: str | None = None):
        self.faults, self.latency, self.slow_seconds, self.kinds = faults, latency, slow_seconds, kinds
        self.api_key, self.status_all, self.judge = api_key, status_all, judge
        self.basic_auth, self.query_key = basic_auth, query_key
        self.in_flight = self.max_in_flight = 0
        self.attempts: Counter = Counter()
        self.served: Counter = Counter()
        self.counts: Counter = Counter()
        self.http_requests = 0  # every request but GET /stats

    def stats(self) -> dict:
        return {"counts": dict(self.counts), "served": dict(self.served), "requests": sum(self.attempts.values()),
                "max_in_flight": self.max_in_flight, "http_requests": self.http_requests}

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
                body = await self.read_body(reader, writer, headers)
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                try:
                    keep = await self.respond(method, path, headers, body, writer)
                finally:
                    self.in_flight -= 1
                if not keep:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @staticmethod
    async def read_body(reader: asyncio.StreamReader, writer, headers: dict) -> bytes:
        if headers.get("expect", "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if headers.get("transfer-encoding", "").lower() != "chunked":
            return await reader.readexactly(int(headers.get("content-length", 0)))
        chunks = []
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
        while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
            pass
        return b"".join(chunks)

    @staticmethod
    def send(writer, status: int, payload: bytes, extra: dict | None = None, length: int | None = None,
             content_type: str = "application/json") -> None:
        reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 409: "Conflict",
                  429: "Too Many Requests", 500: "Error"}[status]
        head = [f"HTTP/1.1 {status} {reason}", f"content-type: {content_type}",
                f"content-length: {len(payload) if length is None else length}"]
        head += [f"{k}: {v}" for k, v in (extra or {}).items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)

    async def respond(self, method, path, headers, body, writer) -> bool:
        if method == "GET" and path == "/stats":
            self.send(writer, 200, json.dumps(self.stats()).encode())
            await writer.drain()
            return True
        self.http_requests += 1
        if not self.authorized(path, headers):
            self.counts["401"] += 1
            self.send(writer, 401, b'{"error": {"message": "invalid api key", "type": "invalid_request_error"}}')
            await writer.drain()
            return True
        if self.status_all:
            self.counts[str(self.status_all)] += 1
            self.send(writer, self.status_all, b'{"error": {"message": "configured failure"}}')
            await writer.drain()
            return True
        return await self.route(method, path, body, writer)

    async def route(self, method: str, path: str, body: bytes, writer) -> bool:
        """Every other request is a chat completion (a subclass serves more paths)."""
        if method != "POST" or not urlsplit(path).path.endswith("/chat/completions"):
            self.counts["404"] += 1
            self.send(writer, 404, b'{"error": {"message": "no such endpoint"}}')
            await writer.drain()
            return True
        req = json.loads(body)
        key = self.request_key(req)
        attempt = self.attempts[key]
        self.attempts[key] += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        if any("POISON" in m["content"] for m in req["messages"]):
            return self.fault("500", writer, key)
        h = int(key, 16)
        if attempt == 0 and (h % 10_000) < self.faults * 10_000:
            return await self.async_fault(self.kinds[(h // 10_000) % len(self.kinds)], writer, key)
        self.send(writer, 200, json.dumps(self.answer(req, key)).encode(),
                  {"x-ratelimit-remaining-requests": "1000", "x-ratelimit-reset-requests": "1s"})
        await writer.drain()
        self.served[key] += 1
        self.counts["200"] += 1
        return True

    @staticmethod
    def request_key(req: dict) -> str:
        return hashlib.blake2b(json.dumps([req["model"], req["messages"], req.get("seed")], sort_keys=True)
                               .encode(), digest_size=8).hexdigest()

    def answer(self, req: dict, key: str) -> dict:
        """The chat completion a request gets: a function of the request alone."""
        last = req["messages"][-1]["content"]
        text = self.verdict(req["messages"]) or f"reply {key[:6]} to: {last[:60]}"
        prompt_tokens = sum(len(m["content"]) for m in req["messages"]) // 4 + 1
        return {"id": f"chatcmpl-{key}", "object": "chat.completion", "created": 0, "model": req["model"],
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(text) // 4 + 1,
                          "total_tokens": prompt_tokens + len(text) // 4 + 1}}

    def authorized(self, path: str, headers: dict) -> bool:
        """The bearer key, HTTP basic auth (`user:pass` in the URL) or `key=` in the query, as configured."""
        if self.basic_auth:
            if headers.get("authorization") != "Basic " + base64.b64encode(self.basic_auth.encode()).decode():
                return False
        elif self.api_key and headers.get("authorization") != f"Bearer {self.api_key}":
            return False
        return not self.query_key or parse_qs(urlsplit(path).query).get("key") == [self.query_key]

    def verdict(self, messages: list[dict]) -> str | None:
        if self.judge and any("Score of the Assistant 1" in m["content"] for m in messages):
            return self.review(next((m["content"] for m in messages if m["role"] == "user"), ""))
        if not self.judge or not any(m["role"] == "system" and '"turns"' in m["content"] for m in messages):
            return None
        dialogue = next((m["content"] for m in messages if m["role"] == "user"), "")
        if "MALFORMED" in dialogue:
            return "The translations read well to me; I would give them a four."
        scores = [int(m.group(1)) if (m := SCORE_MARK.search(line)) else 5
                  for line in dialogue.splitlines() if line.startswith("[assistant")]
        turns = [{"adequacy": d, "fluency": d, "instruction_following": d} for d in scores]
        return "```json\n" + json.dumps({"turns": turns, "rationale": f"lowest {min(scores, default=5)}"}) + "\n```"

    @staticmethod
    def review(body: str) -> str:
        if "MALFORMED" in body:
            return "Both assistants did fine; the first was a little better."
        scores = {n: int(m.group(1)) if (m := REVIEW_MARK.search(block)) else 6
                  for n, block in REVIEW_BLOCK.findall(body)}
        s1, s2 = min(10, scores.get("1", 6) + 1), scores.get("2", 6)
        return f"Evaluation evidence: both answered.\n\nScore of the Assistant 1: {s1}\nScore of the Assistant 2: {s2}"

    def fault(self, kind: str, writer, key: str) -> bool:
        self.counts[kind] += 1
        if kind == "429":
            self.send(writer, 429, b'{"error": {"message": "slow down", "type": "rate_limit"}}', {"retry-after": "0.2"})
        elif kind == "500":
            self.send(writer, 500, b'{"error": {"message": "boom"}}')
        elif kind == "truncated":
            payload = b'{"id": "x", "object": "chat.completion", "choices": [{"index": 0, "mess'
            self.send(writer, 200, payload)
        return kind in ("429", "500", "truncated")

    async def async_fault(self, kind: str, writer, key: str) -> bool:
        if kind == "slow":
            self.counts[kind] += 1
            await asyncio.sleep(self.slow_seconds)  # past the client's timeout; then hang up without answering
            return False
        if kind == "drop":
            self.counts[kind] += 1
            return False
        keep = self.fault(kind, writer, key)
        await writer.drain()
        return keep


def arguments() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--faults", type=float, default=0.0)
    p.add_argument("--latency", type=float, default=0.0)
    p.add_argument("--slow-seconds", type=float, default=3.0)
    p.add_argument("--api-key-env", default=None, help="require this variable's value as the bearer token")
    p.add_argument("--basic-auth-env", default=None,
                   help="require HTTP basic auth with this variable's `user:password` (instead of the bearer token)")
    p.add_argument("--query-key-env", default=None, help="require `?key=` this variable's value in the URL")
    p.add_argument("--kinds", default=",".join(FAULTS), help="the faults to inject, comma-separated")
    p.add_argument("--status-all", type=int, default=None, help="answer every request with this status")
    p.add_argument("--judge", action="store_true", help="answer LLM-judge requests with verdicts (see above)")
    return p


def server_options(a) -> dict:
    key = os.environ[a.api_key_env] if a.api_key_env else None
    return {"faults": a.faults, "latency": a.latency, "slow_seconds": a.slow_seconds, "api_key": key,
            "status_all": a.status_all, "kinds": tuple(a.kinds.split(",")), "judge": a.judge,
            "basic_auth": a.basic_auth_env and os.environ[a.basic_auth_env],
            "query_key": a.query_key_env and os.environ[a.query_key_env]}


async def serve(server: FaultServer, port: int) -> None:
    srv = await asyncio.start_server(server.handle, "127.0.0.1", port, backlog=4096)
    print(srv.sockets[0].getsockname()[1], flush=True)
    async with srv:
        await srv.serve_forever()


async def main() -> None:
    a = arguments().parse_args()
    await serve(FaultServer(**server_options(a)), a.port)


def run(main) -> None:
    try:  # the benchmark's stub stands in for a remote server: its own CPU per request should be as small as can be
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())


if __name__ == "__main__":
    run(main)
