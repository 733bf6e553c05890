"""``python -m bench --network --full-nodes N``: the option parses, the lag of a full node
behind v0 is computed from the two ``newBlocks`` delivery streams, and the report prints
the full-node columns (synthetic steps: no network run)."""

from __future__ import annotations

import pytest

from bench import network_bench as nb
from bench.__main__ import build_parser


def _seen(pairs: list[tuple[int, float]]) -> list[nb.BlockSeen]:
    return [nb.BlockSeen(h, h * 10**9, t, []) for h, t in pairs]


def test_full_nodes_option_defaults_to_zero_and_parses() -> None:
    p = build_parser()
    assert p.parse_args(["--network"]).full_nodes == 0
    assert p.parse_args(["--network", "--full-nodes", "2"]).full_nodes == 2


def test_full_nodes_option_refuses_a_negative_count(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--network", "--full-nodes", "-1"])
    assert "must be >= 0" in capsys.readouterr().err


def test_follow_lag_per_height_gap_and_missing() -> None:
    v0 = _seen([(5, 0.5), (6, 1.0), (7, 2.0), (8, 3.0), (9, 4.0)])
    # the full node gets 6 late, 7 and 8 together, never 9
    full = _seen([(5, 0.6), (6, 1.5), (7, 3.2), (8, 3.3)])
    lag = nb.follow_lag(v0, full, 0.9, 4.5, base=4)
    assert lag.heights == 4  # 6..9 were delivered by v0 inside the window
    assert lag.lags == pytest.approx([0.5, 1.2, 0.3])
    assert lag.missing == 1
    # at 3.0 v0 is at 8 while the full node is still at 6
    assert lag.max_gap == 2
    assert lag.final_gap == 1


def test_follow_lag_counts_a_delivery_after_the_window_as_missing() -> None:
    v0 = _seen([(3, 1.0), (4, 2.0)])
    full = _seen([(3, 1.1), (4, 9.0)])
    lag = nb.follow_lag(v0, full, 0.0, 5.0, base=2)
    assert lag.lags == pytest.approx([0.1])
    assert lag.missing == 1
    assert lag.final_gap == 1


def test_follow_lag_of_a_node_that_never_moves_grows_with_v0() -> None:
    v0 = _seen([(h, float(h)) for h in range(1, 11)])
    lag = nb.follow_lag(v0, [], 0.0, 20.0, base=2)
    assert lag.lags == []
    assert lag.missing == 10
    assert lag.max_gap == lag.final_gap == 8


def _step(rate: float, full: dict[str, nb.FullNodeLag]) -> nb.Step:
    s = nb.Step(rate, sent=100, send_s=1.0, window_ns=(0, 10**9), committed_in_window=100)
    s.latencies = [0.3, 0.4]
    s.cpu = {"v0": 40, "v1": 41, "v2": 42, "v3": 43, "f0": 27, "client": 15}
    s.full = full
    return s


def test_report_prints_full_node_columns(capsys: pytest.CaptureFixture[str]) -> None:
    idle = _step(0.0, {"f0": nb.FullNodeLag(lags=[0.1], heights=1, caught_up=True)})
    behind = nb.FullNodeLag(heights=12, missing=12, max_gap=12, final_gap=12, catch_up_s=15)
    ok = nb.FullNodeLag(lags=[0.2, 0.5, 1.5], heights=3, max_gap=3, caught_up=True, catch_up_s=0.4)
    steps = [_step(500, {"f0": ok}), _step(1000, {"f0": behind})]
    nb._report(idle, steps, [3.0, 3.0], nb.Watcher("ws://x"), 17000.0)
    out = capsys.readouterr().out
    assert "cpu % of one core: v0 v1 v2 v3 f0 client" in out
    assert " 40  41  42  43  27  15 |" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if " f0 " in line}
    assert rows["500"][1:7] == ["f0", "3", "0.50", "1.50", "3", "0"]
    assert rows["500"][7:10] == ["yes", "0.4", "s"]
    assert rows["1000"][1:7] == ["f0", "12", "nan", "nan", "12", "12"]
    assert "NO (12 behind)" in out
    assert rows["idle"][7] == "yes"


def test_report_without_full_nodes_keeps_the_validator_columns(
    capsys: pytest.CaptureFixture[str],
) -> None:
    s = _step(500, {})
    del s.cpu["f0"]
    idle = _step(0.0, {})
    del idle.cpu["f0"]
    nb._report(idle, [s], [3.0], nb.Watcher("ws://x"), 17000.0)
    out = capsys.readouterr().out
    assert "cpu % of one core: v0 v1 v2 v3 client |" in out
    assert "full nodes" not in out


def test_print_step_names_a_full_node_that_did_not_catch_up(
    capsys: pytest.CaptureFixture[str],
) -> None:
    behind = nb.FullNodeLag(heights=5, missing=5, max_gap=7, final_gap=7, catch_up_s=15)
    nb._print_step(_step(1200, {"f0": behind}))
    out = capsys.readouterr().out
    assert "full node f0:" in out
    assert "max gap 7 heights" in out
    assert "NOT caught up 15 s after the drain (7 heights behind)" in out
