"""An OpenAI Batch API on loopback, for the batch tests and benchmarks/batch_requests.py: the fault server's
chat completions (tests/synth_fault_server.py, every option of it) plus what the official `openai` client calls for
batches: `POST /v1/files` (multipart, purpose=batch), `GET /v1/files/ID`, `GET /v1/files/ID/content`,
`POST /v1/batches`, `GET /v1/batches/ID`, `GET /v1/batches` (newest first, `limit`, `after`) and
`POST /v1/batches/ID/cancel`. Run: python tests/batch_server.py --port 0 [options]; it prints its port.

A batch's status follows the clock from its creation: `validating` for --validating seconds, `in_progress` for
--in-progress seconds (its `request_counts` growing evenly), `finalizing` for --finalizing seconds, then `completed`:
its output file holds the answered lines, its error file the others. Each line is answered as
`/v1/chat/completions` answers the same body (a function of the request), except that its first attempt fails with
probability --line-faults (500 or 429, chosen by hashing the request) and a request holding POISON always fails with
500. The batches numbered in --expire (1 = the first created) end `expired` with the first half of their lines
answered and the rest in the error file (`batch_expired`); those in --fail end `failed` after validating, with no
output. A cancelled batch goes `cancelling` then `cancelled`, keeping the lines answered by then.

The input is checked as the API does: JSONL lines with a unique `custom_id`, `method` POST, the batch's `url`, and
one model per file; a bad file fails its batch. GET /stats adds to the fault server's counters `lines_received`
(custom_id -> times it was in a created batch: a line submitted twice shows there), `unanswered` (custom_id -> times
it came back without an answer: error line, expired, cancelled; a line is rightly sent again only after one),
`batches` (id -> status, lines, metadata), `batch_usage` (tokens of the answered lines), `bodies` (request key -> a
digest of the parsed body, from chat completions and batch lines alike), `batch_http` (requests to /v1/files and
/v1/batches) and in `counts` those requests by kind (`files.create`, `files.content`, `batches.retrieve`, ...).
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import json
import time
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import sys

sys.path.insert(0, str(Path(__file__).parent))
from synth_fault_server import FaultServer, arguments, run, serve, server_options  # noqa: E402


def digest(body: dict) -> str:
    return hashlib.blake2b(json.dumps(body, sort_keys=True, ensure_ascii=False).encode(), digest_size=8).hexdigest()


class BatchServer(FaultServer):
    def __init__(self, *, validating: float, in_progress: float, finalizing: float, line_faults: float,
                 expire: set[int], fail: set[int], **options):
        super().__init__(**options)
        self.validating, self.in_progress, self.finalizing = validating, in_progress, finalizing
        self.line_faults, self.expire, self.fail = line_faults, expire, fail
        self.files: dict[str, dict] = {}  # id -> {"object": ..., "data": bytes}
        self.batches: dict[str, dict] = {}
        self.lines_received: Counter = Counter()
        self.unanswered: Counter = Counter()  # custom_id -> results that were not an answer (errors, expiry, cancel)
        self.usage: Counter = Counter()  # tokens of the lines answered
        self.bodies: dict[str, str] = {}
        self.batch_http = 0

    def stats(self) -> dict:
        batches = {b["id"]: {"status": self.state(b)["status"], "lines": len(b["lines"]),
                             "metadata": b["request"].get("metadata")} for b in self.batches.values()}
        return {**super().stats(), "lines_received": dict(self.lines_received), "unanswered": dict(self.unanswered),
                "batch_usage": dict(self.usage), "bodies": self.bodies, "batches": batches,
                "batch_http": self.batch_http}

    async def route(self, method: str, path: str, body: bytes, writer) -> bool:
        url = urlparse(path)
        parts = url.path.strip("/").split("/")  # v1, files|batches, ...
        if len(parts) < 2 or parts[1] not in ("files", "batches"):
            if method == "POST":
                req = json.loads(body)
                self.bodies[self.request_key(req)] = digest(req)
            return await super().route(method, path, body, writer)
        self.batch_http += 1
        kind = "content" if parts[-1] == "content" else "cancel" if parts[-1] == "cancel" else \
            "create" if method == "POST" else "list" if len(parts) == 2 else "retrieve"
        self.counts[f"{parts[1]}.{kind}"] += 1  # files.create, batches.retrieve, ...
        status, payload, content_type = self.batch_api(method, parts[1:], parse_qs(url.query), body, writer)
        self.send(writer, status, payload if isinstance(payload, bytes) else json.dumps(payload).encode(),
                  content_type=content_type)
        await writer.drain()
        return True

    def batch_api(self, method: str, parts: list[str], query: dict, body: bytes, writer):
        json_type = "application/json"
        if parts == ["files"] and method == "POST":
            return 200, self.upload(body, writer), json_type
        if parts[0] == "files" and len(parts) >= 2 and parts[1] in self.files:
            f = self.files[parts[1]]
            if len(parts) == 3 and parts[2] == "content":
                return 200, f["data"], "application/octet-stream"
            return 200, f["object"], json_type
        if parts == ["batches"] and method == "POST":
            return self.create(json.loads(body))
        if parts == ["batches"]:
            return 200, self.listing(query), json_type
        if parts[0] == "batches" and len(parts) >= 2 and parts[1] in self.batches:
            batch = self.batches[parts[1]]
            if len(parts) == 3 and parts[2] == "cancel" and method == "POST":
                state = self.state(batch)
                if state["status"] in ("completed", "expired", "failed", "cancelled"):
                    return 409, {"error": {"message": f"cannot cancel a batch that is {state['status']}"}}, json_type
                batch["cancelled"] = time.monotonic()
                batch["cancelled_lines"] = state["request_counts"]["completed"]
            return 200, self.state(batch), json_type
        return 404, {"error": {"message": f"no such thing: {'/'.join(parts)}", "type": "invalid_request_error"}}, \
            json_type

    def upload(self, body: bytes, writer) -> dict:
        content_type = self.current_headers.get("content-type", "")
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"content-type: {content_type}\r\n\r\n".encode() + body)
        fields = {part.get_param("name", header="content-disposition"): part for part in message.iter_parts()}
        data = fields["file"].get_payload(decode=True)
        purpose = fields["purpose"].get_payload(decode=True).decode()
        return self.add_file(data, fields["file"].get_filename() or "upload.jsonl", purpose)["object"]

    def add_file(self, data: bytes, name: str, purpose: str) -> dict:
        file_id = f"file-{len(self.files) + 1:06d}"
        self.files[file_id] = {"data": data, "object": {
            "id": file_id, "object": "file", "bytes": len(data), "created_at": int(time.time()), "filename": name,
            "purpose": purpose, "status": "processed"}}
        return self.files[file_id]

    def create(self, req: dict):
        source = self.files.get(req.get("input_file_id"))
        if source is None or source["object"]["purpose"] != "batch":
            return 400, {"error": {"message": "input_file_id: no file uploaded with purpose batch"}}, "application/json"
        number = len(self.batches) + 1
        batch = {"id": f"batch_{number:06d}", "number": number, "request": req, "created": time.monotonic(),
                 "created_at": int(time.time()), "lines": [], "problem": None, "result": None}
        lines, seen, models = [], set(), set()
        for raw in source["data"].splitlines():
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
                problem = (None if line["method"] == "POST" and line["url"] == req["endpoint"]
                           and line["custom_id"] not in seen else f"bad line {line.get('custom_id')}")
                seen.add(line["custom_id"])
                models.add(line["body"]["model"])
            except (ValueError, KeyError, TypeError):
                problem = "a line that is not a request"
            batch["problem"] = batch["problem"] or problem
            lines.append(line)
        if len(models) > 1:
            batch["problem"] = "one model per file"
        batch["lines"] = lines
        for line in lines:
            self.lines_received[line.get("custom_id")] += 1
        self.batches[batch["id"]] = batch
        return 200, self.state(batch), "application/json"

    def listing(self, query: dict) -> dict:
        batches = sorted(self.batches.values(), key=lambda b: -b["number"])
        if "after" in query:
            after = self.batches[query["after"][0]]["number"]
            batches = [b for b in batches if b["number"] < after]
        limit = int(query.get("limit", ["20"])[0])
        page = [self.state(b) for b in batches[:limit]]
        return {"object": "list", "data": page, "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None, "has_more": len(batches) > limit}

    def state(self, batch: dict) -> dict:
        """The batch as the API shows it now."""
        n = len(batch["lines"])
        elapsed = time.monotonic() - batch["created"]
        status, done = "validating", 0
        v, p, f = self.validating, self.validating + self.in_progress, self.validating + self.in_progress + \
            self.finalizing
        if batch.get("cancelled") is not None:
            status = "cancelling" if time.monotonic() - batch["cancelled"] < self.finalizing else "cancelled"
            done = batch["cancelled_lines"]
        elif batch["problem"] or batch["number"] in self.fail:
            status = "validating" if elapsed < v else "failed"
        elif elapsed >= f:
            status = "expired" if batch["number"] in self.expire else "completed"
            done = n // 2 if status == "expired" else n
        elif elapsed >= p:
            status, done = "finalizing", n
        elif elapsed >= v:
            status, done = "in_progress", int(n * (elapsed - v) / max(self.in_progress, 1e-9))
        out = {"id": batch["id"], "object": "batch", "endpoint": batch["request"]["endpoint"], "errors": None,
               "input_file_id": batch["request"]["input_file_id"],
               "completion_window": batch["request"]["completion_window"], "status": status,
               "output_file_id": None, "error_file_id": None, "created_at": batch["created_at"],
               "metadata": batch["request"].get("metadata"),
               "request_counts": {"total": n, "completed": done, "failed": 0}}
        if status == "failed":
            if batch["result"] is None:
                batch["result"] = {"completed": 0, "failed": 0}
                self.unanswered.update(line.get("custom_id") for line in batch["lines"])
            message = batch["problem"] or "the file could not be read"
            out["errors"] = {"object": "list", "data": [{"code": "invalid_file", "message": message, "line": None,
                                                         "param": None}]}
            out["request_counts"]["completed"] = 0
        if status in ("completed", "expired", "cancelled"):
            out.update(self.results(batch, done, status))
            out["request_counts"]["completed"] = batch["result"]["completed"]
            out["request_counts"]["failed"] = batch["result"]["failed"]
        return out

    def results(self, batch: dict, done: int, status: str) -> dict:
        """The output and error files, made once when the batch ends: the first `done` lines are run."""
        if batch["result"] is None:
            output, errors = [], []
            for i, line in enumerate(batch["lines"]):
                if i >= done:
                    self.unanswered[line["custom_id"]] += 1
                    if status == "expired":
                        errors.append(self.line_result(line, 400, {"error": {
                            "code": "batch_expired", "message": "This request could not be executed before the "
                                                                "completion window expired."}}))
                    continue
                status_code, body = self.run_line(line["body"])
                if status_code != 200:
                    self.unanswered[line["custom_id"]] += 1
                (output if status_code == 200 else errors).append(self.line_result(line, status_code, body))
            result = {"completed": len(output), "failed": len(errors)}
            for name, rows in (("output_file_id", output), ("error_file_id", errors)):
                if rows:
                    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
                    result[name] = self.add_file(data, f"{batch['id']}_{name}.jsonl", "batch_output")["object"]["id"]
            batch["result"] = result
        return {k: v for k, v in batch["result"].items() if k.endswith("_file_id")}

    @staticmethod
    def line_result(line: dict, status_code: int, body: dict) -> dict:
        return {"id": f"batch_req_{line['custom_id']}", "custom_id": line["custom_id"],
                "response": {"status_code": status_code, "request_id": f"req_{line['custom_id']}", "body": body},
                "error": None}

    def run_line(self, req: dict) -> tuple[int, dict]:
        key = self.request_key(req)
        self.bodies[key] = digest(req)
        attempt = self.attempts[key]
        self.attempts[key] += 1
        if any("POISON" in m["content"] for m in req["messages"]):
            self.counts["line_500"] += 1
            return 500, {"error": {"message": "boom", "type": "server_error"}}
        h = int(key, 16)
        if attempt == 0 and (h % 10_000) < self.line_faults * 10_000:
            kind = ("500", "429")[(h // 10_000) % 2]
            self.counts[f"line_{kind}"] += 1
            return int(kind), {"error": {"message": "try again", "type": "server_error"}}
        self.served[key] += 1
        self.counts["line_200"] += 1
        reply = self.answer(req, key)
        self.usage.update({k: reply["usage"][k] for k in ("prompt_tokens", "completion_tokens")})
        return 200, reply

    async def respond(self, method, path, headers, body, writer) -> bool:
        self.current_headers = headers
        return await super().respond(method, path, headers, body, writer)


def numbers(text: str) -> set[int]:
    return {int(x) for x in text.split(",") if x}


async def main() -> None:
    p = arguments()
    p.add_argument("--validating", type=float, default=0.05)
    p.add_argument("--in-progress", type=float, default=0.2)
    p.add_argument("--finalizing", type=float, default=0.05)
    p.add_argument("--line-faults", type=float, default=0.0)
    p.add_argument("--expire", default="", help="batches (1 = the first created) that expire half answered")
    p.add_argument("--fail", default="", help="batches that fail validation")
    a = p.parse_args()
    server = BatchServer(validating=a.validating, in_progress=a.in_progress, finalizing=a.finalizing,
                         line_faults=a.line_faults, expire=numbers(a.expire), fail=numbers(a.fail),
                         **server_options(a))
    await serve(server, a.port)


if __name__ == "__main__":
    run(main)
