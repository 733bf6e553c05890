"""Read side of the credential state for the API, the CLI and verifiers.

``CredentialReader(get, scan, reverse_scan=None)`` reads through the same ``get`` /
``scan`` pair as ``qos_identity.resolver.Resolver`` (use
``qos_identity.resolver.sqlite_reader(conn)`` for a read-only SQLite connection, or
``sqlite_reverse_scan(conn)`` for ``order_by="HEIGHT_DESC"``).

``credentials(...)`` answers from one secondary index chosen by selectivity (subject >
issuer > schema > type > all), scanned by prefix from the Relay cursor, so a page costs
O(first) index reads plus one anchor read per candidate whatever the number of
credentials; the other filters (``status``, ``valid_at``, and the indexes not chosen) are
applied to candidates, with at most ``MAX_EXAMINED`` examined per page (the page then
ends early with ``has_next_page`` and a cursor to continue from).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from qos_chain import codec
from qos_identity.credentials.state import (
    ALL,
    BY_ISSUER,
    BY_SCHEMA,
    BY_SUBJECT,
    BY_TYPE,
    LIST_BITS,
    CredentialAnchor,
    Purpose,
    SchemaRecord,
    StatusListMeta,
    index_prefix,
    list_bits,
    list_meta_key,
    load_anchor,
    load_issuer,
    load_schema,
    schema_name_key,
    status_bit,
)
from qos_identity.resolver import Scanner
from qos_identity.state import Getter

MAX_PAGE = 1000
MAX_EXAMINED = 5000
STATUSES = ("active", "revoked", "suspended")
ORDERS = ("HEIGHT_ASC", "HEIGHT_DESC")
_POS_BYTES = 40  # u64 height + 32-byte digest


@dataclass(frozen=True, slots=True)
class CredentialView:
    anchor: CredentialAnchor
    revoked: bool
    suspended: bool
    cursor: str

    @property
    def id(self) -> str:
        return self.anchor.digest.hex()

    @property
    def status(self) -> str:
        return "revoked" if self.revoked else "suspended" if self.suspended else "active"

    def valid_at(self, at: int) -> bool:
        a = self.anchor
        return (a.valid_from is None or a.valid_from <= at) and (
            a.valid_until is None or at <= a.valid_until
        )


@dataclass(frozen=True, slots=True)
class CredentialPage:
    items: tuple[CredentialView, ...]
    end_cursor: str | None
    has_next_page: bool


def parse_credential_id(cid: str) -> bytes | None:
    """A credential id is the hex sha256 digest (``urn:qos:credential:`` prefix optional)."""
    text = cid.removeprefix("urn:qos:credential:")
    if len(text) != 64:
        return None
    try:
        return bytes.fromhex(text)
    except ValueError:
        return None


def _next_prefix(prefix: bytes) -> bytes:
    return prefix[:-1] + bytes([prefix[-1] + 1])


class CredentialReader:
    def __init__(self, get: Getter, scan: Scanner, reverse_scan: Scanner | None = None) -> None:
        self._get = get
        self._scan = scan
        self._rscan = reverse_scan

    @property
    def get(self) -> Getter:
        return self._get

    # ------------------------------------------------------------------ single reads

    def anchor(self, digest: bytes) -> CredentialAnchor | None:
        return load_anchor(self._get, digest)

    def get_credential(self, cid: str) -> CredentialView | None:
        digest = parse_credential_id(cid)
        anchor = None if digest is None else load_anchor(self._get, digest)
        return None if anchor is None else self._view(anchor)

    def _view(self, anchor: CredentialAnchor) -> CredentialView:
        revoked = status_bit(self._get, anchor.issuer, Purpose.REVOCATION, anchor.status_index)
        suspended = status_bit(self._get, anchor.issuer, Purpose.SUSPENSION, anchor.status_index)
        cursor = (anchor.height.to_bytes(8, "big") + anchor.digest).hex()
        return CredentialView(anchor, revoked, suspended, cursor)

    def schema(self, schema_id: str) -> SchemaRecord | None:
        return load_schema(self._get, schema_id)

    def schema_version(self, author: str, name: str, version: int) -> SchemaRecord | None:
        raw = self._get(schema_name_key(author, name, version))
        return None if raw is None else self.schema(raw.decode())

    def next_status_index(self, issuer: str) -> int:
        return load_issuer(self._get, issuer).next_index

    def status_sequence(self, issuer: str) -> int:
        return load_issuer(self._get, issuer).sequence

    def anchored_count(self, issuer: str) -> int:
        return load_issuer(self._get, issuer).anchored

    def is_set(self, issuer: str, purpose: str, index: int) -> bool:
        return status_bit(self._get, issuer, Purpose.of(purpose), index)

    def list_bits(self, issuer: str, purpose: str, list_id: int) -> bytes:
        return list_bits(self._get, issuer, Purpose.of(purpose), list_id)

    def list_meta(self, issuer: str, purpose: str, list_id: int) -> StatusListMeta | None:
        raw = self._get(list_meta_key(issuer, Purpose.of(purpose), list_id))
        return None if raw is None else codec.decode(StatusListMeta, raw)

    def list_count(self, issuer: str) -> int:
        """How many status lists the issuer's assigned indexes span."""
        n = load_issuer(self._get, issuer).next_index
        return (n + LIST_BITS - 1) // LIST_BITS

    # ------------------------------------------------------------------ queries

    def credentials(
        self,
        *,
        subject: str | None = None,
        issuer: str | None = None,
        schema: str | None = None,
        type: str | None = None,
        status: str | None = None,
        valid_at: int | None = None,
        first: int = 50,
        after: str | None = None,
        order_by: str = "HEIGHT_ASC",
    ) -> CredentialPage:
        """Relay page of anchored credentials matching every given filter."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        if order_by not in ORDERS:
            raise ValueError(f"order_by must be one of {ORDERS}")
        desc = order_by == "HEIGHT_DESC"
        if desc and self._rscan is None:
            raise ValueError("HEIGHT_DESC needs a reader built with reverse_scan")
        first = max(0, min(first, MAX_PAGE))
        for kind, value in (
            (BY_SUBJECT, subject), (BY_ISSUER, issuer), (BY_SCHEMA, schema), (BY_TYPE, type),
        ):  # fmt: skip
            if value is not None:
                prefix = index_prefix(kind, value)
                break
        else:
            prefix = ALL
        lo, hi = prefix, _next_prefix(prefix)
        if after is not None:
            try:
                pos = bytes.fromhex(after)
            except ValueError:
                raise ValueError("malformed cursor") from None
            if len(pos) != _POS_BYTES:
                raise ValueError("malformed cursor")
            if desc:
                hi = prefix + pos
            else:
                lo = prefix + pos + b"\x00"
        items: list[CredentialView] = []
        examined = 0
        last: str | None = after
        batch = min(max(first + 1, 16), 512)
        while True:
            rows = (self._rscan if desc else self._scan)(lo, hi, batch)  # type: ignore[misc]
            for key, _ in rows:
                pos = key[len(prefix) :]
                examined += 1
                anchor = load_anchor(self._get, pos[8:])
                if anchor is None:  # pragma: no cover - written together
                    continue
                view = self._view(anchor)
                if self._matches(
                    view, subject=subject, issuer=issuer, schema=schema, type_=type,
                    status=status, valid_at=valid_at,
                ):  # fmt: skip
                    if len(items) == first:
                        return CredentialPage(tuple(items), last, True)
                    items.append(view)
                last = pos.hex()
                if examined >= MAX_EXAMINED and len(items) < first:
                    return CredentialPage(tuple(items), last, True)
            if len(rows) < batch:
                return CredentialPage(tuple(items), items[-1].cursor if items else after, False)
            tail = rows[-1][0]
            if desc:
                hi = tail
            else:
                lo = tail + b"\x00"

    @staticmethod
    def _matches(
        v: CredentialView,
        *,
        subject: str | None,
        issuer: str | None,
        schema: str | None,
        type_: str | None,
        status: str | None,
        valid_at: int | None,
    ) -> bool:
        a = v.anchor
        return (
            (subject is None or a.subject == subject)
            and (issuer is None or a.issuer == issuer)
            and (schema is None or a.schema_id == schema)
            and (type_ is None or type_ in a.types)
            and (status is None or v.status == status)
            and (valid_at is None or v.valid_at(valid_at))
        )


def sqlite_reverse_scan(conn: sqlite3.Connection) -> Scanner:
    """``scan`` in descending key order (keys ``lo <= k < hi``), for ``HEIGHT_DESC``."""

    def scan(lo: bytes, hi: bytes, limit: int) -> list[tuple[bytes, bytes]]:
        sql = (
            "SELECT key, value FROM app_state WHERE key >= ? AND key < ? ORDER BY key DESC LIMIT ?"
        )
        return [(bytes(k), bytes(v)) for k, v in conn.execute(sql, (lo, hi, limit))]

    return scan
