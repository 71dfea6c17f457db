"""No process redraft starts outlives it, even when it is killed with SIGKILL (which runs no cleanup at all): each
child asks Linux to signal it when its parent ends (`prctl(PR_SET_PDEATHSIG)`), and a child that starts children
of its own passes the signal on the same way, or stops them when it gets it (torchrun does).

The signal follows the parent *thread*: start children from the thread that lives as long as the process (the main
thread). Elsewhere than Linux the request does nothing, and children may outlive a killed redraft.

`python -m redraft.parent_death PARENT SIGNAL -- CMD...` runs CMD (an `exec`, keeping the request) as such a child.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent: int, sig: int = signal.SIGKILL) -> None:
    """In a child of `parent`: have `sig` sent to this process when `parent` ends, and send it now if it already
    has (the child was then handed to another process, so `getppid` no longer names it)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    if os.getppid() != parent:
        os.kill(os.getpid(), sig)


def command_dying_with_this_process(cmd: list[str], sig: int = signal.SIGTERM) -> list[str]:
    """`cmd` as a command line that gets `sig` when this process ends (see the module docstring)."""
    return [sys.executable, "-m", "redraft.parent_death", str(os.getpid()), str(int(sig)), "--", *cmd]


if __name__ == "__main__":
    parent, sig, separator, *cmd = sys.argv[1:]
    if separator != "--" or not cmd:
        sys.exit("usage: python -m redraft.parent_death PARENT SIGNAL -- CMD...")
    die_with_parent(int(parent), int(sig))
    os.execvp(cmd[0], cmd)
