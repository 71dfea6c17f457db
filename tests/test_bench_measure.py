"""benchmarks/measure.py: the repeats every timing benchmark reports, interleaved, as medians with their spread."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from measure import ratio, repeat  # noqa: E402


def test_contenders_alternate_their_order_round_by_round():
    order = []
    runs = repeat({name: (lambda name=name: order.append(name) or {"x": 1.0}) for name in "abc"}, 3)
    assert order == list("abccbaabc")
    assert [len(r.figures) for r in runs.values()] == [3, 3, 3]


def test_figures_are_medians_with_every_value_and_the_load_around_each_run():
    ours, peer = iter([10.0, 30.0, 12.0, 11.0]), iter([4.0, 5.0, 100.0, 6.0])
    runs = repeat({"ours": lambda: {"rate": next(ours)}, "peer": lambda: {"rate": next(peer)}}, 4)
    report = runs["ours"].report(rate=1)
    assert report["rate"] == {"median": 11.5, "min": 10.0, "max": 30.0, "values": [10.0, 30.0, 12.0, 11.0]}
    assert len(report["load_1m_before_after"]) == 4 and all(len(pair) == 2 for pair in report["load_1m_before_after"])
    # not the best of each (30 / 100) nor the mean: the median of each, so one outlier moves nothing
    assert ratio(runs["ours"], runs["peer"], "rate") == round(11.5 / 5.5, 2)
