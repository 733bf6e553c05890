"""Shared helpers for the p2p tests: start N networks in one trio process, wait on conditions."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

import trio

from qos_p2p.host import Libp2pNetwork
from qos_p2p.keys import NodeKey, generate_node_key
from qos_p2p.memory import MemoryHub, MemoryNetwork
from qos_p2p.port import InboundMessage, MessageKind, Network

CHAIN = "qos-test"
POLL = 0.005


async def wait_until(cond: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Poll `cond` until true; fail after `timeout` seconds (a deadline, not a sleep)."""
    with trio.fail_after(timeout):
        while not cond():
            await trio.sleep(POLL)  # sleep-ok: poll interval of a deadline-bounded wait
    del what


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def collect(
    net: Network, want: int, kind: MessageKind | None = None, timeout: float = 20.0
) -> list[InboundMessage]:
    out: list[InboundMessage] = []
    with trio.fail_after(timeout):
        async for msg in net.inbound():
            if kind is None or msg.kind is kind:
                out.append(msg)
            if len(out) >= want:
                break
    return out


def fully_connected(nets: Sequence[Network], expect: int | None = None) -> bool:
    n = len(nets) - 1 if expect is None else expect
    return all(len(net.peers()) >= n for net in nets)


def gossip_ready(nets: Sequence[Network]) -> bool:
    for net in nets:
        if isinstance(net, Libp2pNetwork):
            for kind in (MessageKind.TX, MessageKind.EVIDENCE):
                if net.gossip_peer_count(kind) < len(nets) - 1:
                    return False
    return True


def tx_gossip_line(a: Libp2pNetwork, b: Libp2pNetwork, c: Libp2pNetwork) -> bool:
    """a - b - c: b meshes with both ends for TX gossip, a and c only with b."""
    return (
        b.gossip_peer_count(MessageKind.TX) == 2
        and a.gossip_peer_count(MessageKind.TX) == 1
        and c.gossip_peer_count(MessageKind.TX) == 1
    )


@asynccontextmanager
async def memory_nets(
    n: int, *, chain_ids: Sequence[str] | None = None, **_: object
) -> AsyncIterator[list[Network]]:
    hub = MemoryHub(seed=1)
    nets: list[MemoryNetwork] = [
        hub.node(f"node{i}", chain_id=(chain_ids[i] if chain_ids else CHAIN), ban_seconds=30)
        for i in range(n)
    ]
    async with trio.open_nursery() as nursery:
        for net in nets:
            await nursery.start(net.run)
        yield list(nets)
        nursery.cancel_scope.cancel()


@asynccontextmanager
async def libp2p_nets(
    n: int,
    *,
    chain_ids: Sequence[str] | None = None,
    keys: Sequence[NodeKey] | None = None,
    connect: bool = True,
) -> AsyncIterator[list[Network]]:
    """n hosts on loopback; host i bootstraps to hosts 0..i-1 (a full mesh)."""
    nets: list[Libp2pNetwork] = []
    async with trio.open_nursery() as nursery:
        for i in range(n):
            boot = [a for net in nets for a in net.listen_addrs()[:1]] if connect else []
            net = Libp2pNetwork(
                keys[i] if keys else generate_node_key(),
                chain_id=chain_ids[i] if chain_ids else CHAIN,
                bootstrap=boot,
                ban_seconds=30,
                seed=i,
            )
            await nursery.start(net.run)
            nets.append(net)
        if connect and chain_ids is None:
            await wait_until(lambda: fully_connected(nets), 15, "full mesh")
            await wait_until(lambda: gossip_ready(nets), 15, "gossip subscriptions")
        yield list(nets)
        nursery.cancel_scope.cancel()
