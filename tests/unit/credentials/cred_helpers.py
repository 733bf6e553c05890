"""A real node (``qos_node.wiring.build_node``: bank + identity + credentials) on a manual
clock, with helpers to create DIDs, submit credential operations and read state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qos_app.errors import NAMES
from qos_chain.execution import AppliedBlock
from qos_chain.sign import public_key_of
from qos_chain.types import TxResult
from qos_identity import client as idc
from qos_identity.credentials import client as vc
from qos_identity.credentials.keys import DocumentAt
from qos_identity.credentials.ops import CredentialOp
from qos_identity.credentials.reader import CredentialReader, sqlite_reverse_scan
from qos_identity.credentials.verify import identity_documents
from qos_identity.method import DidOperation
from qos_identity.resolver import sqlite_reader
from qos_node.testing import FAUCET_SEED, TestNode

CHAIN_ID = "qos-test"


@dataclass
class Party:
    did: str
    seed: bytes
    recovery: bytes

    @property
    def key(self) -> str:
        return f"{self.did}#key-1"


@dataclass
class VcNode:
    t: TestNode
    nonce: int = 0

    __test__ = False

    @property
    def reader(self) -> CredentialReader:
        conn = self.t.bundle.db.conn
        get, scan = sqlite_reader(conn)
        return CredentialReader(get, scan, sqlite_reverse_scan(conn))

    @property
    def documents(self) -> DocumentAt:
        return identity_documents(sqlite_reader(self.t.bundle.db.conn)[0])

    @property
    def now_s(self) -> int:
        return self.t.clock_ns // 10**9

    def block(self, *raws: bytes) -> AppliedBlock:
        for raw in raws:
            self.t.node.submit_tx(raw, self.t.now())
        return self.t.produce()

    def tx(self, *ops: CredentialOp) -> bytes:
        raw = vc.wrap_in_tx(CHAIN_ID, FAUCET_SEED, self.nonce, list(ops))
        self.nonce += 1
        return raw

    def id_tx(self, *ops: DidOperation) -> bytes:
        raw = idc.wrap_in_tx(CHAIN_ID, FAUCET_SEED, self.nonce, list(ops))
        self.nonce += 1
        return raw

    def one(self, raw: bytes) -> TxResult:
        (result,) = self.block(raw).result.tx_results
        return result

    def run(self, *ops: CredentialOp) -> TxResult:
        return self.one(self.tx(*ops))

    def create_party(self, n: int, *, key_agreement: bytes | None = None) -> Party:
        seed, recovery = bytes([n]) * 32, bytes([n + 100]) * 32
        did, op = idc.create_did(CHAIN_ID, seed, recovery, key_agreement=key_agreement)
        r = self.one(self.id_tx(op))
        assert code_of(r) == "ok", r.log
        return Party(did, seed, recovery)

    def state_rows(self) -> list[tuple[bytes, bytes]]:
        rows = self.t.bundle.db.conn.execute(
            "SELECT key, value FROM app_state WHERE key >= ? AND key < ? ORDER BY key",
            (b"vc/", b"vc0"),
        )
        return [(bytes(k), bytes(v)) for k, v in rows]


def code_of(result: TxResult) -> str:
    return NAMES.get(result.code, str(result.code))


def events(result: TxResult, kind: str) -> list[dict[str, str]]:
    return [{a.key: a.value for a in e.attributes} for e in result.events if e.type == kind]


def public(seed: bytes) -> bytes:
    return public_key_of(seed)


SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["credentialSubject"],
    "properties": {
        "credentialSubject": {
            "type": "object",
            "required": ["id", "role"],
            "properties": {
                "role": {"type": "string", "enum": ["engineer", "manager"]},
                "level": {"type": "integer", "minimum": 1, "maximum": 9},
            },
        }
    },
}
