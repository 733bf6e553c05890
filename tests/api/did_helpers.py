"""Helpers for the identity API tests: sign did:qos operations and commit them on the
test node (a plain module, like api_helpers)."""

from __future__ import annotations

from dataclasses import dataclass, field

from qos_chain.execution import AppliedBlock
from qos_chain.sign import public_key_of
from qos_identity import client as c
from qos_identity.didkey import did_key_of
from qos_identity.method import DidOperation, MsgDidBatch
from qos_node.testing import TestNode

SENDER_SEED = bytes([3]) * 32


def seed(n: int) -> bytes:
    return bytes([n]) * 31 + b"\x01"


def did_key(seed_: bytes) -> str:
    return did_key_of(public_key_of(seed_))


@dataclass
class Dids:
    """Signs and commits identity operations from one sender account (fees 0)."""

    tnode: TestNode
    sender: bytes = SENDER_SEED
    nonce: int = 0
    applied: list[AppliedBlock] = field(default_factory=list)

    @property
    def chain_id(self) -> str:
        return self.tnode.chain_id

    def tx(self, *ops: DidOperation | MsgDidBatch) -> bytes:
        raw = c.wrap_in_tx(self.chain_id, self.sender, self.nonce, list(ops))
        self.nonce += 1
        return raw

    def commit(self, *ops: DidOperation | MsgDidBatch) -> AppliedBlock:
        self.tnode.node.submit_tx(self.tx(*ops), self.tnode.now())
        applied = self.tnode.produce()
        results = applied.result.tx_results
        assert len(results) == 1
        assert results[0].ok, results[0].log
        self.applied.append(applied)
        return applied

    def create(self, update: bytes, recovery: bytes, **kw: object) -> str:
        did, op = c.create_did(self.chain_id, update, recovery, **kw)  # type: ignore[arg-type]
        self.commit(op)
        return did
