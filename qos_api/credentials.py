"""GraphQL types and resolvers of the credential API (issue 5; chain side in
``qos_identity.credentials``, guide in ``docs/credentials.md``).

* ``credentials(subject, issuer, schema, type, status, validAt, first, after, orderBy)``
  is a Relay connection answered from one secondary index (O(page) whatever the number
  of credentials); ``credential(id)``, ``credentialSchema(id)``, ``credentialIssuer(did)``
  and ``statusList(issuer, id, purpose)`` read one record each.
* Nested traversal (``identity { credentials { issuerIdentity { issuedCredentials ...
  } } }``) is bounded by the schema's depth limit, by the identity-read budget
  (``identity.charge``) for every identity it resolves, and by a per-request budget of
  ``MAX_CREDENTIAL_READS`` credentials (code ``too_complex`` past it).
* ``verifyCredential`` / ``verifyPresentation`` return every check with its outcome
  (``passed``, ``failed``, ``skipped``) and reason; bad input is a failed ``format``
  check, never a GraphQL error.
* ``submitCredentialOperation`` takes a client-signed tx of ``qos.credentials.v1.*``
  messages (register schema, anchor, change status); ``credentialEvents`` streams
  anchors and status changes of a subject and/or an issuer.

Malformed arguments are GraphQL errors with ``extensions.code``: ``invalidDid``,
``invalid_argument``, ``invalid_cursor``, ``too_complex``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncGenerator, AsyncIterator
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from qos_api.context import Info, charge_reads
from qos_api.errors import ApiError
from qos_api.identity import DidApiError, Identity, charge
from qos_api.pagination import DEFAULT_FIRST, MAX_FIRST, check_first
from qos_api.ports import BlockInfo, NodePort, SubscriberTooSlow
from qos_api.submit import submit_signed
from qos_api.types import (
    PageInfo,
    SubmitTransactionResult,
    field,
    mutation,
    subscription,
)
from qos_app.tx import decode_tx
from qos_chain import codec
from qos_chain.errors import QosError
from qos_chain.genesis import format_time
from qos_chain.types import tx_hash
from qos_identity.credentials.jcs import loads
from qos_identity.credentials.model import is_did
from qos_identity.credentials.ops import MSG_CHANGE_STATUS, MSG_TYPES, MsgChangeStatus
from qos_identity.credentials.reader import CredentialPage, CredentialView, parse_credential_id
from qos_identity.credentials.state import LIST_BITS, SchemaRecord
from qos_identity.credentials.verify import PresentationReport, VerificationReport
from qos_identity.resolver import DID_LD_JSON, parse_version_time, xml_datetime

MAX_CREDENTIAL_READS = 500
MAX_FILTER_CHARS = 256
MAX_CHALLENGE_CHARS = 512
CREDENTIAL_MSG_TYPES = frozenset(MSG_TYPES)
EVENT_ANCHORED = "credential_anchored"
EVENT_STATUS = "credential_status"
_CURSOR_PREFIX = "credential:"
_CURSOR_HEX = 80  # hex(u64 height || 32-byte digest)

SUBMIT_CREDENTIAL_DESCRIPTION = """Submit a signed transaction that carries credential
operations only (`qos.credentials.v1.MsgRegisterSchema`, `MsgAnchorCredential`,
`MsgChangeStatus`).

Each operation is signed by the schema author's or issuer's DID key (`qos vc ...`,
`qos_identity.credentials.client`) and the tx by the submitting account, which pays the
fee: the node never sees a private key. Same encoding and result as `submitTransaction`,
plus the code `not_credential_operation` for a tx carrying other messages. A refused
operation (codes 200-221: `unauthorized_signer`, `issuer_deactivated`, `not_issuer`,
`already_anchored`, `stale_status_sequence`, ...) fails its committed tx
(`transaction(hash) { success codeName log }`); applied ones emit `credential_schema`,
`credential_anchored` and `credential_status` events (`credentialEvents`)."""


def charge_credentials(info: Info, n: int = 1) -> None:
    charge_reads(info, "credential_reads", MAX_CREDENTIAL_READS, "credentials", n)


def encode_credential_cursor(position_hex: str) -> str:
    return base64.b64encode(f"{_CURSOR_PREFIX}{position_hex}".encode()).decode()


def decode_credential_cursor(cursor: str) -> str:
    try:
        text = base64.b64decode(cursor, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    pos = text[len(_CURSOR_PREFIX) :]
    if not text.startswith(_CURSOR_PREFIX) or len(pos) != _CURSOR_HEX:
        raise ApiError(
            "invalid cursor: pass an endCursor or edge cursor from a previous page",
            code="invalid_cursor",
        )
    try:
        bytes.fromhex(pos)
    except ValueError:
        raise ApiError("invalid cursor: not issued by this API", code="invalid_cursor") from None
    return pos


def check_any_did(did: str, what: str) -> str:
    if not is_did(did):
        raise DidApiError(f"{what} {did!r:.80} is not a DID", code="invalidDid")
    return did


def _check_text(value: str, what: str) -> str:
    if not value or len(value) > MAX_FILTER_CHARS or "\x00" in value:
        raise ApiError(f"{what} must be 1..{MAX_FILTER_CHARS} characters")
    return value


def _time(seconds: int | None) -> str | None:
    return None if seconds is None else xml_datetime(seconds * 10**9)


# --------------------------------------------------------------------------- types


@strawberry.enum(description="Status of an anchored credential (chain state).")
class CredentialStatus(Enum):
    ACTIVE = "active"
    REVOKED = "revoked"
    SUSPENDED = "suspended"


@strawberry.enum(description="Order of a credentials page: by anchoring height.")
class CredentialOrder(Enum):
    HEIGHT_ASC = "HEIGHT_ASC"
    HEIGHT_DESC = "HEIGHT_DESC"


@strawberry.enum(description="The purpose of a Bitstring Status List.")
class StatusPurpose(Enum):
    REVOCATION = "revocation"
    SUSPENSION = "suspension"


@strawberry.type(description="A JSON Schema registered on chain (immutable, content-addressed).")
class CredentialSchema:
    id: str = strawberry.field(description="urn:qos:schema:<sha256 hex of the RFC 8785 bytes>.")
    author: str = strawberry.field(description="The author DID.")
    name: str
    version: int = strawberry.field(description="1, 2, ... within (author, name).")
    schema_hash: str = strawberry.field(description="Hex sha256 of the document.")
    document: JSON | None = strawberry.field(
        description="The schema (JSON); null when only its cid was registered."
    )
    cid: str | None = strawberry.field(description="Where the document lives off chain.")
    height: int = strawberry.field(description="Height of the registering block.")
    registered_at: str = strawberry.field(description="Block time (UTC, Z).")

    @classmethod
    def of(cls, r: SchemaRecord) -> CredentialSchema:
        doc: Any = JSON(loads(r.document)) if r.document else None
        return cls(
            id=r.id,
            author=r.author,
            name=r.name,
            version=r.version,
            schema_hash=r.schema_hash.hex(),
            document=doc,
            cid=r.cid or None,
            height=r.height,
            registered_at=xml_datetime(r.time_ns),
        )


async def _identity_or_none(info: Info, did: str) -> Identity | None:
    charge(info)
    r = await info.context.port.resolve_did(did, None, None, DID_LD_JSON)
    return Identity.of(r) if r.error is None else None


@strawberry.type(
    description="An attestation anchored on chain: no personal data, only the digest of "
    "the credential, the DIDs, schema, types, validity window and status index."
)
class Credential:
    view: strawberry.Private[CredentialView]
    id: str = strawberry.field(description="Hex sha256 of the RFC 8785 secured credential.")
    issuer: str = strawberry.field(description="Issuer DID.")
    subject: str = strawberry.field(description="Subject DID (credentialSubject.id).")
    schema_id: str | None = strawberry.field(description="The credentialSchema id, if any.")
    types: list[str]
    valid_from: str | None = strawberry.field(description="validFrom (UTC, Z).")
    valid_until: str | None = strawberry.field(description="validUntil (UTC, Z).")
    status: CredentialStatus
    revoked: bool
    suspended: bool
    status_index: str = strawberry.field(
        description="Index in the issuer's status lists (decimal, like statusListIndex)."
    )
    status_list: int = strawberry.field(description="Which list: statusIndex div 131072.")
    delivery: str | None = strawberry.field(
        description="Reference (CID/URL) of the copy encrypted to the subject, if given."
    )
    signer: str = strawberry.field(description="The issuer key that signed the anchor.")
    height: int = strawberry.field(description="Height of the anchoring block.")
    anchored_at: str = strawberry.field(description="Block time of the anchor (UTC, Z).")

    @classmethod
    def of(cls, v: CredentialView) -> Credential:
        a = v.anchor
        return cls(
            view=v,
            id=v.id,
            issuer=a.issuer,
            subject=a.subject,
            schema_id=a.schema_id or None,
            types=list(a.types),
            valid_from=_time(a.valid_from),
            valid_until=_time(a.valid_until),
            status=CredentialStatus(v.status),
            revoked=v.revoked,
            suspended=v.suspended,
            status_index=str(a.status_index),
            status_list=a.status_index // LIST_BITS,
            delivery=a.delivery or None,
            signer=a.signer,
            height=a.height,
            anchored_at=xml_datetime(a.time_ns),
        )

    @field("The issuer's identity (null if it does not resolve).")
    async def issuer_identity(self, info: Info) -> Identity | None:
        return await _identity_or_none(info, self.issuer)

    @field("The subject's identity (null if it does not resolve).")
    async def subject_identity(self, info: Info) -> Identity | None:
        return await _identity_or_none(info, self.subject)

    @field("The registered schema (null without credentialSchema).")
    async def schema(self, info: Info) -> CredentialSchema | None:
        if self.schema_id is None:
            return None
        charge_credentials(info)
        rec = await info.context.port.credential_schema(self.schema_id)
        return None if rec is None else CredentialSchema.of(rec)


@strawberry.type
class CredentialEdge:
    cursor: str
    node: Credential


@strawberry.type(description="A page of anchored credentials, by anchoring height.")
class CredentialConnection:
    edges: list[CredentialEdge]
    page_info: PageInfo


@strawberry.type(description="An issuer's status bookkeeping on chain.")
class CredentialIssuer:
    did: str
    next_status_index: str = strawberry.field(
        description="The index the chain assigns to the next anchor without one (decimal)."
    )
    status_sequence: int = strawberry.field(
        description="The sequence the next MsgChangeStatus must carry."
    )
    anchored: int = strawberry.field(description="Credentials this issuer anchored.")
    status_lists: int = strawberry.field(description="Lists its assigned indexes span.")


@strawberry.enum(description="Outcome of one verification check.")
class CheckOutcome(Enum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@strawberry.type(description="One verification check with its outcome and reason.")
class VerificationCheck:
    check: str = strawberry.field(
        description="format, proof, issuer_key, anchored, status, validity, schema "
        "(credentials); format, proof, credentials, holder (presentations)."
    )
    outcome: CheckOutcome
    reason: str


def _checks(report: VerificationReport | PresentationReport) -> list[VerificationCheck]:
    return [
        VerificationCheck(check=c.name, outcome=CheckOutcome(c.outcome), reason=c.reason)
        for c in report.checks
    ]


@strawberry.type(description="The verification report of a credential.")
class CredentialVerification:
    verified: bool = strawberry.field(description="True when every check passed.")
    credential_id: str | None = strawberry.field(description="Hex digest (null if malformed).")
    checks: list[VerificationCheck]
    report: JSON = strawberry.field(description="The same report as JSON.")

    @classmethod
    def of(cls, r: VerificationReport) -> CredentialVerification:
        return cls(
            verified=r.verified,
            credential_id=r.credential_id,
            checks=_checks(r),
            report=JSON(r.to_json()),
        )


@strawberry.type(description="The verification report of a presentation.")
class PresentationVerification:
    verified: bool
    checks: list[VerificationCheck]
    credentials: list[CredentialVerification]
    report: JSON

    @classmethod
    def of(cls, r: PresentationReport) -> PresentationVerification:
        return cls(
            verified=r.verified,
            checks=_checks(r),
            credentials=[CredentialVerification.of(c) for c in r.credentials],
            report=JSON(r.to_json()),
        )


@strawberry.enum(description="What happened to a credential.")
class CredentialEventKind(Enum):
    ANCHORED = "anchored"
    REVOKED = "revoke"
    SUSPENDED = "suspend"
    UNSUSPENDED = "unsuspend"


@strawberry.type(description="A committed credential anchor or status change.")
class CredentialEvent:
    kind: CredentialEventKind
    issuer: str
    subject: str | None = strawberry.field(
        description="Anchors: the subject. Status changes: set when subscribed by subject."
    )
    credential_id: str | None = strawberry.field(
        description="Anchors: the credential. Status changes: set when subscribed by subject "
        "(one event per credential of the subject)."
    )
    status_indexes: list[str] = strawberry.field(
        description="Status indexes affected (decimal strings)."
    )
    sequence: int | None = strawberry.field(description="Status changes: the issuer sequence.")
    height: int
    time: str = strawberry.field(description="RFC 3339 UTC block time.")
    tx_hash: str


# --------------------------------------------------------------------------- resolvers


def page_connection(page: CredentialPage, after: str | None) -> CredentialConnection:
    edges = [
        CredentialEdge(cursor=encode_credential_cursor(v.cursor), node=Credential.of(v))
        for v in page.items
    ]
    end = edges[-1].cursor if edges else None
    if page.end_cursor is not None and page.has_next_page:
        # the page may end early (examined budget): continue from where the scan stopped
        end = encode_credential_cursor(page.end_cursor)
    return CredentialConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=end,
        ),
    )


async def list_credentials(
    info: Info,
    *,
    subject: str | None = None,
    issuer: str | None = None,
    schema: str | None = None,
    type_: str | None = None,
    status: CredentialStatus | None = None,
    valid_at: str | None = None,
    first: int = DEFAULT_FIRST,
    after: str | None = None,
    order_by: CredentialOrder = CredentialOrder.HEIGHT_ASC,
) -> CredentialConnection:
    if subject is not None:
        check_any_did(subject, "subject")
    if issuer is not None:
        check_any_did(issuer, "issuer")
    if schema is not None:
        _check_text(schema, "schema")
    if type_ is not None:
        _check_text(type_, "type")
    at = None
    if valid_at is not None:
        try:
            at = parse_version_time(valid_at)
        except ValueError as exc:
            raise ApiError(f"validAt must be an RFC 3339 time with a zone: {exc}") from exc
    n = check_first(first)
    pos = None if after is None else decode_credential_cursor(after)
    charge_credentials(info, max(n, 1))
    try:
        page = await info.context.port.credentials(
            subject=subject,
            issuer=issuer,
            schema=schema,
            type=type_,
            status=None if status is None else status.value,
            valid_at=at,
            first=n,
            after=pos,
            order_by=order_by.value,
        )
    except ValueError as exc:
        raise ApiError(str(exc), code="invalid_cursor") from exc
    return page_connection(page, after)


async def get_credential(info: Info, cid: str) -> Credential | None:
    if parse_credential_id(cid) is None:
        raise ApiError("a credential id is 64 hex characters (the sha256 digest)")
    charge_credentials(info)
    view = await info.context.port.credential(cid)
    return None if view is None else Credential.of(view)


def credential_tx_problem(raw: bytes) -> tuple[str, str] | None:
    """``(code, message)`` if ``raw`` is not a tx carrying only credential operations."""
    try:
        tx = decode_tx(raw)
    except QosError as exc:
        return exc.code, exc.message
    others = sorted({m.type_url for m in tx.body.msgs} - CREDENTIAL_MSG_TYPES)
    if others or not tx.body.msgs:
        return (
            "not_credential_operation",
            f"submitCredentialOperation takes qos.credentials.v1.* messages only, got {others}",
        )
    return None


def _status_msgs(raw: bytes) -> list[MsgChangeStatus]:
    try:
        tx = decode_tx(raw)
    except QosError:  # pragma: no cover - committed txs decode
        return []
    return [
        codec.decode(MsgChangeStatus, m.value)
        for m in tx.body.msgs
        if m.type_url == MSG_CHANGE_STATUS
    ]


async def credential_events(
    port: NodePort, b: BlockInfo, subject: str | None, issuer: str | None
) -> list[CredentialEvent]:
    """Anchors and status changes in a committed block that match the filters."""
    out: list[CredentialEvent] = []
    header = b.block.header
    when = format_time(header.time_ns)
    for raw, result in zip(b.block.txs, b.results, strict=True):
        if not result.ok:
            continue
        h = ""
        msgs: list[MsgChangeStatus] | None = None
        for e in result.events:
            if e.type not in (EVENT_ANCHORED, EVENT_STATUS):
                continue
            h = h or tx_hash(raw).hex()
            a = {x.key: x.value for x in e.attributes}
            if issuer is not None and a.get("issuer") != issuer:
                if e.type == EVENT_STATUS:
                    msgs = _status_msgs(raw) if msgs is None else msgs
                    msgs = msgs[1:]
                continue
            if e.type == EVENT_ANCHORED:
                if subject is not None and a.get("subject") != subject:
                    continue
                out.append(
                    CredentialEvent(
                        kind=CredentialEventKind.ANCHORED,
                        issuer=a["issuer"],
                        subject=a["subject"],
                        credential_id=a["id"],
                        status_indexes=[a["status_index"]],
                        sequence=None,
                        height=header.height,
                        time=when,
                        tx_hash=h,
                    )
                )
                continue
            msgs = _status_msgs(raw) if msgs is None else msgs
            if not msgs:  # pragma: no cover - one event per applied message
                continue
            msg, msgs = msgs[0], msgs[1:]
            kind = CredentialEventKind(a["action"])
            seq = int(a["sequence"])
            if subject is None:
                out.append(
                    CredentialEvent(
                        kind=kind,
                        issuer=msg.issuer,
                        subject=None,
                        credential_id=None,
                        status_indexes=[str(i) for i in msg.indexes],
                        sequence=seq,
                        height=header.height,
                        time=when,
                        tx_hash=h,
                    )
                )
                continue
            for v in await port.credentials_at(msg.issuer, msg.indexes):
                if v.anchor.subject != subject:
                    continue
                out.append(
                    CredentialEvent(
                        kind=kind,
                        issuer=msg.issuer,
                        subject=subject,
                        credential_id=v.id,
                        status_indexes=[str(v.anchor.status_index)],
                        sequence=seq,
                        height=header.height,
                        time=when,
                        tx_hash=h,
                    )
                )
    return out


async def watch_credentials(
    port: NodePort, subject: str | None, issuer: str | None
) -> AsyncGenerator[CredentialEvent, None]:
    if subject is not None:
        check_any_did(subject, "subject")
    if issuer is not None:
        check_any_did(issuer, "issuer")
    stream: AsyncIterator[BlockInfo] = port.subscribe_blocks()
    try:
        async for b in stream:
            for ev in await credential_events(port, b, subject, issuer):
                yield ev
    finally:
        if isinstance(stream, AsyncGenerator):
            await stream.aclose()


def _base_url(info: Info) -> str:
    request = info.context.request
    base = getattr(request, "base_url", None)
    return "http://localhost" if base is None else str(base).rstrip("/")


# --------------------------------------------------------------------------- root fields


@strawberry.type
class CredentialQuery:
    @field(
        f"Anchored credentials matching every given filter (Relay connection, by anchoring "
        f"height). `subject`/`issuer` are DIDs; `schema` a schema id; `type` one of the "
        f"credential's types; `status` ACTIVE, REVOKED or SUSPENDED; `validAt` an RFC 3339 "
        f"time inside the validity window. `first` is 0..{MAX_FIRST}."
    )
    async def credentials(  # noqa: PLR0917 - GraphQL arguments
        self,
        info: Info,
        subject: str | None = None,
        issuer: str | None = None,
        schema: str | None = None,
        type_: Annotated[str | None, strawberry.argument(name="type")] = None,
        status: CredentialStatus | None = None,
        valid_at: str | None = None,
        first: int | None = DEFAULT_FIRST,
        after: str | None = None,
        order_by: CredentialOrder | None = CredentialOrder.HEIGHT_ASC,
    ) -> CredentialConnection:
        return await list_credentials(
            info,
            subject=subject,
            issuer=issuer,
            schema=schema,
            type_=type_,
            status=status,
            valid_at=valid_at,
            first=DEFAULT_FIRST if first is None else first,
            after=after,
            order_by=order_by or CredentialOrder.HEIGHT_ASC,
        )

    @field("An anchored credential by id (hex sha256 digest); null if not anchored.")
    async def credential(self, info: Info, id: str) -> Credential | None:
        return await get_credential(info, id)

    @field("A registered credential schema by id (urn:qos:schema:...); null if unknown.")
    async def credential_schema(self, info: Info, id: str) -> CredentialSchema | None:
        _check_text(id, "schema id")
        rec = await info.context.port.credential_schema(id)
        return None if rec is None else CredentialSchema.of(rec)

    @field("An issuer's next status index and status sequence (what `qos vc` signs with).")
    async def credential_issuer(self, info: Info, did: str) -> CredentialIssuer:
        check_any_did(did, "issuer")
        rec = await info.context.port.credential_issuer(did)
        return CredentialIssuer(
            did=did,
            next_status_index=str(rec.next_index),
            status_sequence=rec.sequence,
            anchored=rec.anchored,
            status_lists=(rec.next_index + LIST_BITS - 1) // LIST_BITS,
        )

    @field(
        "The W3C BitstringStatusListCredential of an issuer's list `id` (the document served "
        "at /credentials/status/<issuer>/<purpose>/<id>); null if the issuer has no such list."
    )
    async def status_list(
        self,
        info: Info,
        issuer: str,
        id: int,
        purpose: StatusPurpose = StatusPurpose.REVOCATION,
    ) -> JSON | None:
        check_any_did(issuer, "issuer")
        if not 0 <= id < 10**9:
            raise ApiError("statusList: id must be 0..999999999")
        doc = await info.context.port.status_list(_base_url(info), issuer, purpose.value, id)
        return None if doc is None else JSON(doc)

    @field(
        "Verify a secured credential (JSON): format, proof, issuer_key (in assertionMethod at "
        "the anchoring height), anchored, status, validity (at the node's clock), schema."
    )
    async def verify_credential(self, info: Info, credential: JSON) -> CredentialVerification:
        return CredentialVerification.of(await info.context.port.verify_credential(credential))

    @field(
        "Verify a holder's presentation: format, proof (authentication, with this challenge "
        "and domain), credentials (each verified), holder (the subject of each)."
    )
    async def verify_presentation(
        self, info: Info, presentation: JSON, challenge: str, domain: str
    ) -> PresentationVerification:
        for name, value in (("challenge", challenge), ("domain", domain)):
            if not value or len(value) > MAX_CHALLENGE_CHARS:
                raise ApiError(f"{name} must be 1..{MAX_CHALLENGE_CHARS} characters")
        r = await info.context.port.verify_presentation(presentation, challenge, domain)
        return PresentationVerification.of(r)


@strawberry.type
class CredentialMutation:
    @mutation(SUBMIT_CREDENTIAL_DESCRIPTION)
    async def submit_credential_operation(
        self, info: Info, signed_tx: str
    ) -> SubmitTransactionResult:
        return await submit_signed(info, signed_tx, credential_tx_problem)


@strawberry.type
class CredentialSubscription:
    @subscription(
        "Credential anchors and status changes (revoke, suspend, unsuspend) committed after "
        "subscribing, filtered by `subject` and/or `issuer` DID (both: both must match). "
        "With `subject`, a status change yields one event per affected credential of that "
        "subject. A malformed DID is an error with code invalidDid."
    )
    async def credential_events(
        self, info: Info, subject: str | None = None, issuer: str | None = None
    ) -> AsyncGenerator[CredentialEvent, None]:
        try:
            async for ev in watch_credentials(info.context.port, subject, issuer):
                yield ev
        except SubscriberTooSlow as exc:
            raise ApiError(exc.message, code=exc.code) from exc
