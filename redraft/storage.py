"""Paths that may be fsspec URLs: `s3://bucket/key` (the `s3` extra: s3fs), `gs://`, `az://` (with their fsspec
package), `hf://`, or a local path. `path(x)` is a pathlib object for either (universal_pathlib's UPath: a plain
`Path` for a local path, the same methods over fsspec for a URL), and `check_reachable` fails fast, before any work,
on a missing bucket, refused credentials or an endpoint that does not answer, naming the URL and the fix.

Credentials come from each system's usual environment and config: for S3 the AWS_* variables (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_PROFILE, AWS_ENDPOINT_URL for an S3-compatible server) and ~/.aws.
"""

from __future__ import annotations

import json
from pathlib import Path

from redraft.errors import UsageError

# the reachability check asks once (a working endpoint answers at once; s3fs and botocore would retry ~10 s)
_CHECK_OPTIONS = {"s3": {"skip_instance_cache": True,
                         "config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 5}}}
_BUCKETS = ("s3", "s3a", "gs", "gcs", "az", "abfs", "abfss")  # filesystems whose first path part is a bucket
_EXTRAS = {"s3": "pip install 'redraft[s3]'", "gs": "pip install gcsfs", "gcs": "pip install gcsfs",
           "az": "pip install adlfs", "abfs": "pip install adlfs"}


def is_url(p) -> bool:
    """A URL of a filesystem other than the local one (`file://` is local)."""
    s = str(p)
    return "://" in s and not s.startswith("file://")


def path(p, **storage_options) -> Path:
    """`p` (a local path or a URL) as a pathlib object."""
    if not is_url(p):
        return Path(p)
    from upath import UPath

    protocol = str(p).split("://", 1)[0]
    try:
        return UPath(str(p), **storage_options)
    except (ImportError, ValueError) as e:
        fix = _EXTRAS.get(protocol, f"install the fsspec package for {protocol}://")
        raise UsageError(f"{p}: cannot read {protocol}:// URLs here ({e}); {fix}") from None


def check_reachable(p) -> None:
    """Before any work: for a URL of an object store, its bucket answers, with the credentials in use.
    UsageError (exit 2) naming the URL and the fix otherwise. A local path passes."""
    url = str(p)
    protocol = url.split("://", 1)[0]
    if not is_url(p) or protocol not in _BUCKETS:  # hf://, http://...: their own errors name the path
        return
    target = path(url, **_CHECK_OPTIONS.get(protocol, {}))
    if protocol == "s3":
        target.fs.retries = 1  # this instance only (skip_instance_cache): s3fs's own retries
    bucket = target.path.split("/", 1)[0]  # the bucket or container
    prefix = f"{url}: "
    try:
        target.fs.ls(bucket, refresh=True)
    except FileNotFoundError:
        raise UsageError(f"{prefix}no bucket {bucket!r} at {_endpoint(protocol)}; create it, or fix the URL") from None
    except PermissionError as e:
        raise UsageError(f"{prefix}access to {bucket!r} denied ({e}); check the credentials ({_credentials(protocol)})"
                         ) from None
    except Exception as e:  # noqa: BLE001 - botocore, aiohttp and the other clients each have their own errors
        name = type(e).__name__
        if "Credentials" in name:
            raise UsageError(f"{prefix}no credentials found; set {_credentials(protocol)}") from None
        if "Connect" in name or "Timeout" in name or isinstance(e, (ConnectionError, TimeoutError)):
            raise UsageError(f"{prefix}cannot reach {_endpoint(protocol)} ({e}); check the endpoint "
                             f"({'AWS_ENDPOINT_URL' if protocol == 's3' else 'the URL'}) and the network") from None
        if "InvalidAccessKeyId" in str(e) or "SignatureDoesNotMatch" in str(e) or "AccessDenied" in str(e):
            raise UsageError(f"{prefix}the credentials were refused ({e}); check {_credentials(protocol)}") from None
        raise UsageError(f"{prefix}cannot read it ({name}: {e})") from None


def _endpoint(protocol: str) -> str:
    import os

    if protocol == "s3":
        return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or "AWS S3"
    return f"{protocol}://"


def _credentials(protocol: str) -> str:
    return {"s3": "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE",
            "gs": "GOOGLE_APPLICATION_CREDENTIALS", "gcs": "GOOGLE_APPLICATION_CREDENTIALS",
            "hf": "HF_TOKEN"}.get(protocol, f"the {protocol} credentials")


def publish_to_url(staging: Path, out: Path, parts: tuple[str, ...]) -> None:
    """`redraft.output.publish` for an output folder at a URL, from a local `staging` folder (removed afterwards).

    Object stores have no rename, so each of `parts` in `staging` is uploaded in the tuple's order (the one readers
    look at last, last), over the files of the earlier run's part; then the earlier part's files the new one lacks
    are removed, and `.redraft/manifest.json` (what redraft owns there) is written last. A kill midway leaves a part
    with some new files; the next run that publishes there replaces it whole. A part redraft did not write there is
    never replaced."""
    import shutil

    from redraft.output import MANIFEST, MANIFEST_FORMAT, STATE_DIR, read_manifest

    out.fs.invalidate_cache()
    manifest = read_manifest(out) or {"format": MANIFEST_FORMAT, "parts": [], "files": []}
    new = [p for p in parts if (staging / p).exists()]
    for p in new:
        if p not in manifest["parts"] and (out / p).exists():
            raise UsageError(f"{out / p}: redraft did not write it (it is not in {STATE_DIR}/{MANIFEST}), and this "
                             f"run would replace it; move it out of {out}, then run the same command again")
    files = {p: sorted(f.relative_to(staging).as_posix() for f in ([staging / p] if (staging / p).is_file() else
                                                                  (staging / p).rglob("*")) if f.is_file())
             for p in new}
    for p in new:
        for f in files[p]:
            out.fs.put_file(str(staging / f), (out / f).path)
    gone = [f for f in manifest["files"] if f.split("/")[0] in parts and f not in {g for p in new for g in files[p]}]
    if gone:
        out.fs.rm([(out / f).path for f in gone])
    kept = [f for f in manifest["files"] if f.split("/")[0] not in parts]
    manifest = {"format": MANIFEST_FORMAT, "parts": sorted({*(p for p in manifest["parts"] if p not in parts), *new}),
                "files": sorted({*kept, *(f for p in new for f in files[p])})}
    (out / STATE_DIR / MANIFEST).write_text(json.dumps(manifest, indent=1))
    shutil.rmtree(staging, ignore_errors=True)
