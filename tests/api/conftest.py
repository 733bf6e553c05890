"""API tests run against a real node (real SQLite, app, signer) on a manual clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from qos_api.app import create_app
from qos_node.port import LocalNodePort
from qos_node.testing import TestNode, make_test_node


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def tnode(tmp_path: Path) -> TestNode:
    return make_test_node(tmp_path)


@pytest.fixture
def port(tnode: TestNode) -> Iterator[LocalNodePort]:
    p = LocalNodePort(tnode.node, tnode.app, tnode.db_path, clock=tnode.now, node_id="test-node")
    yield p
    p.close()


@pytest.fixture
def app(port: LocalNodePort) -> Starlette:
    return create_app(port)


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://qos.test"
    ) as c:
        yield c
