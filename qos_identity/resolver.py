"""DID resolution (W3C DID Resolution, the result shape of section 4 / 7) over any reader.

``Resolver(get, scan=None)`` reads state through ``get(key) -> bytes | None`` (the app's
``MerkleStore.get``, a ``CacheKV.get`` or a read-only SQLite reader: see
``sqlite_reader``); ``scan(lo, hi, limit)`` (keys ``lo <= k < hi`` in order) is only
needed for ``identities_by_controller``.

``resolve`` handles ``did:qos`` (from state, any version by ``version_id`` or
``version_time``) and ``did:key`` (locally). Errors are reported in
``didResolutionMetadata.error``, never raised: ``invalidDid``, ``notFound``,
``methodNotSupported``, ``representationNotSupported``, ``invalidOptions`` (both or a
malformed version selector) and did:key's ``invalidPublicKeyType``. A deactivated DID
resolves with ``didDocumentMetadata.deactivated = true`` and a document holding only its
id. Suggested HTTP statuses (Universal Resolver): see ``HTTP_STATUS``.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from qos_identity.didkey import did_key_document
from qos_identity.document import (
    DID_KEY_PREFIX,
    DID_QOS_PREFIX,
    DidDocument,
    check_did_qos,
)
from qos_identity.errors import InvalidDid, MultikeyError
from qos_identity.method import OpKind
from qos_identity.state import (
    DidState,
    Getter,
    VersionEntry,
    controller_prefix,
    link_key,
    load_state,
    load_version,
)

Scanner = Callable[[bytes, bytes, int], Sequence[tuple[bytes, bytes]]]

DID_LD_JSON = "application/did+ld+json"
DID_JSON = "application/did+json"
DID_RESOLUTION = "application/did-resolution"
RESOLUTION_CONTEXT = "https://w3id.org/did-resolution/v1"
MAX_PAGE = 1000

HTTP_STATUS = {
    None: 200,
    "invalidDid": 400,
    "invalidOptions": 400,
    "invalidPublicKeyType": 400,
    "notFound": 404,
    "representationNotSupported": 406,
    "deactivated": 410,  # not an error code: use when didDocumentMetadata.deactivated
    "methodNotSupported": 501,
}


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def xml_datetime(time_ns: int) -> str:
    """DID Core 7.1.3 timestamps: UTC, second precision, ``Z``."""
    t = dt.datetime.fromtimestamp(time_ns // 10**9, tz=dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_version_time(text: str) -> int:
    """An XML/RFC 3339 datetime -> Unix seconds; ``ValueError`` if malformed."""
    t = dt.datetime.fromisoformat(text)
    if t.tzinfo is None:
        raise ValueError("versionTime needs a time zone (use Z)")
    return (t - _EPOCH) // dt.timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class DocumentMetadata:
    created: str | None = None
    updated: str | None = None
    deactivated: bool = False
    version_id: str | None = None
    next_version_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.created is not None:
            out["created"] = self.created
        if self.updated is not None:
            out["updated"] = self.updated
        if self.version_id is not None:
            out["deactivated"] = self.deactivated
            out["versionId"] = self.version_id
        if self.next_version_id is not None:
            out["nextVersionId"] = self.next_version_id
        return out


@dataclass(frozen=True, slots=True)
class ResolutionResult:
    did: str
    document: DidDocument | None
    metadata: DocumentMetadata
    content_type: str | None = DID_LD_JSON
    error: str | None = None
    error_message: str | None = None

    @property
    def http_status(self) -> int:
        if self.error is None and self.metadata.deactivated:
            return HTTP_STATUS["deactivated"]
        return HTTP_STATUS.get(self.error, 500)

    def did_document_json(self) -> dict[str, Any] | None:
        if self.document is None:
            return None
        return self.document.to_json(with_context=self.content_type != DID_JSON)

    def resolution_metadata(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.content_type is not None and self.error is None:
            out["contentType"] = self.content_type
        if self.error is not None:
            out["error"] = self.error
            if self.error_message:
                out["errorMessage"] = self.error_message
        return out

    def to_json(self) -> dict[str, Any]:
        """The ``application/did-resolution`` body."""
        return {
            "@context": RESOLUTION_CONTEXT,
            "didDocument": self.did_document_json(),
            "didResolutionMetadata": self.resolution_metadata(),
            "didDocumentMetadata": self.metadata.to_json(),
        }


@dataclass(frozen=True, slots=True)
class VersionInfo:
    version_id: str
    version_time: str
    time_ns: int
    height: int
    op: str
    deactivated: bool
    sender: bytes
    document: DidDocument


@dataclass(frozen=True, slots=True)
class IdentityPage:
    dids: tuple[str, ...]
    end_cursor: str | None
    has_next_page: bool


def _error(did: str, code: str, message: str) -> ResolutionResult:
    return ResolutionResult(did, None, DocumentMetadata(), None, code, message)


class Resolver:
    def __init__(self, get: Getter, scan: Scanner | None = None) -> None:
        self._get = get
        self._scan = scan

    # ------------------------------------------------------------------ resolve

    def resolve(
        self,
        did: str,
        version_id: str | None = None,
        version_time: str | None = None,
        *,
        accept: str = DID_LD_JSON,
    ) -> ResolutionResult:
        if accept not in (DID_LD_JSON, DID_JSON):
            return _error(did, "representationNotSupported", f"cannot produce {accept}")
        if did.startswith(DID_KEY_PREFIX):
            if version_id is not None or version_time is not None:
                return _error(did, "invalidOptions", "did:key has a single version")
            return self._resolve_key(did, accept)
        if not did.startswith("did:") or len(did.split(":", 2)) < 3:
            return _error(did, "invalidDid", f"{did!r} is not a DID")
        if not did.startswith(DID_QOS_PREFIX):
            return _error(did, "methodNotSupported", f"method {did.split(':')[1]!r}")
        try:
            check_did_qos(did)
        except InvalidDid as exc:
            return _error(did, "invalidDid", exc.message)
        if version_id is not None and version_time is not None:
            return _error(did, "invalidOptions", "give versionId or versionTime, not both")
        state = load_state(self._get, did)
        if state is None:
            return _error(did, "notFound", f"{did} is not registered")
        version = state.version
        if version_id is not None:
            if not version_id.isdigit() or not 1 <= int(version_id) <= state.version:
                return _error(did, "notFound", f"{did} has no version {version_id!r}")
            version = int(version_id)
        elif version_time is not None:
            try:
                at = parse_version_time(version_time)
            except ValueError as exc:
                return _error(did, "invalidOptions", f"versionTime: {exc}")
            found = self._version_at(did, state, at)
            if found is None:
                return _error(did, "notFound", f"{did} did not exist at {version_time}")
            version = found
        if version == state.version:
            meta = self._metadata(state, version, state.updated_ns, state.deactivated)
            return ResolutionResult(did, state.document, meta, accept)
        entry = self._entry(did, version)
        return ResolutionResult(
            did,
            entry.document,
            self._metadata(state, version, entry.time_ns, entry.deactivated),
            accept,
        )

    @staticmethod
    def _metadata(state: DidState, version: int, time_ns: int, gone: bool) -> DocumentMetadata:
        return DocumentMetadata(
            created=xml_datetime(state.created_ns),
            updated=xml_datetime(time_ns) if version > 1 else None,
            deactivated=gone,
            version_id=str(version),
            next_version_id=str(version + 1) if version < state.version else None,
        )

    def _resolve_key(self, did: str, accept: str) -> ResolutionResult:
        try:
            doc = did_key_document(did)
        except MultikeyError as exc:
            code = "invalidPublicKeyType" if "multicodec" in exc.message else "invalidDid"
            return _error(did, code, exc.message)
        except InvalidDid as exc:
            return _error(did, "invalidDid", exc.message)
        return ResolutionResult(did, doc, DocumentMetadata(), accept)

    def _entry(self, did: str, version: int) -> VersionEntry:
        entry = load_version(self._get, did, version)
        if entry is None:  # pragma: no cover - written with every state change
            raise RuntimeError(f"identity state is missing version {version} of {did}")
        return entry

    def _version_at(self, did: str, state: DidState, at_s: int) -> int | None:
        """Largest version whose block time (in whole seconds) is <= ``at_s``."""
        lo, hi, best = 1, state.version, None
        while lo <= hi:
            mid = (lo + hi) // 2
            if self._entry(did, mid).time_ns // 10**9 <= at_s:
                best, lo = mid, mid + 1
            else:
                hi = mid - 1
        return best

    # ------------------------------------------------------------------ other reads

    def state(self, did: str) -> DidState | None:
        return load_state(self._get, did)

    def history(self, did: str) -> list[VersionInfo]:
        """Every version, oldest first (empty if ``did`` is unknown)."""
        state = load_state(self._get, did)
        if state is None:
            return []
        out = []
        for v in range(1, state.version + 1):
            e = self._entry(did, v)
            out.append(
                VersionInfo(
                    str(v), xml_datetime(e.time_ns), e.time_ns, e.height, OpKind(e.op).label,
                    e.deactivated, e.sender, e.document,
                )
            )  # fmt: skip
        return out

    def identities_by_controller(
        self, controller: str, first: int = 50, after: str | None = None
    ) -> IdentityPage:
        """DIDs whose controllers include ``controller`` (a DID, or ``did:key`` of a key)."""
        if self._scan is None:
            raise RuntimeError("this Resolver was built without a scan function")
        first = max(0, min(first, MAX_PAGE))
        prefix = controller_prefix(controller)
        lo = prefix if after is None else prefix + after.encode() + b"\x00"
        hi = prefix[:-1] + bytes([prefix[-1] + 1])
        rows = self._scan(lo, hi, first + 1)
        dids = tuple(k[len(prefix) :].decode() for k, _ in rows[:first])
        return IdentityPage(dids, dids[-1] if dids else after, len(rows) > first)

    def is_linked(self, did: str, commitment: bytes) -> bool:
        return self._get(link_key(did, commitment)) is not None


def sqlite_reader(conn: sqlite3.Connection) -> tuple[Getter, Scanner]:
    """``get`` and ``scan`` over the app's ``app_state`` table (any connection, e.g. a
    read-only WAL reader beside the writer)."""

    def get(key: bytes) -> bytes | None:
        row = conn.execute("SELECT value FROM app_state WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def scan(lo: bytes, hi: bytes, limit: int) -> list[tuple[bytes, bytes]]:
        sql = "SELECT key, value FROM app_state WHERE key >= ? AND key < ? ORDER BY key LIMIT ?"
        return [(bytes(k), bytes(v)) for k, v in conn.execute(sql, (lo, hi, limit))]

    return get, scan
