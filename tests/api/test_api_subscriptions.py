"""newBlocks over graphql-transport-ws, and the port's fan-out to slow subscribers."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncGenerator
from typing import Any

import pytest
from api_helpers import RECIPIENT, wait_until
from starlette.applications import Starlette
from starlette.exceptions import StarletteDeprecationWarning
from starlette.websockets import WebSocketDisconnect

from qos_api.ports import BlockInfo, SubscriberTooSlow
from qos_api.schema import ApiContext, schema
from qos_node.port import LocalNodePort
from qos_node.testing import TestNode

with warnings.catch_warnings():
    # starlette 1.x asks for the ``httpx2`` fork for its TestClient; ``httpx`` still works
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

SUBSCRIPTION = "subscription { newBlocks { height hash numTxs transactions { hash } } }"
WAIT_S = 10.0


def test_new_blocks_over_websocket(app: Starlette, port: LocalNodePort, tnode: TestNode) -> None:
    tnode.produce()  # a block committed before subscribing is not replayed
    with (
        TestClient(app) as client,
        client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws,
    ):
        subprotocol: object = ws.accepted_subprotocol
        assert subprotocol == "graphql-transport-ws"
        ws.send_json({"type": "connection_init"})
        assert ws.receive_json() == {"type": "connection_ack"}
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}})
        assert port.wait_for_subscribers(1, WAIT_S), "the subscription never registered"

        got: list[dict[str, Any]] = []
        for i in range(3):
            if i == 1:
                tnode.node.submit_tx(tnode.transfer(RECIPIENT, 5), tnode.now())
            applied = tnode.produce()
            msg = ws.receive_json()
            assert msg["type"] == "next", msg
            assert msg["id"] == "1"
            block = msg["payload"]["data"]["newBlocks"]
            assert block["hash"] == applied.block.hash().hex()
            got.append(block)
        assert [b["height"] for b in got] == [2, 3, 4]
        assert [b["numTxs"] for b in got] == [0, 1, 0]
        assert len(got[1]["transactions"]) == 1

        ws.send_json({"id": "1", "type": "complete"})
        assert port.wait_for_subscribers(0, WAIT_S), "completing did not release the subscriber"


def test_subscribe_before_init_is_refused(app: Starlette) -> None:
    with (
        TestClient(app) as client,
        client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws,
    ):
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}})
        with pytest.raises(WebSocketDisconnect) as exc:
            ws.receive_json()
        assert exc.value.code == 4401


def test_websocket_invalid_subscription_is_an_error_message(app: Starlette) -> None:
    with (
        TestClient(app) as client,
        client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws,
    ):
        ws.send_json({"type": "connection_init"})
        assert ws.receive_json()["type"] == "connection_ack"
        query = "subscription { newBlocks { nope } }"
        ws.send_json({"id": "7", "type": "subscribe", "payload": {"query": query}})
        msg = ws.receive_json()
        assert msg["type"] == "error"
        assert msg["id"] == "7"
        assert "nope" in msg["payload"][0]["message"]


@pytest.mark.anyio
async def test_port_delivers_every_block_in_order(port: LocalNodePort, tnode: TestNode) -> None:
    stream = port.subscribe_blocks()
    first = asyncio.ensure_future(anext(stream))
    await wait_until(lambda: port.subscriber_count == 1)
    applied = [tnode.produce() for _ in range(5)]
    infos: list[BlockInfo] = [await asyncio.wait_for(first, WAIT_S)]
    infos += [await asyncio.wait_for(anext(stream), WAIT_S) for _ in range(4)]
    assert [i.block for i in infos] == [a.block for a in applied]
    assert [i.commit for i in infos] == [a.commit for a in applied]
    assert [i.results for i in infos] == [a.result.tx_results for a in applied]
    await stream.aclose()  # type: ignore[attr-defined]
    assert port.subscriber_count == 0


@pytest.mark.anyio
async def test_slow_subscriber_is_dropped_without_blocking_the_node(tnode: TestNode) -> None:
    port = LocalNodePort(tnode.node, tnode.app, tnode.db_path, clock=tnode.now, queue_size=2)
    try:
        slow = port.subscribe_blocks()
        fast = port.subscribe_blocks()
        slow_first = asyncio.ensure_future(anext(slow))
        fast_first = asyncio.ensure_future(anext(fast))
        await wait_until(lambda: port.subscriber_count == 2)
        tnode.produce()
        assert (await asyncio.wait_for(slow_first, WAIT_S)).block.header.height == 1
        assert (await asyncio.wait_for(fast_first, WAIT_S)).block.header.height == 1

        heights = []
        for _ in range(3):  # the slow subscriber never reads; the node keeps committing
            tnode.produce()
            heights.append((await asyncio.wait_for(anext(fast), WAIT_S)).block.header.height)
        assert heights == [2, 3, 4]
        assert port.subscriber_count == 1
        with pytest.raises(SubscriberTooSlow):
            await asyncio.wait_for(anext(slow), WAIT_S)
        await fast.aclose()  # type: ignore[attr-defined]
    finally:
        port.close()


@pytest.mark.anyio
async def test_slow_subscriber_gets_a_graphql_error(tnode: TestNode) -> None:
    port = LocalNodePort(tnode.node, tnode.app, tnode.db_path, clock=tnode.now, queue_size=1)
    try:
        results = await schema.subscribe(
            "subscription { newBlocks { height } }", context_value=ApiContext(port)
        )
        assert isinstance(results, AsyncGenerator)
        first = asyncio.ensure_future(anext(results))
        await wait_until(lambda: port.subscriber_count == 1)
        tnode.produce()
        r = await asyncio.wait_for(first, WAIT_S)
        assert r.data == {"newBlocks": {"height": 1}}
        tnode.produce()
        tnode.produce()  # the queue (size 1) overflows
        r = await asyncio.wait_for(anext(results), WAIT_S)
        assert r.data is None
        assert r.errors
        assert r.errors[0].extensions == {"code": "subscriber_too_slow"}
        assert "resume with the blocks query" in r.errors[0].message
    finally:
        port.close()


@pytest.mark.anyio
async def test_close_ends_subscriptions(tnode: TestNode) -> None:
    port = LocalNodePort(tnode.node, tnode.app, tnode.db_path, clock=tnode.now)
    stream = port.subscribe_blocks()
    nxt = asyncio.ensure_future(anext(stream))
    await wait_until(lambda: port.subscriber_count == 1)
    port.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(nxt, WAIT_S)
    tnode.produce()  # the closed port's listener is inert
