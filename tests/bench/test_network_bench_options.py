"""``python -m bench --network --validators N``: parsed and bounded like ``qos devnet``, and
the plan spreads senders over exactly N nodes."""

from __future__ import annotations

import pytest

from bench import network_bench as nb
from bench.__main__ import build_parser


def test_validators_default_to_four_and_parse() -> None:
    assert build_parser().parse_args(["--network"]).validators == 4
    assert build_parser().parse_args(["--network", "--validators", "7"]).validators == 7


@pytest.mark.parametrize("bad", ["0", "22", "-1"])
def test_validators_out_of_range_are_refused(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--network", "--validators", bad])
    assert "must be 1..21" in capsys.readouterr().err


def test_the_plan_pins_each_sender_to_one_of_n_nodes() -> None:
    [plan] = nb._presign([20.0], 1.0, 14, n_nodes=7)
    nodes = {sender: node for sender, node, _ in plan}
    assert set(nodes.values()) == set(range(7))
    assert all(node == sender % 7 for sender, node in nodes.items())
