"""Fixtures: a real node whose app routes bank + identity + credentials."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cred_helpers import VcNode

from qos_node.testing import make_test_node


@pytest.fixture
def vcnode(tmp_path: Path) -> Iterator[VcNode]:
    t = make_test_node(tmp_path)
    yield VcNode(t)
    t.bundle.db.close()
