"""Shared setup for the files / pinning / gateway API tests (no tests here): a test node
whose port has a FileService on an embedded store, a DID owner and a bearer token."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from did_helpers import Dids, seed

from qos_api.app import create_app
from qos_chain.db import open_database
from qos_fs import client as fc
from qos_fs.service import FileService
from qos_fs.times import format_time
from qos_ipfs.backend import EmbeddedBackend
from qos_node.port import LocalNodePort
from qos_node.testing import TestNode

DELEGATE = "/ip4/203.0.113.1/tcp/4001/p2p/12D3KooWQosTestDelegate"
OWNER_SEED = seed(11)


@dataclass
class Env:
    tnode: TestNode
    svc: FileService
    port: LocalNodePort
    client: httpx.AsyncClient
    dids: Dids
    did: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def new_token(self, owner_seed: bytes, did: str, label: str = "t") -> dict[str, Any]:
        body = fc.token_request(
            self.tnode.chain_id, did, owner_seed, label=label, issued=format_time(time.time_ns())
        )
        r = await self.client.post("/auth/tokens", json=body)
        assert r.status_code == 201, r.text
        out: dict[str, Any] = r.json()
        return out


def make_service(root: Path, **kw: Any) -> FileService:
    backend = EmbeddedBackend.open(root / "ipfs", root / "ipfs.db")
    return FileService(backend, open_database(root / "files.db"), delegates=(DELEGATE,), **kw)


@asynccontextmanager
async def files_env(tnode: TestNode, root: Path, **kw: Any) -> AsyncIterator[Env]:
    svc = make_service(root, **kw)
    port = LocalNodePort(
        tnode.node, tnode.app, tnode.db_path, clock=tnode.now, node_id="test-node", files=svc
    )
    app = create_app(port)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://qos.test"
        ) as client:
            dids = Dids(tnode)
            did = dids.create(OWNER_SEED, seed(12))
            env = Env(tnode, svc, port, client, dids, did, "")
            env.token = (await env.new_token(OWNER_SEED, did))["token"]
            yield env
    finally:
        port.close()
        svc.close()
