"""NodeService: runs the chain node's driver loop beside the API server (uvicorn) on one
asyncio loop. The node is the single writer; the loop wakes on the node's deadline or when
a tx arrives, and stops on SIGINT/SIGTERM (uvicorn's handlers) after the current block."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import uvicorn
from starlette.applications import Starlette

from qos_chain.execution import AppliedBlock
from qos_chain.node import ChainNode

log = logging.getLogger("qos.node")

MAX_IDLE_WAIT_S = 1.0


class NodeService:
    def __init__(
        self,
        node: ChainNode,
        api: Starlette,
        *,
        host: str,
        port: int,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.node = node
        self.clock = clock
        self._wake = asyncio.Event()
        self.server = uvicorn.Server(
            uvicorn.Config(
                api,
                host=host,
                port=port,
                log_level="warning",
                lifespan="off",
                ws="websockets-sansio",
            )
        )
        node.on_work = self._wake.set
        node.add_listener(self._log_block)

    @staticmethod
    def _log_block(applied: AppliedBlock) -> None:
        h = applied.block.header
        log.info(
            "committed height=%d txs=%d hash=%s",
            h.height,
            len(applied.block.txs),
            applied.block.hash().hex()[:16],
        )

    async def _drive(self) -> None:
        while not self.server.should_exit:
            deadline = self.node.step(self.clock())
            wait = MAX_IDLE_WAIT_S
            if deadline is not None:
                wait = min(wait, max(0.0, (deadline - self.clock()) / 1e9))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.server.serve(), name="api")
            tg.create_task(self._drive(), name="chain")
