"""Helpers for the qos_fs tests: a test node with a DID owner that signs files messages."""

from __future__ import annotations

from dataclasses import dataclass, field

from qos_app.errors import CODES
from qos_chain.execution import AppliedBlock
from qos_chain.node import TxRejected
from qos_chain.types import TxResult
from qos_fs import client as fc
from qos_fs.msgs import FsMsg
from qos_identity import client as ic
from qos_node.testing import TestNode

SENDER_SEED = bytes([5]) * 32


def seed(n: int) -> bytes:
    return bytes([n]) * 31 + b"\x02"


@dataclass
class Chain:
    tnode: TestNode
    nonce: int = 0
    applied: list[AppliedBlock] = field(default_factory=list)

    @property
    def chain_id(self) -> str:
        return self.tnode.chain_id

    def commit_raw(self, raw: bytes) -> TxResult:
        """Commit ``raw`` in a block; a tx refused by CheckTx gives its code, no block."""
        try:
            self.tnode.node.submit_tx(raw, self.tnode.now())
        except TxRejected as exc:
            self.nonce -= 1  # a refused tx consumes no nonce
            return TxResult(CODES.get(exc.code, 1), "qos", exc.message, 0, ())
        applied = self.tnode.produce()
        self.applied.append(applied)
        (result,) = applied.result.tx_results
        return result

    def commit(self, *msgs: FsMsg) -> TxResult:
        raw = fc.wrap_in_tx(self.chain_id, SENDER_SEED, self.nonce, list(msgs))
        self.nonce += 1
        return self.commit_raw(raw)

    def create_did(self, update: bytes, recovery: bytes) -> str:
        did, op = ic.create_did(self.chain_id, update, recovery)
        raw = ic.wrap_in_tx(self.chain_id, SENDER_SEED, self.nonce, [op])
        self.nonce += 1
        result = self.commit_raw(raw)
        assert result.ok, result.log
        return did
