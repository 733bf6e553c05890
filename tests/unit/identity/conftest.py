"""Fixtures: a bank + identity node (QosApp registers the identity error codes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from identity_helpers import IdNode, make_identity_node


@pytest.fixture
def idnode(tmp_path: Path) -> Iterator[IdNode]:
    t = make_identity_node(tmp_path)
    yield IdNode(t)
    t.bundle.db.close()
