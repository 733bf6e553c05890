"""An in-process cluster of real ChainNodes (real SQLite, real signers, real engine) wired
by a deterministic message router on a manual clock. Used by multi-validator tests; the
libp2p runtime does the same routing over the network."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from qos_chain.abci import Application
from qos_chain.consensus.solo import SoloConfig
from qos_chain.consensus.timeouts import TimeoutConfig
from qos_chain.consensus.wal import ConsensusWal
from qos_chain.db import open_database
from qos_chain.execution import AppliedBlock, BlockExecutor
from qos_chain.genesis import ConsensusParams, Genesis
from qos_chain.mempool.pool import Mempool
from qos_chain.node import ChainNode
from qos_chain.privval import FilePrivValidator, generate_key_file
from qos_chain.replica import PublishEvidence, PublishTx, RequestBlocks, SendConsensus
from qos_chain.store import BlockStore
from qos_chain.testing.kvapp import KVApp
from qos_chain.types import Validator

GENESIS_NS = 1_767_225_600 * 10**9
FAST = TimeoutConfig(
    propose_ns=300_000_000,
    propose_delta_ns=100_000_000,
    prevote_ns=200_000_000,
    prevote_delta_ns=100_000_000,
    precommit_ns=200_000_000,
    precommit_delta_ns=100_000_000,
    commit_ns=100_000_000,
)


@dataclass
class Member:
    name: str
    root: Path
    make_app: Callable[[], Application]
    node: ChainNode | None = None
    blocks: list[AppliedBlock] = field(default_factory=list)
    up: bool = True


class Cluster:
    def __init__(
        self,
        root: Path,
        n: int,
        *,
        followers: int = 0,
        timeouts: TimeoutConfig = FAST,
        make_app: Callable[[], Application] = KVApp,
    ) -> None:
        self.clock = GENESIS_NS + 10**9
        self.timeouts = timeouts
        self.members: list[Member] = []
        vals = []
        for i in range(n + followers):
            d = root / f"n{i}"
            d.mkdir(parents=True)
            pk = generate_key_file(d / "key.json")
            if i < n:  # the rest are full nodes: not in the validator set
                vals.append(Validator(pk, 10))
            self.members.append(Member(f"n{i}", d, make_app))
        self.genesis = Genesis("qos-cluster", GENESIS_NS, 1, tuple(vals), ConsensusParams(), b"{}")
        self.partitioned: set[str] = set()
        for m in self.members:
            self.start(m)

    def start(self, m: Member) -> None:
        db = open_database(m.root / "chain.db")
        store = BlockStore(db)
        app = m.make_app()
        node = ChainNode(
            genesis=self.genesis,
            store=store,
            app=app,
            executor=BlockExecutor(db, store, app),
            mempool=Mempool(),
            privval=FilePrivValidator(m.root / "key.json", m.root / "signer.json"),
            solo=SoloConfig(),
            timeouts=self.timeouts,
            wal=ConsensusWal(m.root / "cs.wal"),
        )
        node.add_listener(m.blocks.append)
        node.start(self.clock)
        m.node = node
        m.up = True

    def crash(self, m: Member) -> None:
        """Drop the node object without any shutdown (its last write is on disk)."""
        assert m.node is not None
        m.node.store.db.close()
        if m.node.wal is not None:
            m.node.wal.close()
        m.node = None
        m.up = False

    def _live(self) -> list[Member]:
        return [m for m in self.members if m.up and m.node is not None]

    def _deliver(self) -> int:
        moved = 0
        for m in self._live():
            assert m.node is not None
            for eff in m.node.take_outbox():
                moved += 1
                if m.name in self.partitioned:
                    continue
                targets = [t for t in self._live() if t is not m and t.name not in self.partitioned]
                if isinstance(eff, SendConsensus):
                    for t in targets:
                        if eff.peer is None or eff.peer == t.name:
                            assert t.node is not None
                            if t.node.check_consensus(eff.payload).value == "accept":
                                t.node.receive_consensus(eff.payload, m.name, self.clock)
                elif isinstance(eff, PublishTx):
                    for t in targets:
                        assert t.node is not None
                        t.node.receive_tx(eff.payload, self.clock)
                elif isinstance(eff, PublishEvidence):
                    for t in targets:
                        assert t.node is not None
                        t.node.receive_evidence(eff.payload)
                elif isinstance(eff, RequestBlocks):
                    src = next((t for t in targets if t.name == eff.peer), None)
                    if src is not None and src.node is not None:
                        m.node.apply_synced(src.node.serve_blocks(eff.start, eff.count), self.clock)
        return moved

    def run_until(self, cond: Callable[[], bool], max_sim_s: float = 60.0) -> None:
        """Deliver messages and advance the clock to the next deadline until ``cond``."""
        end = self.clock + int(max_sim_s * 1e9)
        while not cond():
            if self.clock > end:
                raise AssertionError("condition not reached within the simulated time")
            while self._deliver():
                pass
            if cond():
                return
            deadlines = []
            for m in self._live():
                assert m.node is not None
                d = m.node.step(self.clock)
                if d is not None:
                    deadlines.append(d)
            if self._deliver():
                continue
            self.clock = max(self.clock + 1_000_000, min(deadlines, default=self.clock + 10**8))

    def safety(self) -> None:
        """No two members committed different blocks at one height; app hashes agree."""
        seen: dict[int, tuple[bytes, bytes]] = {}
        for m in self.members:
            for a in m.blocks:
                h = a.block.header.height
                key = (a.block.hash(), a.result.app_hash)
                assert seen.setdefault(h, key) == key, f"fork at height {h} ({m.name})"

    def heights(self) -> list[int]:
        return [m.node.state.last_block_height for m in self._live() if m.node is not None]
