"""Libp2pNetwork behaviour beyond the port suite: security, reconnect, relay, keys, stop."""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trio
from libp2p import create_yamux_muxer_option, new_host
from libp2p.custom_types import TProtocol
from libp2p.peer.peerinfo import info_from_p2p_addr
from libp2p.security.insecure.transport import PLAINTEXT_PROTOCOL_ID, InsecureTransport
from multiaddr import Multiaddr

from qos_p2p.direct import CONSENSUS_PROTOCOL, TX_PROTOCOL
from qos_p2p.framing import write_frame
from qos_p2p.host import Libp2pNetwork
from qos_p2p.keys import NodeKeyError, generate_node_key, load_or_create_node_key
from qos_p2p.limits import RECONNECT_BACKOFF_MIN_S
from qos_p2p.port import Accept, MessageKind, PeerId, Reject, Verdict
from tests.p2p.harness import (
    CHAIN,
    collect,
    free_port,
    libp2p_nets,
    tx_gossip_line,
    wait_until,
)


def test_plaintext_dialer_is_refused() -> None:
    async def main() -> None:
        async with libp2p_nets(1) as (net,):
            assert isinstance(net, Libp2pNetwork)
            key = generate_node_key()
            plain = new_host(
                key_pair=key.key_pair,
                sec_opt={PLAINTEXT_PROTOCOL_ID: InsecureTransport(key.key_pair)},
                muxer_opt=create_yamux_muxer_option(),
            )
            async with plain.run([Multiaddr("/ip4/127.0.0.1/tcp/0")]):
                with trio.fail_after(10), pytest.raises(Exception, match="unable to connect"):
                    await plain.connect(info_from_p2p_addr(Multiaddr(net.listen_addrs()[0])))
                await plain.close()
            assert net.peers() == []

    trio.run(main)


def _paired(a: Libp2pNetwork, b: Libp2pNetwork) -> Callable[[], bool]:
    return lambda: len(a.peers()) == 1 and len(b.peers()) == 1


def test_reconnects_after_peer_restarts_on_same_port_and_key() -> None:
    async def main() -> None:
        key_b = generate_node_key()
        listen_b = f"/ip4/127.0.0.1/tcp/{free_port()}"
        addr_b = f"{listen_b}/p2p/{key_b.peer_id}"
        a = Libp2pNetwork(generate_node_key(), chain_id=CHAIN, bootstrap=[addr_b], seed=1)
        async with trio.open_nursery() as outer:
            await outer.start(a.run)
            for round_ in range(2):
                b = Libp2pNetwork(key_b, chain_id=CHAIN, listen=listen_b, seed=2)
                async with trio.open_nursery() as inner:
                    await inner.start(b.run)
                    await wait_until(_paired(a, b), 15)
                    await a.send_consensus(f"hello-{round_}".encode())
                    (msg,) = await collect(b, 1)
                    assert msg.payload == f"hello-{round_}".encode()
                    inner.cancel_scope.cancel()
                await wait_until(lambda: a.peers() == [], 10)
            assert a.stats().reconnects >= 1
            outer.cancel_scope.cancel()

    trio.run(main)


def test_rejected_gossip_is_not_relayed() -> None:
    """a - b - c in a line: b rejects "bad" txs, so c never sees them; good ones relay."""

    def validator(kind: MessageKind, payload: bytes) -> Verdict:
        return Reject("bad") if payload.startswith(b"bad") else Accept()

    async def main() -> None:
        keys = [generate_node_key() for _ in range(3)]
        async with trio.open_nursery() as nursery:
            b = Libp2pNetwork(keys[1], chain_id=CHAIN, seed=1)
            b.set_validator(validator)
            await nursery.start(b.run)
            boot = [b.listen_addrs()[0]]
            a = Libp2pNetwork(keys[0], chain_id=CHAIN, bootstrap=boot, seed=0)
            c = Libp2pNetwork(keys[2], chain_id=CHAIN, bootstrap=boot, seed=2)
            await nursery.start(a.run)
            await nursery.start(c.run)
            await wait_until(lambda: len(b.peers()) == 2 and len(a.peers()) == 1, 15)
            await wait_until(lambda: tx_gossip_line(a, b, c), 15)
            await a.publish_tx(b"bad-1")
            await a.publish_tx(b"good-1")
            (at_c,) = await collect(c, 1)
            assert at_c.payload == b"good-1"
            assert at_c.peer == a.peer_id
            assert b.stats().rejected == 1
            assert {p.peer_id: p.score for p in b.peers()}[a.peer_id] < 0
            nursery.cancel_scope.cancel()

    trio.run(main)


def test_direct_tx_streams_are_refused_outside_the_validators() -> None:
    """/qos/txs/1.0.0 runs among validators: a full node's tx stream to a validator (and
    a validator's to a full node) is reset, counted, and delivers nothing."""

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            v = Libp2pNetwork(generate_node_key(), chain_id=CHAIN, seed=1)
            await nursery.start(v.run)
            f = Libp2pNetwork(
                generate_node_key(),
                chain_id=CHAIN,
                bootstrap=[v.listen_addrs()[0]],
                is_validator=False,
                seed=2,
            )
            await nursery.start(f.run)
            await wait_until(_paired(v, f), 15)
            for sender, receiver in ((f, v), (v, f)):
                with contextlib.suppress(Exception):  # the reset may beat the open or write
                    stream = await sender._open(receiver.peer_id, TX_PROTOCOL)
                    await write_frame(stream, b"tx" * 100)
                await wait_until(lambda r=receiver: r.stats().txs_direct_refused == 1, 10)
                assert receiver.stats().txs_direct_received == 0
                with pytest.raises(trio.WouldBlock):
                    receiver.inbound().receive_nowait()
            nursery.cancel_scope.cancel()

    trio.run(main)


def test_a_validator_without_the_tx_protocol_is_retried_with_backoff() -> None:
    """b serves no /qos/txs/1.0.0: a's tx link to it is reopened with growing delays (not
    in a tight loop), send_txs does not count b (the runtime gossips instead), and the
    consensus link to b works meanwhile."""

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            b = Libp2pNetwork(generate_node_key(), chain_id=CHAIN, seed=2)
            await nursery.start(b.run)
            b._host.remove_stream_handler(TProtocol(TX_PROTOCOL))
            a = Libp2pNetwork(
                generate_node_key(), chain_id=CHAIN, bootstrap=[b.listen_addrs()[0]], seed=1
            )
            starts: list[float] = []
            real_start = a._start_link

            def record(peer: PeerId, state: Any, protocol: str = CONSENSUS_PROTOCOL) -> None:
                if protocol == TX_PROTOCOL:
                    starts.append(trio.current_time())
                real_start(peer, state, protocol)

            a._start_link = record  # type: ignore[method-assign]
            await nursery.start(a.run)
            await wait_until(_paired(a, b), 15)
            await wait_until(lambda: len(starts) >= 5, 20, "five tx link attempts")
            gaps = [t1 - t0 for t0, t1 in itertools.pairwise(starts)]
            for i, gap in enumerate(gaps[:4]):  # 0.25 s doubling, jittered x0.5-1.5
                assert gap >= 0.5 * RECONNECT_BACKOFF_MIN_S * 2**i, gaps
            assert await a.send_txs(b"tx" * 100) == 0
            await a.send_consensus(b"still-here")
            (msg,) = await collect(b, 1, MessageKind.CONSENSUS)
            assert msg.payload == b"still-here"
            nursery.cancel_scope.cancel()

    trio.run(main)


def test_stop_with_messages_in_flight() -> None:
    async def main() -> None:
        async with libp2p_nets(3) as nets:
            for i in range(300):
                await nets[0].send_consensus(b"c" * 1000 + bytes([i % 256]))
                await nets[1].publish_tx(b"t" * 1000 + bytes([i % 256]))
            # leave with everything queued: the harness cancels all three at once

    trio.run(main)


def test_consensus_latency_and_rate_report() -> None:
    """Measure one-way latency over direct streams at ~200 msg/s (printed with -s)."""

    async def main() -> None:
        async with libp2p_nets(4) as nets:
            sender, receivers = nets[0], nets[1:]
            lat: list[float] = []
            start = time.perf_counter()

            async def recv() -> None:
                async for msg in receivers[0].inbound():
                    lat.append(time.perf_counter() - float(msg.payload.split(b"|")[1]))
                    if len(lat) == 400:
                        return

            async with trio.open_nursery() as nursery:
                nursery.start_soon(recv)
                for _ in range(400):
                    await sender.send_consensus(
                        b"v" * 200 + b"|" + repr(time.perf_counter()).encode()
                    )
                    await trio.sleep(0.005)  # sleep-ok: paces the offered load, not a wait
            for net in receivers[1:]:
                assert len(await collect(net, 400)) == 400
            lat.sort()
            elapsed = time.perf_counter() - start
            print(
                f"direct consensus: {400 / elapsed:.0f} msg/s offered, "
                f"p50 {lat[200] * 1000:.1f} ms, p99 {lat[396] * 1000:.1f} ms"
            )
            assert lat[396] < 1.0

    trio.run(main)


def test_node_key_is_persistent_and_private(tmp_path: Path) -> None:
    first = load_or_create_node_key(tmp_path)
    path = tmp_path / "config" / "node_key.json"
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_node_key(tmp_path).peer_id == first.peer_id
    assert first.peer_id.startswith("12D3KooW")
    os.chmod(path, 0o644)
    with pytest.raises(NodeKeyError):
        load_or_create_node_key(tmp_path)
    os.chmod(path, 0o600)
    path.write_text('{"seed": "zz"}')
    with pytest.raises(NodeKeyError):
        load_or_create_node_key(tmp_path)
