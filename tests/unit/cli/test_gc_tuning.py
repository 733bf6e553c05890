"""The node process's GC settings (qos_node.gc_tuning), checked in a fresh interpreter so
this test process keeps its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from qos_node.gc_tuning import ENV, NODE_GC_THRESHOLDS

PROBE = (
    "import gc, json; from qos_node.gc_tuning import tune_for_node; "
    "before = gc.get_threshold(); applied = tune_for_node(); "
    "print(json.dumps([applied, before, gc.get_threshold(), gc.get_freeze_count()]))"
)


def _probe(env_value: str | None) -> list[object]:
    env = {k: v for k, v in os.environ.items() if k != ENV}
    if env_value is not None:
        env[ENV] = env_value
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    result: list[object] = json.loads(out.stdout)
    return result


def test_the_node_freezes_start_up_objects_and_raises_the_thresholds() -> None:
    applied, before, after, frozen = _probe(None)
    assert applied is True
    assert before == [700, 10, 10]  # CPython's defaults, which the node replaces
    assert after == list(NODE_GC_THRESHOLDS)
    assert isinstance(frozen, int)
    assert frozen > 1_000  # the interpreter and the imports so far are frozen


def test_python_defaults_are_kept_on_request() -> None:
    applied, before, after, frozen = _probe("python")
    assert applied is False
    assert after == before
    assert frozen == 0
