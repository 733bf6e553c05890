"""Helpers for the credential API tests: DIDs, schemas, credentials and status changes
committed on the test node (a plain module, like did_helpers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qos_app.errors import NAMES
from qos_chain.types import TxResult
from qos_identity import client as idc
from qos_identity.credentials import client as vc
from qos_identity.credentials.crypto_box import x25519_private_from_seed, x25519_public_from_private
from qos_identity.credentials.ops import CredentialOp, StatusAction
from qos_identity.credentials.reader import CredentialReader, sqlite_reverse_scan
from qos_identity.method import DidOperation
from qos_identity.resolver import sqlite_reader
from qos_node.testing import FAUCET_SEED, TestNode

BASE = "http://qos.test"
CREATED = "2026-01-01T00:00:05Z"
KA_SEED = b"\x42" * 32
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["credentialSubject"],
    "properties": {
        "credentialSubject": {
            "type": "object",
            "required": ["id", "role"],
            "properties": {"role": {"type": "string", "enum": ["engineer", "manager"]}},
        }
    },
}


@dataclass
class Party:
    did: str
    seed: bytes

    @property
    def key(self) -> str:
        return f"{self.did}#key-1"


@dataclass
class Vc:
    """Signs and commits identity and credential operations from the faucet account."""

    t: TestNode
    nonce: int = 0

    __test__ = False

    @property
    def chain_id(self) -> str:
        return self.t.chain_id

    @property
    def reader(self) -> CredentialReader:
        conn = self.t.bundle.db.conn
        return CredentialReader(*sqlite_reader(conn), sqlite_reverse_scan(conn))

    def tx(self, *ops: CredentialOp) -> bytes:
        raw = vc.wrap_in_tx(self.chain_id, FAUCET_SEED, self.nonce, list(ops))
        self.nonce += 1
        return raw

    def commit_raw(self, raw: bytes) -> TxResult:
        self.t.node.submit_tx(raw, self.t.now())
        (result,) = self.t.produce().result.tx_results
        return result

    def run(self, *ops: CredentialOp) -> TxResult:
        return self.commit_raw(self.tx(*ops))

    def ok(self, *ops: CredentialOp) -> TxResult:
        r = self.run(*ops)
        assert r.ok, (NAMES.get(r.code), r.log)
        return r

    def id_commit(self, op: DidOperation) -> None:
        raw = idc.wrap_in_tx(self.chain_id, FAUCET_SEED, self.nonce, [op])
        self.nonce += 1
        r = self.commit_raw(raw)
        assert r.ok, r.log

    def party(self, n: int, *, key_agreement: bool = False) -> Party:
        seed, recovery = bytes([n]) * 32, bytes([n + 100]) * 32
        ka = (
            x25519_public_from_private(x25519_private_from_seed(KA_SEED)) if key_agreement else None
        )
        did, op = idc.create_did(self.chain_id, seed, recovery, key_agreement=ka)
        self.id_commit(op)
        return Party(did, seed)

    def schema(self, author: Party, name: str = "employment") -> str:
        sid, op = vc.register_schema_op(
            self.chain_id, author.did, name, 1, SCHEMA, seed=author.seed, signer=author.key
        )
        self.ok(op)
        return sid

    def credential(
        self,
        issuer: Party,
        subject: Party,
        sid: str | None,
        *,
        role: str = "engineer",
        types: tuple[str, ...] = ("EmploymentCredential",),
        index: int | None = None,
        valid_until: str | None = None,
        seed: bytes | None = None,
        signer: str | None = None,
    ) -> dict[str, Any]:
        idx = self.reader.next_status_index(issuer.did) if index is None else index
        cred = vc.build_credential(
            issuer.did,
            subject.did,
            {"role": role},
            types=types,
            valid_from="2026-01-01T00:00:00Z",
            valid_until=valid_until,
            schema_id=sid,
            status_index=idx,
            status_base_url=BASE,
        )
        return vc.issue(cred, seed or issuer.seed, signer or issuer.key, CREATED)

    def anchor(self, issuer: Party, cred: dict[str, Any], delivery: str = "") -> str:
        r = self.ok(vc.anchor_op(self.chain_id, cred, issuer.seed, issuer.key, delivery=delivery))
        (ev,) = [e for e in r.events if e.type == "credential_anchored"]
        return next(a.value for a in ev.attributes if a.key == "id")

    def status(self, issuer: Party, action: StatusAction, indexes: list[int]) -> TxResult:
        seq = self.reader.status_sequence(issuer.did)
        return self.ok(
            vc.change_status_op(
                self.chain_id,
                issuer.did,
                seq,
                action,
                indexes,
                seed=issuer.seed,
                signer=issuer.key,
            )
        )
