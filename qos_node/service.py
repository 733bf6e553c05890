"""NodeService: the API (uvicorn, asyncio) in the main thread, the node runtime (trio:
ChainNode + libp2p) in a second thread. ``TrioGateway`` is the only bridge for writes;
reads go to SQLite directly; committed blocks reach subscribers via the port's
thread-safe fan-out. SIGINT/SIGTERM stop uvicorn, which then stops the trio thread."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

import trio
import uvicorn
from starlette.applications import Starlette

from qos_chain.errors import ChainError
from qos_chain.execution import AppliedBlock
from qos_chain.node import ChainNode, SubmitResult
from qos_node.runtime import NodeRuntime, TrioGateway

log = logging.getLogger("qos.node")


class BridgedNode:
    """The ChainNode as the API thread sees it: reads pass through, writes cross to trio."""

    def __init__(self, node: ChainNode, gateway: TrioGateway) -> None:
        self._node = node
        self._gateway = gateway

    def submit_tx(self, raw: bytes, now: int) -> SubmitResult:
        return self._gateway.submit_tx(raw, now)

    def submit_txs(self, raws: Sequence[bytes], now: int) -> list[SubmitResult | ChainError]:
        return self._gateway.submit_txs(raws, now)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._node, name)


class NodeService:
    def __init__(
        self, runtime: NodeRuntime, make_api: Callable[[], Starlette], *, host: str, port: int
    ) -> None:
        self.runtime = runtime
        self._make_api = make_api
        self.host = host
        self.port = port
        self._started = threading.Event()
        self._cancel: trio.CancelScope | None = None
        self._error: BaseException | None = None
        self._server: uvicorn.Server | None = None
        runtime.node.add_listener(self._log_block)

    @staticmethod
    def _log_block(applied: AppliedBlock) -> None:
        h = applied.block.header
        log.info(
            "committed height=%d txs=%d hash=%s",
            h.height,
            len(applied.block.txs),
            applied.block.hash().hex()[:16],
        )

    def _trio_main(self) -> None:
        async def main() -> None:
            with trio.CancelScope() as scope:
                self._cancel = scope
                async with trio.open_nursery() as nursery:
                    await nursery.start(self.runtime.run)
                    self._started.set()

        try:
            trio.run(main)
        except BaseException as exc:  # reported to the main thread, which exits non-zero
            self._error = exc
            log.exception("node runtime stopped")
        finally:
            self._started.set()
            if self._server is not None:  # the node is gone: stop serving its API
                self._server.should_exit = True

    def run(self) -> None:
        thread = threading.Thread(target=self._trio_main, name="qos-node", daemon=True)
        thread.start()
        self._started.wait()
        if self._error is not None:
            raise RuntimeError(f"node runtime failed to start: {self._error}") from self._error
        server = self._server = uvicorn.Server(
            uvicorn.Config(
                self._make_api(),
                host=self.host,
                port=self.port,
                log_level="warning",
                lifespan="off",
                ws="websockets-sansio",
            )
        )
        try:
            server.run()
        finally:
            token = self.runtime.token
            if self._cancel is not None and token is not None and thread.is_alive():
                with contextlib.suppress(trio.RunFinishedError):
                    trio.from_thread.run_sync(self._cancel.cancel, trio_token=token)
            thread.join(timeout=10)
        if self._error is not None:
            raise RuntimeError(f"node runtime stopped: {self._error}") from self._error
