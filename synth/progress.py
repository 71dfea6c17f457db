"""The live progress line on stderr: items, requests/s, tokens/s, cost, projected total cost, ETA.

Off when stderr is not a terminal or REDRAFT_PROGRESS=0 (REDRAFT_PROGRESS=1 forces it on).
"""

from __future__ import annotations

import os
import sys
import time


def progress_enabled() -> bool:
    flag = os.environ.get("REDRAFT_PROGRESS")
    if flag is not None:
        return flag not in ("0", "", "false", "no")
    return sys.stderr.isatty()


class Progress:
    def __init__(self, total: int | None, budget, desc: str = "synth", position: int = 0):
        self.total, self.budget = total, budget
        self.start = time.monotonic()
        self.items = self.failed = 0
        self._bar = None
        if progress_enabled():
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=desc, unit="item", file=sys.stderr, dynamic_ncols=True,
                             mininterval=0.5, position=position)  # workers running at once: a line each

    def summary(self) -> dict:
        elapsed = max(1e-9, time.monotonic() - self.start)
        t = self.budget.total
        done = self.items + self.failed
        s = {"items": self.items, "failed": self.failed, "requests_per_s": t.requests / elapsed,
             "tokens_per_s": t.tokens / elapsed, "cost": t.cost}
        if self.total and done:
            s["projected_cost"] = t.cost / done * self.total
        return s

    def item_done(self, ok: bool) -> None:
        if ok:
            self.items += 1
        else:
            self.failed += 1
        if self._bar is not None:
            s = self.summary()
            post = {"req/s": f"{s['requests_per_s']:.1f}", "tok/s": f"{s['tokens_per_s']:.0f}",
                    "failed": self.failed}
            if s["cost"]:
                post["cost"] = f"${s['cost']:.4g}"
            if "projected_cost" in s and s["cost"]:
                post["projected"] = f"${s['projected_cost']:.4g}"
            self._bar.set_postfix(post, refresh=False)
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
