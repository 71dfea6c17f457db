"""A small Hugging Face Hub on loopback: the parts of the protocol that `huggingface_hub` uses to push a dataset
(create repo, preupload, LFS batch + PUT + verify, NDJSON commit) and to read it back (repo info, tree, paths-info,
resolve). Test helper only: every request is recorded so tests can assert what the real client sent.

Storage is content-addressed under `root/blobs/{sha256}`; a commit maps paths to blobs, so any revision can be read.
Only dataset repos are served, and `refs/convert/parquet` and friends do not exist.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

TOKEN = "hf_test"
USER = "test-user"


@dataclass
class StoredFile:
    sha256: str
    size: int
    lfs: bool
    git_oid: str


@dataclass
class Commit:
    oid: str
    summary: str
    files: dict[str, StoredFile]


@dataclass
class Repo:
    repo_id: str
    private: bool
    commits: list[Commit] = field(default_factory=list)

    @property
    def head(self) -> Commit:
        return self.commits[-1]

    def at(self, revision: str) -> Commit | None:
        if revision == "main":
            return self.head
        return next((c for c in self.commits if c.oid == revision), None)


@dataclass
class RecordedRequest:
    method: str
    path: str
    authorization: str | None
    body: bytes


class HubServer:
    """Start with `with HubServer(tmp_path) as hub:`; `hub.endpoint` is the value for HF_ENDPOINT."""

    def __init__(self, root: Path):
        self.root = Path(root)
        (self.root / "blobs").mkdir(parents=True, exist_ok=True)
        self.repos: dict[str, Repo] = {}
        self.requests: list[RecordedRequest] = []
        self.create_payloads: list[dict] = []
        self.lfs_uploaded: set[str] = set()  # sha256 of every object that arrived through an LFS PUT
        self.lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> "HubServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # what tests read
    def file_bytes(self, repo_id: str, path: str, revision: str = "main") -> bytes:
        stored = self.repos[repo_id].at(revision).files[path]
        return self.blob_path(stored.sha256).read_bytes()

    def committed_paths(self, repo_id: str) -> set[str]:
        return set(self.repos[repo_id].head.files) if repo_id in self.repos else set()

    def write_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method in ("POST", "PUT")]

    # storage
    def blob_path(self, sha256: str) -> Path:
        return self.root / "blobs" / sha256

    def store_blob(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        self.blob_path(sha).write_bytes(data)
        return sha


def git_blob_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _looks_binary(path: str, sample: bytes) -> bool:
    return path.endswith((".parquet", ".arrow", ".png", ".sqlite")) or b"\0" in sample


class HubError(Exception):
    def __init__(self, status: int, message: str, error_code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.error_code = status, message, error_code


def _handler_for(hub: HubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_HubHandler):
        pass

    Handler.hub = hub
    return Handler


class _HubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hub: HubServer

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def do_GET(self):
        self._dispatch("GET")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    # plumbing
    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status: int, body: bytes = b"", content_type: str = "application/json",
              headers: dict[str, str] | None = None, length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, payload, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), headers=headers)

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        body = self._read_body() if method in ("POST", "PUT") else b""
        hub = self.hub
        with hub.lock:
            hub.requests.append(RecordedRequest(method, url.path, self.headers.get("Authorization"), body))
        parts = [unquote(p) for p in url.path.strip("/").split("/")]
        try:
            self._route(method, parts, parse_qs(url.query), body)
        except HubError as err:
            headers = {"X-Error-Code": err.error_code} if err.error_code else {}
            headers["X-Error-Message"] = err.message
            self._json({"error": err.message}, err.status, headers)

    def _require_token(self) -> None:
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            raise HubError(401, "Invalid credentials in Authorization header")

    def _repo(self, namespace: str, name: str) -> Repo:
        repo = self.hub.repos.get(f"{namespace}/{name}")
        if repo is None or (repo.private and self.headers.get("Authorization") != f"Bearer {TOKEN}"):
            raise HubError(404, "Repository not found", "RepoNotFound")
        return repo

    def _commit(self, repo: Repo, revision: str) -> Commit:
        commit = repo.at(revision)
        if commit is None:
            raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return commit

    def _route(self, method: str, p: list[str], query: dict, body: bytes) -> None:
        n = len(p)
        if method == "GET" and p == ["api", "whoami-v2"]:
            self._require_token()
            return self._json({"type": "user", "name": USER, "auth": {"type": "access_token"}})
        if method == "POST" and p == ["api", "repos", "create"]:
            return self._create_repo(json.loads(body))
        if method == "POST" and p == ["api", "validate-yaml"]:
            return self._json({"errors": [], "warnings": []})
        if n >= 4 and p[:2] == ["api", "datasets"]:
            repo = self._repo(p[2], p[3])
            rest = p[4:]
            if method == "GET" and (not rest or rest[0] == "revision"):
                return self._json(self._repo_info(repo, self._commit(repo, rest[1] if rest else "main")))
            if method == "POST" and rest[:1] == ["preupload"]:
                self._require_token()
                return self._preupload(json.loads(body))
            if method == "POST" and rest[:1] == ["commit"]:
                self._require_token()
                return self._create_commit(repo, rest[1], body)
            if method == "GET" and rest[:1] == ["tree"]:
                commit = self._commit(repo, rest[1])
                recursive = query.get("recursive", ["false"])[0].lower() == "true"
                return self._json(self._tree(commit, "/".join(rest[2:]), recursive))
            if method == "POST" and rest[:1] == ["paths-info"]:
                commit = self._commit(repo, rest[1])
                paths = parse_qs(body.decode()).get("paths", [])
                return self._json(self._paths_info(commit, paths))
        if n >= 4 and p[0] == "datasets" and p[2].endswith(".git") and p[3:] == ["info", "lfs", "objects", "batch"]:
            self._require_token()
            self._repo(p[1], p[2].removesuffix(".git"))
            return self._lfs_batch(json.loads(body))
        if n == 2 and p[0] == "lfs-objects" and method == "PUT":
            return self._lfs_put(p[1], body)
        if n == 3 and p[0] == "lfs-objects" and p[2] == "verify" and method == "POST":
            self._require_token()
            return self._lfs_verify(json.loads(body))
        if n >= 6 and p[0] == "datasets" and p[3] == "resolve" and method in ("GET", "HEAD"):
            repo = self._repo(p[1], p[2])
            return self._resolve(self._commit(repo, p[4]), "/".join(p[5:]))
        raise HubError(404, f"no route for {method} {self.path}")

    # write side
    def _create_repo(self, payload: dict) -> None:
        self._require_token()
        hub = self.hub
        if payload.get("type") != "dataset":
            raise HubError(400, "this test Hub serves dataset repos only")
        repo_id = f"{payload.get('organization') or USER}/{payload['name']}"
        url = f"{hub.endpoint}/datasets/{repo_id}"
        with hub.lock:
            hub.create_payloads.append(payload)
            exists = repo_id in hub.repos
            if not exists:
                private = payload.get("visibility", "private" if payload.get("private") else "public") == "private"
                repo = hub.repos[repo_id] = Repo(repo_id, private)
                repo.commits.append(Commit(hashlib.sha1(repo_id.encode()).hexdigest(), "initial commit", {}))
        if exists:  # the real Hub answers 409 with the url, which create_repo(exist_ok=True) returns
            return self._json({"error": "You already created this dataset repo", "url": url}, 409)
        self._json({"url": url, "name": repo_id, "id": repo_id})

    def _preupload(self, payload: dict) -> None:
        files = []
        for entry in payload["files"]:
            sample = base64.b64decode(entry["sample"])
            mode = "lfs" if _looks_binary(entry["path"], sample) else "regular"
            files.append({"path": entry["path"], "uploadMode": mode, "shouldIgnore": False})
        self._json({"files": files, "commitOid": None})

    def _lfs_batch(self, payload: dict) -> None:
        objects = []
        for obj in payload["objects"]:
            entry = {"oid": obj["oid"], "size": obj["size"]}
            if not self.hub.blob_path(obj["oid"]).exists():
                href = f"{self.hub.endpoint}/lfs-objects/{obj['oid']}"
                entry["actions"] = {"upload": {"href": href}, "verify": {"href": f"{href}/verify"}}
            objects.append(entry)
        self._json({"transfer": "basic", "objects": objects, "hash_algo": "sha256"})

    def _lfs_put(self, oid: str, body: bytes) -> None:
        if hashlib.sha256(body).hexdigest() != oid:
            raise HubError(400, f"uploaded content does not hash to {oid}")
        with self.hub.lock:
            self.hub.store_blob(body)
            self.hub.lfs_uploaded.add(oid)
        self._send(200, headers={"ETag": f'"{oid}"'})

    def _lfs_verify(self, payload: dict) -> None:
        blob = self.hub.blob_path(payload["oid"])
        if not blob.exists() or blob.stat().st_size != payload["size"]:
            raise HubError(422, f"object {payload['oid']} was not uploaded")
        self._json({"message": "ok"})

    def _create_commit(self, repo: Repo, revision: str, body: bytes) -> None:
        if revision != "main":
            raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        header = next(line["value"] for line in lines if line["key"] == "header")
        hub = self.hub
        with hub.lock:
            files = dict(repo.head.files)
            for line in lines:
                value = line["value"]
                if line["key"] == "file":
                    data = base64.b64decode(value["content"])
                    files[value["path"]] = StoredFile(hub.store_blob(data), len(data), False, git_blob_oid(data))
                elif line["key"] == "lfsFile":
                    blob = hub.blob_path(value["oid"])
                    if not blob.exists():
                        raise HubError(422, f"LFS object {value['oid']} for {value['path']} was never uploaded")
                    data = blob.read_bytes()
                    files[value["path"]] = StoredFile(value["oid"], len(data), True, git_blob_oid(data))
                elif line["key"] == "deletedFile":
                    files.pop(value["path"], None)
                elif line["key"] != "header":
                    raise HubError(400, f"unsupported commit operation {line['key']}")
            oid = hashlib.sha1(repo.head.oid.encode() + body).hexdigest()
            repo.commits.append(Commit(oid, header["summary"], files))
        self._json({"commitUrl": f"{hub.endpoint}/datasets/{repo.repo_id}/commit/{oid}", "commitOid": oid,
                    "success": True, "pullRequestUrl": None})

    # read side
    def _repo_info(self, repo: Repo, commit: Commit) -> dict:
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        return {"id": repo.repo_id, "_id": repo.repo_id, "author": repo.repo_id.split("/")[0], "sha": commit.oid,
                "private": repo.private, "gated": False, "disabled": False, "lastModified": now, "createdAt": now,
                "tags": [], "downloads": 0, "likes": 0, "siblings": [{"rfilename": p} for p in sorted(commit.files)]}

    @staticmethod
    def _file_entry(path: str, stored: StoredFile) -> dict:
        entry = {"type": "file", "path": path, "size": stored.size, "oid": stored.git_oid}
        if stored.lfs:
            entry["lfs"] = {"oid": stored.sha256, "size": stored.size, "pointerSize": 134}
        return entry

    @staticmethod
    def _folder_entry(path: str) -> dict:
        return {"type": "directory", "path": path, "oid": hashlib.sha1(path.encode()).hexdigest(), "size": 0}

    def _tree(self, commit: Commit, folder: str, recursive: bool) -> list[dict]:
        prefix = f"{folder}/" if folder else ""
        below = {p: f for p, f in commit.files.items() if p.startswith(prefix)}
        if folder and not below:
            raise HubError(404, f"{folder} does not exist on this revision", "EntryNotFound")
        entries, folders = [], set()
        for path, stored in sorted(below.items()):
            relative = path[len(prefix):].split("/")
            for depth in range(1, len(relative)):
                folders.add(prefix + "/".join(relative[:depth]))
            if recursive or len(relative) == 1:
                entries.append(self._file_entry(path, stored))
        direct = {f for f in folders if recursive or "/" not in f[len(prefix):]}
        return [self._folder_entry(f) for f in sorted(direct)] + entries

    def _paths_info(self, commit: Commit, paths: list[str]) -> list[dict]:
        entries = []
        for path in paths:
            if path in commit.files:
                entries.append(self._file_entry(path, commit.files[path]))
            elif any(p.startswith(f"{path}/") for p in commit.files) or path in ("", "."):
                entries.append(self._folder_entry(path))
        return entries

    def _resolve(self, commit: Commit, path: str) -> None:
        stored = commit.files.get(path)
        if stored is None:
            raise HubError(404, f"{path} does not exist on this revision", "EntryNotFound")
        headers = {"X-Repo-Commit": commit.oid, "ETag": f'"{stored.git_oid}"', "Accept-Ranges": "bytes"}
        if stored.lfs:
            headers |= {"X-Linked-Etag": f'"{stored.sha256}"', "X-Linked-Size": str(stored.size)}
        data = b"" if self.command == "HEAD" else self.hub.blob_path(stored.sha256).read_bytes()
        if self.command == "GET" and (byte_range := self.headers.get("Range", "")).startswith("bytes="):
            start_text, _, end_text = byte_range[6:].partition("-")
            start = int(start_text or 0)
            end = int(end_text) if end_text else stored.size - 1
            headers["Content-Range"] = f"bytes {start}-{end}/{stored.size}"
            return self._send(206, data[start:end + 1], "application/octet-stream", headers)
        self._send(200, data, "application/octet-stream", headers, length=stored.size)
