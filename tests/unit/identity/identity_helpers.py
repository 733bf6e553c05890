"""A real single-validator node (bank + identity, as ``build_node`` wires it) on a manual
clock, with identity helpers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from qos_app.errors import NAMES
from qos_chain.execution import AppliedBlock
from qos_chain.types import TxResult
from qos_identity.module import EVENT
from qos_identity.resolver import Resolver
from qos_node.testing import TestNode, make_test_node

CHAIN_ID = "qos-test"


def make_identity_node(tmp_path: Path) -> TestNode:
    """The standard test node: ``build_node`` routes bank + identity."""
    return make_test_node(tmp_path)


@dataclass
class IdNode:
    """A test node plus helpers: submit txs, produce a block, read results, resolve."""

    t: TestNode
    nonce: int = 0

    __test__ = False

    @property
    def resolver(self) -> Resolver:
        return Resolver(self.t.app.store.get, self._scan)

    def _scan(self, lo: bytes, hi: bytes, limit: int) -> list[tuple[bytes, bytes]]:
        sql = "SELECT key, value FROM app_state WHERE key >= ? AND key < ? ORDER BY key LIMIT ?"
        rows = self.t.bundle.db.conn.execute(sql, (lo, hi, limit))
        return [(bytes(k), bytes(v)) for k, v in rows]

    def next_nonce(self) -> int:
        n = self.nonce
        self.nonce += 1
        return n

    def block(self, *raws: bytes) -> AppliedBlock:
        for raw in raws:
            self.t.node.submit_tx(raw, self.t.now())
        return self.t.produce()

    def one(self, raw: bytes) -> TxResult:
        applied = self.block(raw)
        (result,) = applied.result.tx_results
        return result


def code_of(result: TxResult) -> str:
    return NAMES.get(result.code, str(result.code))


def op_events(result: TxResult) -> list[dict[str, str]]:
    return [{a.key: a.value for a in e.attributes} for e in result.events if e.type == EVENT]
