"""Where files live: a local path, or any fsspec URL (`s3://` with the `s3` extra, `hf://`, `gs://`, `az://` with
their fsspec package), for inputs, output folders and the work folder under them.

`location(path)` is the one way a path enters: a `pathlib.Path` for a local one (unchanged behaviour: renames,
appends), a `UPath` (universal_pathlib, pathlib's API over fsspec) for a URL. What an object store cannot do the
same way, `move` and `remove` do by copies and deletes, and their callers (redraft/output.py's publish, the response
cache) order their writes so that a reader or a kill never sees half of something.

Credentials come from each system's usual environment and config (AWS_* variables, AWS_ENDPOINT_URL for an
S3-compatible server, profiles); a recipe's `storage_options` hold the rest (an endpoint, a region, `anon`), never a
secret (`use_storage_options`). Listings are never cached: tasks in other processes write the folders a driver lists.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import fsspec

from redraft.errors import UsageError

OBJECT_STORES = ("s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "hf")
SECRET = re.compile(r"secret|key|token|password|credential", re.IGNORECASE)
_ENV = "FSSPEC_{}"  # fsspec reads FSSPEC_<PROTOCOL> (JSON) when imported: how subprocesses and workers get the options


def _no_listings_cache() -> None:
    for protocol in OBJECT_STORES:
        fsspec.config.conf.setdefault(protocol, {})["use_listings_cache"] = False


_no_listings_cache()


def is_url(path) -> bool:
    """A path with a scheme other than file:// (`s3://bucket/x`, `hf://datasets/...`)."""
    text = str(path)
    return "://" in text and not text.startswith("file://")


def location(path: str | os.PathLike):
    """`path` as a path object: `pathlib.Path` for a local path, `UPath` for a URL (`str()` gives the URL back)."""
    if isinstance(path, Path) or not is_url(path):
        return Path(str(path).removeprefix("file://"))
    from upath import UPath

    try:
        return UPath(str(path))
    except (ImportError, ValueError) as e:
        protocol = str(path).split("://")[0]
        extra = {"s3": " (pip install 'redraft[s3]')", "gs": " (pip install gcsfs)", "az": " (pip install adlfs)"}
        raise UsageError(f"{path}: cannot read or write {protocol}:// here: {e}{extra.get(protocol, '')}") from None


def move(src, dst) -> None:
    """Rename locally (atomic); on an object store, copy then delete (one object at a time: not atomic, so the
    callers journal what they move)."""
    if isinstance(src, Path):
        os.replace(src, dst)
        return
    fs = src.fs
    files = fs.find(src.path) if fs.isdir(src.path) else [src.path]
    targets = [dst.path + f[len(src.path):] for f in files]
    if files:
        fs.copy(files, targets)  # server-side copies, no bytes through this machine
        fs.rm(files)


def remove(path) -> None:
    """A file or a folder, if there."""
    if isinstance(path, Path):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    elif path.exists():
        path.fs.rm(path.path, recursive=path.is_dir())


def write_bytes_atomically(path, data: bytes) -> None:
    """A reader (or a kill) sees the old file or the new one: a rename locally, one PUT on an object store."""
    if not isinstance(path, Path):
        path.fs.pipe_file(path.path, data)
        return
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def check_storage_options(options: dict, where: str) -> None:
    """A recipe's `storage_options` hold no secret: credentials come from the environment."""
    for key, value in options.items():
        if SECRET.search(str(key)):
            raise UsageError(f"{where}.{key}: a secret does not go in a recipe (recipe.yaml is published); give it "
                             "through the storage system's environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                             "AWS_PROFILE, GOOGLE_APPLICATION_CREDENTIALS, ...)")
        if isinstance(value, dict):
            check_storage_options(value, f"{where}.{key}")


def use_storage_options(options: dict, urls: list[str]) -> None:
    """Apply a recipe's `storage_options` to the protocols of `urls`, in this process and (through FSSPEC_<PROTOCOL>)
    in every process it starts: local workers, Slurm jobs, Ray workers (which get those variables)."""
    for protocol in {str(u).split("://")[0] for u in urls if is_url(u)}:
        conf = fsspec.config.conf.setdefault(protocol, {})
        conf.update(options)
        os.environ[_ENV.format(protocol.upper())] = json.dumps(conf)


def storage_env_names() -> list[str]:
    """The non-secret variables that say where object storage is, for Ray's runtime environment."""
    return [k for k in os.environ if k.startswith("FSSPEC_")
            or k in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE")]


_BUCKETS = ("s3", "s3a", "gs", "gcs", "az", "abfs", "abfss")  # filesystems whose first path part is a bucket
_CREDENTIALS = {"s3": "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE",
                "gs": "GOOGLE_APPLICATION_CREDENTIALS", "gcs": "GOOGLE_APPLICATION_CREDENTIALS"}


def check_reachable(url, field: str = "") -> None:
    """Before any work: the bucket of `url` exists and the credentials reach it; else exit 2 naming the URL and the
    fix. A local path, and URLs without buckets (hf://, http://: their own errors name the path), pass."""
    protocol = str(url).split("://")[0]
    if not is_url(url) or protocol not in _BUCKETS:
        return
    from upath import UPath

    # asked once, without the client's retries: a working endpoint answers at once, botocore would retry ~10 s
    options = {"skip_instance_cache": True, "config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 5}}
    path = UPath(str(url), **(options if protocol in ("s3", "s3a") else {}))
    if protocol in ("s3", "s3a"):
        path.fs.retries = 1
    named = f"{field}: {url}" if field else str(url)
    credentials = _CREDENTIALS.get(protocol, f"the {protocol} credentials")
    bucket = path.path.split("/")[0]
    try:
        path.fs.ls(bucket, detail=False, refresh=True)
    except FileNotFoundError:
        raise UsageError(f"{named}: no bucket {bucket!r} at {_endpoint(path.fs)}; create it, or fix the URL") from None
    except PermissionError as e:
        raise UsageError(f"{named}: the credentials were refused ({e}); set {credentials} to ones that may use this "
                         "bucket") from None
    except Exception as e:  # noqa: BLE001 - botocore, aiohttp and the other clients each have their own errors
        name = type(e).__name__
        if "Credentials" in name:
            raise UsageError(f"{named}: no credentials found; set {credentials}") from None
        if any(k in str(e) for k in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied")):
            raise UsageError(f"{named}: the credentials were refused ({e}); check {credentials}") from None
        raise UsageError(f"{named}: cannot reach the storage at {_endpoint(path.fs)} ({name}: {e}); check "
                         "AWS_ENDPOINT_URL (or storage_options.endpoint_url) and the network") from None


def _endpoint(fs) -> str:
    endpoint = getattr(fs, "client_kwargs", {}).get("endpoint_url") or getattr(fs, "endpoint_url", None)
    protocol = fs.protocol[0] if isinstance(fs.protocol, tuple) else fs.protocol
    return endpoint or os.environ.get("AWS_ENDPOINT_URL") or f"the {protocol} service"


def absolute(path: str | os.PathLike):
    """`location(path)`, made absolute when local: what tasks on other nodes or in other working folders read."""
    where = location(path)
    return where.absolute() if isinstance(where, Path) else where
