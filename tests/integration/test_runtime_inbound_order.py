"""The runtime delivers consensus messages ahead of tx messages waiting beside them, so a
proposal or vote never queues behind the admission of tx batches."""

from __future__ import annotations

from typing import Any, cast

import trio

from qos_chain.node import ChainNode, ReceivedTxs
from qos_node.runtime import NodeRuntime
from qos_p2p.port import InboundMessage, MessageKind, Network, PeerId


class RecordingNode:
    def __init__(self) -> None:
        self.seen: list[bytes] = []

    def receive_consensus(self, payload: bytes, peer: str, now: int) -> None:
        self.seen.append(payload)

    def receive_tx(self, payload: bytes, now: int) -> ReceivedTxs:
        self.seen.append(payload)
        return ReceivedTxs(1, 2 if payload.startswith(b"bad") else 0)

    def receive_evidence(self, payload: bytes) -> None:
        self.seen.append(payload)


class ChannelNetwork:
    def __init__(self, channel: trio.MemoryReceiveChannel[InboundMessage]) -> None:
        self.channel = channel
        self.penalised: list[tuple[PeerId, str]] = []

    def penalise(self, peer: PeerId, reason: str) -> None:
        self.penalised.append((peer, reason))

    def inbound(self) -> trio.MemoryReceiveChannel[InboundMessage]:
        return self.channel


def msg(kind: MessageKind, payload: bytes, peer: str = "p") -> InboundMessage:
    return InboundMessage(PeerId(peer), kind, payload)


def test_consensus_overtakes_waiting_tx_messages() -> None:
    node = RecordingNode()

    async def main() -> None:
        send, recv = trio.open_memory_channel[InboundMessage](100)
        waiting = [
            msg(MessageKind.TX, b"tx1"),
            msg(MessageKind.TX, b"tx2"),
            msg(MessageKind.CONSENSUS, b"vote1"),
            msg(MessageKind.TX, b"tx3"),
            msg(MessageKind.EVIDENCE, b"ev1"),
            msg(MessageKind.CONSENSUS, b"vote2"),
        ]
        for m in waiting:
            send.send_nowait(m)
        send.close()
        rt = NodeRuntime(cast(ChainNode, node), cast(Network, ChannelNetwork(recv)))
        with trio.fail_after(5):
            await rt._inbound_loop()

    trio.run(main)
    # tx1 was taken first (nothing else was known); everything waiting behind it that is
    # not a tx is delivered before the queued txs, each kind in arrival order
    assert node.seen == [b"vote1", b"ev1", b"vote2", b"tx1", b"tx2", b"tx3"]


def test_a_vote_arriving_during_tx_admission_goes_next() -> None:
    node = RecordingNode()

    async def main() -> None:
        send, recv = trio.open_memory_channel[InboundMessage](100)
        for i in range(5):
            send.send_nowait(msg(MessageKind.TX, f"tx{i}".encode()))
        original = node.receive_tx

        def admit(payload: bytes, now: int) -> int:
            if payload == b"tx0":  # a vote arrives while the first batch is admitted
                send.send_nowait(msg(MessageKind.CONSENSUS, b"vote"))
                send.close()
            return original(payload, now)

        node.receive_tx = admit  # type: ignore[method-assign]
        rt: Any = NodeRuntime(cast(ChainNode, node), cast(Network, ChannelNetwork(recv)))
        with trio.fail_after(5):
            await rt._inbound_loop()

    trio.run(main)
    assert node.seen == [b"tx0", b"vote", b"tx1", b"tx2", b"tx3", b"tx4"]


def test_invalid_txs_in_a_delivered_message_count_against_its_peer() -> None:
    node = RecordingNode()
    send, recv = trio.open_memory_channel[InboundMessage](100)
    net = ChannelNetwork(recv)

    async def main() -> None:
        send.send_nowait(msg(MessageKind.TX, b"good", "honest"))
        send.send_nowait(msg(MessageKind.TX, b"bad-sigs", "liar"))
        send.close()
        rt = NodeRuntime(cast(ChainNode, node), cast(Network, net))
        with trio.fail_after(5):
            await rt._inbound_loop()

    trio.run(main)
    assert node.seen == [b"good", b"bad-sigs"]
    assert net.penalised == [(PeerId("liar"), "2 invalid txs in a TX message")]


def test_a_vote_behind_a_large_tx_backlog_goes_first() -> None:
    """However many tx messages wait ahead of it, a vote is delivered before the next tx
    admission (the reviewer's case had it wait ~940 admissions behind 1,000)."""
    node = RecordingNode()

    async def main() -> None:
        send, recv = trio.open_memory_channel[InboundMessage](8192)
        for i in range(8000):
            send.send_nowait(msg(MessageKind.TX, f"tx{i}".encode()))
        send.send_nowait(msg(MessageKind.CONSENSUS, b"vote"))
        send.close()
        rt = NodeRuntime(cast(ChainNode, node), cast(Network, ChannelNetwork(recv)))
        with trio.fail_after(10):
            await rt._inbound_loop()
        assert rt.txs_dropped == 0

    trio.run(main)
    assert node.seen[0] == b"vote"
    assert node.seen[1:] == [f"tx{i}".encode() for i in range(8000)]


def test_tx_messages_over_the_backlog_byte_bound_are_dropped_and_counted() -> None:
    node = RecordingNode()
    payloads = [bytes([i]) * 1000 for i in range(50)]

    async def main() -> None:
        send, recv = trio.open_memory_channel[InboundMessage](100)
        for p in payloads[:25]:
            send.send_nowait(msg(MessageKind.TX, p))
        send.send_nowait(msg(MessageKind.CONSENSUS, b"vote1"))
        for p in payloads[25:]:
            send.send_nowait(msg(MessageKind.TX, p))
        send.send_nowait(msg(MessageKind.EVIDENCE, b"ev"))
        send.close()
        rt = NodeRuntime(
            cast(ChainNode, node), cast(Network, ChannelNetwork(recv)), tx_backlog_bytes=10_000
        )
        with trio.fail_after(5):
            await rt._inbound_loop()
        # the first 10 fill the 10,000-byte backlog; the other 40 are dropped, counted
        assert rt.txs_dropped == 40
        assert rt._backlog_size == 0

    trio.run(main)
    assert node.seen == [b"vote1", b"ev", *payloads[:10]]
