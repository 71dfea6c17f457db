"""A Ray cluster of redraft's own (`executor.ray.address: local`) ends with it, even when it is killed with SIGKILL.

Ray ties the processes it starts to the driver's life itself (parent-death signals), but its dashboard and
runtime-env agents, finding the raylet killed, spend a minute trying to report that to the GCS, dead too, before they
exit, and workers busy with a task can take as long. So `start` first marks this process's environment, which the
workers inherit, and starts `python -m redraft.recipes.local_ray PID MARK`: it notes the processes under PID (this
one) every second (the agents rewrite their environment), and once PID has ended (its stdin, a pipe from here, closes
then, however it ends) it stops those left and every process with the mark.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import uuid

import psutil

POLL_SECONDS = 1.0
MARK_VAR = "REDRAFT_LOCAL_RAY"
_watchers: list[subprocess.Popen] = []  # their pipes stay open as long as this process lives


def start(init) -> None:
    """`init()` starts a Ray cluster of this process's own: its processes are stopped once this process ends."""
    os.environ[MARK_VAR] = mark = uuid.uuid4().hex
    _watchers.append(subprocess.Popen([sys.executable, "-m", "redraft.recipes.local_ray", str(os.getpid()), mark],
                                      stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True))  # not stopped by a Ctrl-C meant for redraft
    init()


def watch(parent: psutil.Process, mark: str) -> None:
    seen: dict[int, psutil.Process] = {}
    while not select.select([sys.stdin], [], [], POLL_SECONDS)[0]:  # readable once at its end: nothing is written
        try:
            seen.update((p.pid, p) for p in parent.children(recursive=True) if p.pid != os.getpid())
        except psutil.NoSuchProcess:
            break
    for p in [*seen.values(), *(p for p in psutil.process_iter() if _marked(p, mark))]:
        try:
            p.kill()  # psutil checks that the pid is still the process seen
        except psutil.Error:
            pass


def _marked(p: psutil.Process, mark: str) -> bool:
    try:
        return p.pid != os.getpid() and p.environ().get(MARK_VAR) == mark
    except psutil.Error:
        return False


if __name__ == "__main__":
    if os.getppid() == int(sys.argv[1]):  # else it ended before this started, and Ray's own ties have done
        watch(psutil.Process(os.getppid()), sys.argv[2])
