"""The numbers check on real WMT22 pairs of every direction in ../shared/data/wmt22: the share of clean pairs it keeps,
and the share it catches of the same pairs with one number of the reference altered so that it no longer matches
the source (a number the source also writes in digits, changed in one digit: tests/filters_defects.py
`altered_number`). Both per direction, for the numbers check alone and for the default pair filters as a whole.
Prints one JSON line.
  python benchmarks/number_check.py
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "wmt22"


def main() -> None:
    os.environ.setdefault("POLARS_MAX_THREADS", "1")
    sys.path.insert(0, str(ROOT / "tests"))
    from filters_defects import altered_number, doc, load_wmt22

    from redraft.filters.config import FilterSpec
    from redraft.filters.registry import build_filters

    def dropped(step, pairs) -> list[str | None]:
        return [None if r is True else r[1] for r in step.filter_batch([doc(*p, i=i) for i, p in enumerate(pairs)])]

    load_before = os.getloadavg()[0]
    directions = sorted(p.stem for p in DATA.glob("*.src"))
    numbers = build_filters([FilterSpec(name="numbers")], "und", "und", "pair")[0]
    out: dict = {"bench": "number_check", "directions": {}}
    seconds = 0.0
    for d in directions:
        pairs = load_wmt22(DATA, [d])
        rng = random.Random(0)
        altered = [(sl, tl, src, ref) for sl, tl, src, r in pairs if (ref := altered_number(src, r, rng))]
        defaults = build_filters("default", d[:2], d[2:], "pair")[0]
        t = time.process_time()
        clean = dropped(numbers, pairs)
        seconds += time.process_time() - t
        caught = dropped(numbers, altered)
        clean_all, caught_all = dropped(defaults, pairs), dropped(defaults, altered)
        out["directions"][d] = {
            "clean": len(pairs), "altered": len(altered),
            "numbers_kept": round(clean.count(None) / len(pairs), 4),
            "numbers_caught": round(caught.count("number_mismatch") / len(altered), 4),
            "defaults_kept": round(clean_all.count(None) / len(pairs), 4),
            "defaults_caught": round(sum(r is not None for r in caught_all) / len(altered), 4),
        }
    figures = out["directions"].values()
    out["min_numbers_kept"] = min(f["numbers_kept"] for f in figures)
    out["min_numbers_caught"] = min(f["numbers_caught"] for f in figures)
    out["numbers_clean_pairs_per_cpu_s"] = round(sum(f["clean"] for f in figures) / seconds)
    out["loadavg_1m_before_after"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
