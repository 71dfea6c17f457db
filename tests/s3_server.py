"""A live S3-compatible server on loopback for the object-storage tests: moto's standalone server.

It is the server s3fs's own test suite runs against. `start()` launches `python -m moto.server` on a free 127.0.0.1
port in its own process and waits until it answers; `env()` is what a client (s3fs, boto3, pyarrow through fsspec, a
redraft subprocess, a Ray worker given it in its runtime_env) needs to reach it: AWS_ENDPOINT_URL and dummy credentials.
"""
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass

REGION = "us-east-1"
ACCESS_KEY_ID = "testing"
SECRET_ACCESS_KEY = "testing"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class S3Server:
    process: subprocess.Popen
    endpoint: str  # http://127.0.0.1:PORT
    log: "tempfile._TemporaryFileWrapper"  # the server's request log (a file, not a pipe nobody drains)

    def env(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
                "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY, "AWS_DEFAULT_REGION": REGION}

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=3)  # werkzeug may ignore SIGTERM
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()


def start(timeout: float = 30.0) -> S3Server:
    """Start moto's server and wait until it answers HTTP; raises RuntimeError (with its output) if it does not."""
    port = free_port()
    log = tempfile.TemporaryFile("w+")
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    server = S3Server(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited with {process.returncode}: {server.output()}")
        try:
            urllib.request.urlopen(server.endpoint + "/moto-api/", timeout=1).close()
            return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"moto server did not answer on {server.endpoint} within {timeout:.0f} s")
