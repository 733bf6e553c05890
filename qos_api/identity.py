"""GraphQL types and resolvers of the identity API (did:qos on chain, did:key locally).

* ``resolveDid`` returns the W3C DID Resolution result; resolution errors (``invalidDid``,
  ``notFound``, ``methodNotSupported``, ``invalidOptions``, ...) are data in
  ``didResolutionMetadata.error``, as the W3C spec has it, never GraphQL errors.
* ``identity``, ``identities`` and ``identityEvents`` refuse a malformed argument with a
  GraphQL error whose ``extensions.code`` is the W3C code (``invalidDid``,
  ``methodNotSupported``); an unknown DID is ``null``.
* Nested traversal (``controllers { controllers { history } }``) is bounded twice: by the
  schema's depth limit and by a per-request budget of ``MAX_IDENTITY_LOOKUPS`` identity
  reads (code ``too_complex`` past it), so one query costs at most that many state reads.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncGenerator, AsyncIterator
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from qos_api.context import Info, charge_reads
from qos_api.errors import ApiError
from qos_api.pagination import check_first
from qos_api.ports import BlockInfo, NodePort
from qos_api.types import PageInfo, field
from qos_app.tx import decode_tx
from qos_chain.address import ADDRESS_LENGTH, Address, address_to_text
from qos_chain.errors import QosError
from qos_chain.genesis import format_time
from qos_chain.types import tx_hash
from qos_identity.didkey import did_key_document
from qos_identity.document import DID_KEY_PREFIX, DID_QOS_PREFIX, check_did_qos
from qos_identity.errors import InvalidDid, MultikeyError
from qos_identity.method import MSG_BATCH, OP_TYPES
from qos_identity.module import EVENT
from qos_identity.resolver import (
    DID_LD_JSON,
    DocumentMetadata,
    ResolutionResult,
    VersionInfo,
)

if TYPE_CHECKING:
    from qos_api.credentials import CredentialConnection, CredentialStatus

_CREDENTIALS = "qos_api.credentials"

MAX_IDENTITY_LOOKUPS = 200
IDENTITY_MSG_TYPES = frozenset([*OP_TYPES, MSG_BATCH])
_CURSOR_PREFIX = "identity:"


class DidApiError(ApiError):
    """A DID argument the API cannot serve; ``code`` is the W3C resolution error code."""

    code = "invalidDid"


def check_did(did: str, *, allow_key: bool = True) -> str:
    """``"qos"`` or ``"key"`` for a well-formed DID; :class:`DidApiError` otherwise."""
    if not did.startswith("did:") or len(did.split(":", 2)) < 3 or len(did) > 512:
        raise DidApiError(f"{did!r:.80} is not a DID", code="invalidDid")
    if did.startswith(DID_QOS_PREFIX):
        try:
            check_did_qos(did)
        except InvalidDid as exc:
            raise DidApiError(exc.message, code="invalidDid") from exc
        return "qos"
    if did.startswith(DID_KEY_PREFIX) and allow_key:
        try:
            did_key_document(did)
        except (InvalidDid, MultikeyError) as exc:
            raise DidApiError(exc.message, code="invalidDid") from exc
        return "key"
    method = did.split(":")[1]
    raise DidApiError(f"DID method {method!r:.40} is not supported here", code="methodNotSupported")


def charge(info: Info, n: int = 1) -> None:
    charge_reads(info, "identity_lookups", MAX_IDENTITY_LOOKUPS, "identities", n)


def encode_identity_cursor(did: str) -> str:
    return base64.b64encode(f"{_CURSOR_PREFIX}{did}".encode()).decode()


def decode_identity_cursor(cursor: str) -> str:
    try:
        text = base64.b64decode(cursor, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    did = text[len(_CURSOR_PREFIX) :]
    if not text.startswith(_CURSOR_PREFIX) or not did.startswith(DID_QOS_PREFIX):
        raise ApiError(
            "invalid cursor: pass an endCursor or edge cursor from a previous page",
            code="invalid_cursor",
        )
    return did


# --------------------------------------------------------------------------- types


@strawberry.type(description="W3C DID Resolution metadata (section 7.1.2).")
class DidResolutionMetadata:
    content_type: str | None = strawberry.field(
        description="Media type of didDocument (application/did+ld+json); null on error."
    )
    error: str | None = strawberry.field(
        description="invalidDid, notFound, methodNotSupported, invalidOptions, "
        "representationNotSupported or invalidPublicKeyType; null on success."
    )
    error_message: str | None


@strawberry.type(description="W3C DID document metadata (section 7.1.3).")
class DidDocumentMetadata:
    created: str | None = strawberry.field(description="Block time of the create (UTC, Z).")
    updated: str | None = strawberry.field(
        description="Block time of this version; null for version 1."
    )
    deactivated: bool
    version_id: str | None = strawberry.field(description='Decimal version, "1" = create.')
    next_version_id: str | None = strawberry.field(
        description="The next version when an older version was resolved."
    )

    @classmethod
    def of(cls, m: DocumentMetadata) -> DidDocumentMetadata:
        return cls(
            created=m.created,
            updated=m.updated,
            deactivated=m.deactivated,
            version_id=m.version_id,
            next_version_id=m.next_version_id,
        )


@strawberry.type(description="A W3C DID Resolution result.")
class DidResolutionResult:
    did_document: JSON | None = strawberry.field(
        description="The DID document (JSON-LD); null when resolution failed."
    )
    did_resolution_metadata: DidResolutionMetadata
    did_document_metadata: DidDocumentMetadata
    result: JSON = strawberry.field(
        description="The whole result as application/did-resolution JSON."
    )

    @classmethod
    def of(cls, r: ResolutionResult) -> DidResolutionResult:
        doc = r.did_document_json()
        return cls(
            did_document=None if doc is None else JSON(doc),
            did_resolution_metadata=DidResolutionMetadata(
                content_type=r.content_type if r.error is None else None,
                error=r.error,
                error_message=r.error_message,
            ),
            did_document_metadata=DidDocumentMetadata.of(r.metadata),
            result=JSON(r.to_json()),
        )


@strawberry.enum(description="The operation that produced a DID version.")
class DidOperationKind(Enum):
    CREATE = "create"
    UPDATE = "update"
    ROTATE = "rotate"
    RECOVER = "recover"
    DEACTIVATE = "deactivate"
    LINK = "link"


@strawberry.type(description="One version of a did:qos document (versions never disappear).")
class DidVersion:
    version_id: str
    version_time: str = strawberry.field(description="Block time (UTC, second precision).")
    height: int = strawberry.field(description="Height of the block that applied it.")
    operation: DidOperationKind
    deactivated: bool
    sender: str | None = strawberry.field(description="qos1 account that submitted the tx.")
    document: JSON

    @classmethod
    def of(cls, v: VersionInfo) -> DidVersion:
        return cls(
            version_id=v.version_id,
            version_time=v.version_time,
            height=v.height,
            operation=DidOperationKind(v.op),
            deactivated=v.deactivated,
            sender=address_to_text(Address(v.sender)) if len(v.sender) == ADDRESS_LENGTH else None,
            document=JSON(v.document.to_json()),
        )


@strawberry.type(description="A DID with its current document, history and controllers.")
class Identity:
    resolution: strawberry.Private[ResolutionResult]
    did: str
    document: JSON | None = strawberry.field(description="The current DID document (JSON-LD).")
    metadata: DidDocumentMetadata
    deactivated: bool

    @classmethod
    def of(cls, r: ResolutionResult) -> Identity:
        doc = r.did_document_json()
        return cls(
            resolution=r,
            did=r.did,
            document=None if doc is None else JSON(doc),
            metadata=DidDocumentMetadata.of(r.metadata),
            deactivated=r.metadata.deactivated,
        )

    @field(
        "The document's controller DIDs, resolved (did:qos from state, did:key locally); "
        "controllers that do not resolve are left out."
    )
    async def controllers(self, info: Info) -> list[Identity]:
        doc = self.resolution.document
        if doc is None:
            return []
        out: list[Identity] = []
        for c in doc.controller:
            charge(info)
            r = await info.context.port.resolve_did(c, None, None, DID_LD_JSON)
            if r.error is None:
                out.append(Identity.of(r))
        return out

    @field("Every version, oldest first (empty for did:key).")
    async def history(self, info: Info) -> list[DidVersion]:
        if not self.did.startswith(DID_QOS_PREFIX):
            return []
        charge(info)
        return [DidVersion.of(v) for v in await info.context.port.did_history(self.did)]

    @field("Credentials anchored about this DID (it is their subject), by anchoring height.")
    async def credentials(
        self,
        info: Info,
        status: Annotated[CredentialStatus, strawberry.lazy(_CREDENTIALS)] | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Annotated[CredentialConnection, strawberry.lazy(_CREDENTIALS)]:
        from qos_api.credentials import list_credentials  # noqa: PLC0415 - import cycle

        return await list_credentials(info, subject=self.did, status=status, first=first,
                                      after=after)  # fmt: skip

    @field("Credentials this DID issued (it is their issuer), by anchoring height.")
    async def issued_credentials(
        self,
        info: Info,
        status: Annotated[CredentialStatus, strawberry.lazy(_CREDENTIALS)] | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Annotated[CredentialConnection, strawberry.lazy(_CREDENTIALS)]:
        from qos_api.credentials import list_credentials  # noqa: PLC0415 - import cycle

        return await list_credentials(info, issuer=self.did, status=status, first=first,
                                      after=after)  # fmt: skip


@strawberry.type
class IdentityEdge:
    cursor: str
    node: Identity


@strawberry.type(description="A page of identities, ordered by DID.")
class IdentityConnection:
    edges: list[IdentityEdge]
    page_info: PageInfo


@strawberry.enum(description="What happened to a DID.")
class IdentityEventKind(Enum):
    CREATED = "created"
    UPDATED = "updated"
    KEY_ROTATED = "key_rotated"
    RECOVERED = "recovered"
    DEACTIVATED = "deactivated"
    IDENTIFIERS_LINKED = "identifiers_linked"


_EVENT_KINDS = {
    "create": IdentityEventKind.CREATED,
    "update": IdentityEventKind.UPDATED,
    "rotate": IdentityEventKind.KEY_ROTATED,
    "recover": IdentityEventKind.RECOVERED,
    "deactivate": IdentityEventKind.DEACTIVATED,
    "link": IdentityEventKind.IDENTIFIERS_LINKED,
}


@strawberry.type(description="A committed, applied operation on a DID.")
class IdentityEvent:
    did: str
    kind: IdentityEventKind
    version_id: str = strawberry.field(description="The version the operation created.")
    height: int
    time: str = strawberry.field(description="RFC 3339 UTC block time.")
    tx_hash: str
    batch_index: int | None = strawberry.field(
        description="Position inside a MsgDidBatch; null for a single operation."
    )


def identity_events(info: BlockInfo, did: str) -> list[IdentityEvent]:
    """The applied ``did_operation`` events of ``did`` in a committed block, in order."""
    out: list[IdentityEvent] = []
    header = info.block.header
    for raw, result in zip(info.block.txs, info.results, strict=True):
        if not result.ok:
            continue
        for e in result.events:
            if e.type != EVENT:
                continue
            attrs = {a.key: a.value for a in e.attributes}
            kind = _EVENT_KINDS.get(attrs.get("op", ""))
            if attrs.get("did") != did or attrs.get("code") != "ok" or kind is None:
                continue
            index = attrs.get("index")
            out.append(
                IdentityEvent(
                    did=did,
                    kind=kind,
                    version_id=attrs.get("version_id", ""),
                    height=header.height,
                    time=format_time(header.time_ns),
                    tx_hash=tx_hash(raw).hex(),
                    batch_index=None if index is None else int(index),
                )
            )
    return out


# --------------------------------------------------------------------------- resolvers


async def resolve_identity(port: NodePort, info: Info, did: str) -> Identity | None:
    check_did(did)
    charge(info)
    r = await port.resolve_did(did, None, None, DID_LD_JSON)
    if r.error == "notFound":
        return None
    if r.error is not None:
        raise DidApiError(r.error_message or r.error, code=r.error)
    return Identity.of(r)


async def list_identities(
    port: NodePort, info: Info, controller: str, first: int, after: str | None
) -> IdentityConnection:
    check_did(controller)
    n = check_first(first)
    start = None if after is None else decode_identity_cursor(after)
    page = await port.identities(controller, n, start)
    charge(info, len(page.dids))
    edges: list[IdentityEdge] = []
    for did in page.dids:
        r = await port.resolve_did(did, None, None, DID_LD_JSON)
        edges.append(IdentityEdge(cursor=encode_identity_cursor(did), node=Identity.of(r)))
    return IdentityConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


def identity_tx_problem(raw: bytes) -> tuple[str, str] | None:
    """``(code, message)`` if ``raw`` is not a tx carrying only identity operations."""
    try:
        tx = decode_tx(raw)
    except QosError as exc:
        return exc.code, exc.message
    others = sorted({m.type_url for m in tx.body.msgs} - IDENTITY_MSG_TYPES)
    if others or not tx.body.msgs:
        return (
            "not_identity_operation",
            f"submitDidOperation takes qos.identity.v1.* messages only, got {others}",
        )
    return None


async def watch_identity(port: NodePort, did: str) -> AsyncGenerator[IdentityEvent, None]:
    if check_did(did) != "qos":
        raise DidApiError("did:key identities are not anchored on chain", code="methodNotSupported")
    stream: AsyncIterator[BlockInfo] = port.subscribe_blocks()
    try:
        async for b in stream:
            for ev in identity_events(b, did):
                yield ev
    finally:
        if isinstance(stream, AsyncGenerator):
            await stream.aclose()
