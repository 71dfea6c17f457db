"""Kills this Python process part-way through one function, to test what a kill there leaves (tests/
test_output_folder.py, tests/test_slurm_jobs.py). Loaded at start-up when this folder is on PYTHONPATH, by every
Python process that inherits the environment (a CLI run, torchrun's ranks), and active only with

    REDRAFT_TEST_KILL=MODULE:FUNCTION:N

N >= 1: SIGKILL right after the Nth change to the filesystem (a file opened for writing, a rename or replace, an
unlink, a mkdir or rmdir) made inside FUNCTION; N = 0: SIGKILL when FUNCTION returns. The function is replaced in
its module before anything else imports it, so code that imported it by name calls the replacement too. Nothing in
redraft knows about this: the same kills run against any version of the code."""

import builtins
import functools
import importlib
import io
import os
import signal

ENV = "REDRAFT_TEST_KILL"


def _install(spec: str) -> None:
    module_name, function_name, n = spec.split(":")
    n = int(n)
    module = importlib.import_module(module_name)
    target = getattr(module, function_name)
    state = {"inside": 0, "changes": 0}

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    def counted(f, writes_only=False):
        @functools.wraps(f)
        def change(*args, **kwargs):
            result = f(*args, **kwargs)
            mode = args[1] if len(args) > 1 else kwargs.get("mode", "r")
            if state["inside"] and (not writes_only or any(c in str(mode) for c in "wax+")):
                state["changes"] += 1
                if state["changes"] == n:
                    die()
            return result
        return change

    if n:
        for name in ("rename", "replace", "unlink", "remove", "rmdir", "mkdir"):
            setattr(os, name, counted(getattr(os, name)))
        builtins.open = io.open = counted(io.open, writes_only=True)

    @functools.wraps(target)
    def killing(*args, **kwargs):
        state["inside"] += 1
        try:
            result = target(*args, **kwargs)
        finally:
            state["inside"] -= 1
        if not n:
            die()
        return result

    setattr(module, function_name, killing)


if os.environ.get(ENV):
    _install(os.environ[ENV])
