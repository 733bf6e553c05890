"""Files in the API: the REST upload ``POST /files`` and the GraphQL pins/file views.

Two entry points, two jobs (the node never holds a user's key):

* **REST takes bytes.** ``POST /files`` (bearer token, see ``pinning.py``) streams a raw
  body or the first file part of a ``multipart/form-data`` body into the importer, never
  holding the file in memory; over the node's size limit -> 413 ``PAYLOAD_TOO_LARGE``. The
  answer (201) is ``{"cid", "size", "requestid", "name"}``: the upload is a local pin of the
  token's DID (status ``pinned``), visible in ``GET /pins``. Query parameters: ``name``,
  ``profile`` (``kubo-v0`` default, ``kubo-v1``, ``unixfs-v1-2025``).
* **GraphQL takes client-signed pin txs.** ``pinCid(signedTx)`` submits a tx carrying
  ``qos.files.v1.*`` messages (``MsgPin``/``MsgUnpin``/``MsgAnchorSnapshot``) signed by the
  owner DID; ``pins(...)`` lists on-chain records (status = this node's progress, or
  ``QUEUED`` if it has none) followed by this node's local pins; ``file(cid)``;
  ``pinEvents(owner)``.
"""

from __future__ import annotations

import base64
import binascii
import json
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from enum import Enum
from typing import Any

import anyio.from_thread
import anyio.to_thread
import strawberry
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from strawberry.scalars import JSON

from qos_api.context import Info
from qos_api.errors import ApiError
from qos_api.pagination import check_first
from qos_api.pinning import Failure, _guard, authenticate, service_of
from qos_api.ports import BlockInfo, NodePort
from qos_api.types import PageInfo, field
from qos_app.tx import decode_tx
from qos_chain.errors import QosError
from qos_chain.genesis import format_time
from qos_chain.types import tx_hash
from qos_fs.errors import MalformedUpload, UploadTooLarge
from qos_fs.module import EVENT_CREATED, EVENT_REMOVED, EVENT_SNAPSHOT
from qos_fs.msgs import TYPE_URLS
from qos_fs.multipart import MultipartFile, boundary_of
from qos_fs.service import FileService, LocalPin, PinStatus
from qos_fs.state import PinRecord
from qos_ipfs.cid import CID
from qos_ipfs.errors import InvalidCid, IpfsError, UnknownProfile
from qos_ipfs.importer import get_profile

UPLOAD_PATH = "/files"
MAX_CHAIN_SCAN = 2000  # records read per request when filtering after reading
CHAIN_BATCH = 100  # records per read when filtering after reading
_CURSOR = "pin:"


# --------------------------------------------------------------------------- REST upload


class _BodyReader:
    """A blocking ``read(n)`` over the request body, for the importer's worker thread."""

    def __init__(self, next_chunk: Callable[[], bytes], parser: MultipartFile | None) -> None:
        self._next = next_chunk
        self._parser = parser
        self._buf = bytearray()
        self._eof = False

    def read(self, n: int = -1) -> bytes:
        self._fill(sys.maxsize if n < 0 else n)
        n = len(self._buf) if n < 0 else min(n, len(self._buf))
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` (the pack store's aligned write buffer) with one copy."""
        dest = memoryview(buffer).cast("B")
        n = len(dest)
        self._fill(n)
        k = min(n, len(self._buf))
        with memoryview(self._buf) as src:
            dest[:k] = src[:k]
        del self._buf[:k]
        return k

    def _fill(self, n: int) -> None:
        while not self._eof and len(self._buf) < n:
            chunk = self._next()
            if not chunk:
                self._eof = True
                if self._parser is not None:
                    self._parser.close()
                break
            self._buf += self._parser.feed(chunk) if self._parser is not None else chunk


def upload_routes(port: NodePort) -> list[Route]:
    async def upload(request: Request) -> Response:
        svc = service_of(port)
        did = await authenticate(svc, request)
        try:
            profile = get_profile(request.query_params.get("profile", svc.profile.name))
        except UnknownProfile as exc:
            raise Failure(400, "BAD_REQUEST", exc.message) from exc
        name = request.query_params.get("name", "")
        if len(name) > 255:
            raise Failure(400, "BAD_REQUEST", "name has at most 255 characters")
        ctype = request.headers.get("content-type", "")
        parser = None
        if ctype.lower().startswith("multipart/form-data"):
            try:
                parser = MultipartFile(boundary_of(ctype))
            except MalformedUpload as exc:
                raise Failure(400, "BAD_REQUEST", exc.message) from exc
        chunks: AsyncIterator[bytes] = request.stream().__aiter__()

        async def next_chunk() -> bytes:
            try:
                return await chunks.__anext__()
            except StopAsyncIteration:
                return b""

        reader = _BodyReader(lambda: anyio.from_thread.run(next_chunk), parser)

        def chosen() -> str:
            return name or (parser.filename if parser is not None else None) or ""

        def run() -> LocalPin:
            return svc.add(reader, did, name=chosen, profile=profile)  # type: ignore[arg-type]

        try:
            pin = await anyio.to_thread.run_sync(run)
        except UploadTooLarge as exc:
            raise Failure(413, "PAYLOAD_TOO_LARGE", exc.message) from exc
        except MalformedUpload as exc:
            raise Failure(400, "BAD_REQUEST", exc.message) from exc
        body = {"cid": str(pin.cid), "size": pin.size, "requestid": pin.requestid, "name": pin.name}
        return JSONResponse(body, status_code=201)

    return [Route(UPLOAD_PATH, _guard(upload), methods=["POST"])]


# --------------------------------------------------------------------------- GraphQL types


@strawberry.enum(description="Where a pin lives: on chain (signed by its owner) or local.")
class PinSource(Enum):
    CHAIN = "chain"
    LOCAL = "local"


@strawberry.enum(description="Pinning progress on this node (Pinning Service API statuses).")
class PinState(Enum):
    QUEUED = "queued"
    PINNING = "pinning"
    PINNED = "pinned"
    FAILED = "failed"


@strawberry.type(description="A pin: an on-chain record or a local pin request of this node.")
class Pin:
    id: str = strawberry.field(
        description="Local pins: the Pinning Service API requestid; on-chain: chain:<owner>:<cid>."
    )
    source: PinSource
    owner: str = strawberry.field(description="The owner DID.")
    cid: str
    name: str
    size: str | None = strawberry.field(description="Bytes (decimal string); null if unknown.")
    status: PinState = strawberry.field(
        description="This node's progress (an on-chain pin this node has not processed is QUEUED)."
    )
    status_details: str
    metadata: JSON | None = strawberry.field(description="On-chain metadata or local meta.")
    replication: int | None = strawberry.field(description="On-chain pins only.")
    expires_height: int | None
    expires_at: str | None
    created: str = strawberry.field(description="RFC 3339 (block time for on-chain pins).")
    created_height: int | None = strawberry.field(description="On-chain pins only.")

    @classmethod
    def of_local(cls, p: LocalPin) -> Pin:
        return cls(
            id=p.requestid, source=PinSource.LOCAL, owner=p.owner, cid=p.cid_text, name=p.name,
            size=None if p.size is None else str(p.size), status=PinState(str(p.status)),
            status_details=p.details, metadata=JSON(p.meta), replication=None,
            expires_height=None, expires_at=None, created=format_time(p.created_ns),
            created_height=None,
        )  # fmt: skip

    @classmethod
    def of_chain(cls, r: PinRecord, status: PinStatus, details: str) -> Pin:
        cid = CID.from_bytes(r.cid)
        return cls(
            id=f"chain:{r.owner}:{cid}", source=PinSource.CHAIN, owner=r.owner, cid=str(cid),
            name=r.name, size=str(r.size), status=PinState(str(status)),
            status_details=details,
            metadata=None if not r.metadata else JSON(json.loads(r.metadata)),
            replication=r.replication, expires_height=r.expires_height,
            expires_at=None if r.expires_ns is None else format_time(r.expires_ns),
            created=format_time(r.created_ns), created_height=r.created_height,
        )  # fmt: skip


@strawberry.type
class PinEdge:
    cursor: str
    node: Pin


@strawberry.type(description="On-chain pins (by owner, then CID) followed by local pins.")
class PinConnection:
    edges: list[PinEdge]
    page_info: PageInfo


@strawberry.type(description="Content addressed by a CID, as this node sees it.")
class File:
    cid: str
    stored: bool = strawberry.field(description="The root block is on this node.")
    size: str | None = strawberry.field(description="File size in bytes (decimal string).")
    pins: list[Pin] = strawberry.field(description="On-chain records, then local pins.")


@strawberry.enum
class PinEventKind(Enum):
    PIN_CREATED = "pin_created"
    PIN_REMOVED = "pin_removed"
    SNAPSHOT_ANCHORED = "snapshot_anchored"


@strawberry.type(description="A committed files event of an owner DID.")
class PinEvent:
    kind: PinEventKind
    owner: str
    cid: str
    name: str | None
    chain: str | None = strawberry.field(description="Snapshot anchors: the business chain.")
    snapshot_height: int | None
    height: int
    time: str
    tx_hash: str


# --------------------------------------------------------------------------- resolvers


def _cid_arg(text: str) -> CID:
    try:
        return CID.parse(text)
    except InvalidCid as exc:
        raise ApiError(f"invalid cid: {exc.message}", code="invalid_cid") from exc


def _encode(kind: str, value: str) -> str:
    return base64.b64encode(f"{_CURSOR}{kind}:{value}".encode()).decode()


def _decode(cursor: str) -> tuple[str, str]:
    try:
        text = base64.b64decode(cursor, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    kind, _, value = text.removeprefix(_CURSOR).partition(":")
    if not text.startswith(_CURSOR) or kind not in ("c", "l") or not value:
        raise ApiError("invalid cursor", code="invalid_cursor")
    if kind == "l" and not value.isdigit():
        raise ApiError("invalid cursor", code="invalid_cursor")
    return kind, value


async def _progress(svc: FileService | None, recs: list[PinRecord]) -> list[tuple[PinStatus, str]]:
    """This node's progress on ``recs`` (``QUEUED`` where it has none): one read per page."""
    if svc is None or not recs:
        return [(PinStatus.QUEUED, "")] * len(recs)
    got = await anyio.to_thread.run_sync(svc.chain_progress_many, [(r.owner, r.cid) for r in recs])
    out = []
    for r in recs:
        p = got.get((r.owner, r.cid))
        out.append((PinStatus.QUEUED, "") if p is None else (p.status, p.details))
    return out


async def list_pins(
    port: NodePort,
    *,
    owner: str | None,
    cid: str | None,
    status: PinState | None,
    name: str | None,
    first: int,
    after: str | None,
) -> PinConnection:
    """On-chain records (key order), then local pins (newest first), ``first`` at a time.

    A non-empty ``name`` without ``cid`` reads the on-chain name index (the owner's, or the
    global one), so every record read matches; the status (this node's progress), or a name
    with ``cid``, is filtered after reading, under a per-request scan budget: when it runs
    out, ``hasNextPage`` and an ``endCursor`` that resumes the scan (never a dropped match).
    Reads stop at ``first + 1`` matches (the extra one only says there is a next page)."""
    n = check_first(first)
    cid_bytes = None if cid is None else _cid_arg(cid).to_bytes()
    svc = port.file_service()
    kind, value = _decode(after) if after is not None else ("c", "")
    edges: list[PinEdge] = []
    if kind == "c":
        position = bytes.fromhex(value) if value else None
        by_index = bool(name) and cid_bytes is None
        filtered = status is not None or (name is not None and not by_index)
        scanned = 0
        while len(edges) <= n and scanned < MAX_CHAIN_SCAN:
            want = n + 1 - len(edges)
            limit = max(want, CHAIN_BATCH) if filtered else want
            batch = await port.chain_pins(
                owner, cid_bytes, position, limit, name=name if by_index else None
            )
            scanned += len(batch)
            progress = await _progress(svc, [rec for _, rec in batch])
            for (key, rec), (st, details) in zip(batch, progress, strict=True):
                if (name is None or rec.name == name) and (
                    status is None or str(st) == status.value
                ):
                    edges.append(
                        PinEdge(cursor=_encode("c", key.hex()), node=Pin.of_chain(rec, st, details))
                    )
                position = key
            if len(batch) < limit:
                break
        else:
            if len(edges) <= n and position is not None:
                # the scan budget ran out before the on-chain records did: never drop the
                # rest, hand back a cursor that resumes the chain scan where it stopped
                page = _page(edges, True, after)
                page.page_info.end_cursor = _encode("c", position.hex())
                return page
    if len(edges) > n:
        return _page(edges[:n], True, after)
    if svc is not None:
        before = int(value) if kind == "l" else None
        st_filter = None if status is None else PinStatus(status.value)
        local = await anyio.to_thread.run_sync(
            lambda: svc.local_pins(
                owner=owner,
                cid=cid_bytes,
                status=st_filter,
                name=name,
                before_ns=before,
                limit=n - len(edges) + 1,
            )
        )
        edges += [
            PinEdge(cursor=_encode("l", str(p.created_ns)), node=Pin.of_local(p)) for p in local
        ]
    more = len(edges) > n
    return _page(edges[:n], more, after)


def _page(edges: list[PinEdge], more: bool, after: str | None) -> PinConnection:
    return PinConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=more,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


async def file_view(port: NodePort, cid_text: str) -> File:
    cid = _cid_arg(cid_text)
    svc = port.file_service()
    stored, size = False, None
    local: list[LocalPin] = []
    if svc is not None:
        stored = await anyio.to_thread.run_sync(svc.has, cid)
        if stored:
            try:
                size = str(await anyio.to_thread.run_sync(svc.size, cid))
            except IpfsError:
                size = None
        local = await anyio.to_thread.run_sync(
            lambda: svc.local_pins(
                owner=None, cid=cid.to_bytes(), status=None, name=None, before_ns=None, limit=100
            )
        )
    recs = [rec for _, rec in await port.chain_pins(None, cid.to_bytes(), None, 100)]
    progress = await _progress(svc, recs)
    pins = [Pin.of_chain(r, st, d) for r, (st, d) in zip(recs, progress, strict=True)]
    pins += [Pin.of_local(p) for p in local]
    return File(cid=str(cid), stored=stored, size=size, pins=pins)


FILES_MSG_TYPES = frozenset(TYPE_URLS)


def files_tx_problem(raw: bytes) -> tuple[str, str] | None:
    """``(code, message)`` if ``raw`` is not a tx carrying only files messages."""
    try:
        tx = decode_tx(raw)
    except QosError as exc:
        return exc.code, exc.message
    others = sorted({m.type_url for m in tx.body.msgs} - FILES_MSG_TYPES)
    if others or not tx.body.msgs:
        return "not_files_message", f"pinCid takes qos.files.v1.* messages only, got {others}"
    return None


def pin_events(info: BlockInfo, owner: str) -> list[PinEvent]:
    out: list[PinEvent] = []
    header = info.block.header
    kinds = {k.value: k for k in PinEventKind}
    for raw, result in zip(info.block.txs, info.results, strict=True):
        if not result.ok:
            continue
        for e in result.events:
            if e.type not in (EVENT_CREATED, EVENT_REMOVED, EVENT_SNAPSHOT):
                continue
            attrs = {a.key: a.value for a in e.attributes}
            if attrs.get("owner") != owner:
                continue
            cid_hex = attrs.get("cid") or attrs.get("snapshot_cid", "")
            out.append(
                PinEvent(
                    kind=kinds[e.type],
                    owner=owner,
                    cid=str(CID.from_bytes(bytes.fromhex(cid_hex))),
                    name=attrs.get("name"),
                    chain=attrs.get("chain"),
                    snapshot_height=int(attrs["height"]) if "height" in attrs else None,
                    height=header.height,
                    time=format_time(header.time_ns),
                    tx_hash=tx_hash(raw).hex(),
                )
            )
    return out


async def watch_pins(port: NodePort, owner: str) -> AsyncGenerator[PinEvent, None]:
    stream: AsyncIterator[BlockInfo] = port.subscribe_blocks()
    try:
        async for b in stream:
            for ev in pin_events(b, owner):
                yield ev
    finally:
        if isinstance(stream, AsyncGenerator):
            await stream.aclose()


def info_port(info: Info) -> NodePort:
    return info.context.port


__all__ = [
    "File", "Pin", "PinConnection", "PinEvent", "file_view", "files_tx_problem", "field",
    "list_pins", "upload_routes", "watch_pins",
]  # fmt: skip
