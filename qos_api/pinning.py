"""REST: the IPFS Pinning Service API v1.0.0 (``../shared/specs/ipfs-pinning-service.yaml``)
and the bearer tokens it needs.

=======================================  ====================================================
route                                    what
=======================================  ====================================================
``GET /pins``                            ``PinResults``: filters ``cid`` (1..10, comma
                                         separated), ``name`` + ``match``
                                         (exact/iexact/partial/ipartial), ``status`` (default
                                         ``pinned``), ``before``/``after`` (RFC 3339),
                                         ``limit`` 1..1000 (10), ``meta`` (JSON object)
``POST /pins``                           add a pin (``Pin`` body) -> 202 ``PinStatus``
``GET /pins/{requestid}``                ``PinStatus``
``POST /pins/{requestid}``               replace (add the new pin, then remove the old)
``DELETE /pins/{requestid}``             202, no body
``POST /auth/tokens``                    a DID-signed request -> 201 ``{id, token, ...}``
``GET /auth/tokens``                     the caller DID's tokens (bearer)
``DELETE /auth/tokens/{id}``             revoke one of the caller DID's tokens (bearer)
=======================================  ====================================================

Every ``/pins`` call needs ``Authorization: Bearer <token>``; pins are **local** pins of
this node accounted to the token's DID (the node never holds a user key, so it cannot put
them on chain; a client that wants an on-chain record submits a signed ``MsgPin`` through
GraphQL ``pinCid``). Errors use the spec's ``Failure`` body ``{"error": {"reason",
"details"}}``: 400 ``BAD_REQUEST``, 401 ``UNAUTHORIZED``, 404 ``NOT_FOUND``, 413
``PAYLOAD_TOO_LARGE`` (uploads), 500 ``INTERNAL_SERVER_ERROR``.

A token request is ``{"did", "signer", "label", "issued", "signature"}``: ``signature`` is
the base64 ed25519 signature of ``qos_fs.client.token_request_bytes(chain_id, did, signer,
label, issued)`` by an ed25519 capabilityInvocation key of ``did``; ``issued`` (RFC 3339)
must be within ``TOKEN_SKEW`` of the node's clock and each signed request mints one token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from qos_api.ports import NodePort
from qos_chain.errors import QosError
from qos_chain.sign import is_valid
from qos_fs.client import token_request_bytes
from qos_fs.errors import LocalPinNotFound, TokenError
from qos_fs.service import FileService, LocalPin, Match, PinQuery, PinStatus
from qos_fs.times import format_time, parse_time
from qos_ipfs.cid import CID
from qos_ipfs.errors import InvalidCid

log = logging.getLogger("qos.api.pinning")

MAX_NAME = 255
MAX_ORIGINS = 20
MAX_META = 1000
MAX_LABEL = 100
MAX_CID_FILTER = 10
TOKEN_SKEW_NS = 300 * 10**9

Handler = Callable[[Request], Awaitable[Response]]


class Failure(Exception):
    def __init__(self, status: int, reason: str, details: str) -> None:
        super().__init__(details)
        self.status = status
        self.reason = reason
        self.details = details


def failure(status: int, reason: str, details: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = {"error": {"reason": reason, "details": details}}
    return JSONResponse(body, status_code=status, headers=headers)


def bad(details: str) -> Failure:
    return Failure(400, "BAD_REQUEST", details)


def _guard(fn: Handler) -> Handler:
    async def wrapped(request: Request) -> Response:
        try:
            return await fn(request)
        except Failure as f:
            return failure(f.status, f.reason, f.details)
        except Exception:
            log.exception("pinning API request failed")
            return failure(500, "INTERNAL_SERVER_ERROR", "internal error")

    return wrapped


def service_of(port: NodePort) -> FileService:
    svc = port.file_service()
    if svc is None:
        raise Failure(503, "SERVICE_UNAVAILABLE", "this node serves no files")
    return svc


async def authenticate(svc: FileService, request: Request) -> str:
    """The DID of the request's bearer token; ``Failure(401)`` otherwise."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Failure(401, "UNAUTHORIZED", "access token is missing")
    try:
        return await run_in_threadpool(svc.authenticate, token.strip())
    except TokenError as exc:
        raise Failure(401, "UNAUTHORIZED", exc.message) from exc


# --------------------------------------------------------------------------- JSON shapes


def pin_status_json(p: LocalPin, delegates: tuple[str, ...]) -> dict[str, Any]:
    pin: dict[str, Any] = {"cid": p.cid_text, "origins": list(p.origins), "meta": p.meta}
    if p.name:
        pin["name"] = p.name
    info: dict[str, str] = {}
    if p.details:
        info["status_details"] = p.details
    if p.size is not None:
        info["raw_size"] = str(p.size)
    return {
        "requestid": p.requestid,
        "status": str(p.status),
        "created": format_time(p.created_ns),
        "pin": pin,
        "delegates": list(delegates),
        "info": info,
    }


_P2P_TAIL = re.compile(r"/(?:p2p|ipfs)/[^/]+$")


async def delegates_of(port: NodePort, svc: FileService) -> tuple[str, ...]:
    """The spec wants 1..20 delegates, each ending in ``/p2p/<peer id>``: the configured
    multiaddrs that do (Kubo's ``pin remote add`` fails on one that does not, after the pin
    was made), else ``/p2p/<node id>``."""
    dialable = tuple(d for d in svc.delegates if _P2P_TAIL.search(d))
    if dialable:
        return dialable[:20]
    return (f"/p2p/{(await port.status()).node_id or 'qos'}",)


def _string_map(value: object, what: str, limit: int) -> dict[str, str]:
    if not isinstance(value, dict) or len(value) > limit:
        raise bad(f"{what} must be a JSON object of at most {limit} string values")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise bad(f"{what} values must be strings")
    return dict(value)


def parse_pin(body: bytes) -> tuple[str, str, dict[str, str], tuple[str, ...]]:
    """``(cid, name, meta, origins)`` of a ``Pin`` object; ``Failure(400)`` if malformed.

    ``origins`` are hints: the spec bounds them to 20 unique multiaddrs, but Kubo's ``pin
    remote add`` sends every address of its node (often more than 20, sometimes repeated),
    so they are deduplicated and the first 20 kept rather than the pin refused."""
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError) as exc:  # RecursionError: deep nesting
        raise bad(f"the body is not JSON: {exc}") from exc
    if not isinstance(obj, dict) or not isinstance(obj.get("cid"), str):
        raise bad("a Pin object needs a string 'cid'")
    cid = obj["cid"]
    try:
        CID.parse(cid)
    except InvalidCid as exc:
        raise bad(f"invalid cid: {exc.message}") from exc
    name = obj.get("name", "")
    if not isinstance(name, str) or len(name) > MAX_NAME:
        raise bad(f"name must be a string of at most {MAX_NAME} characters")
    origins = obj.get("origins", [])
    if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
        raise bad("origins must be a list of multiaddr strings")
    meta = _string_map(obj.get("meta", {}), "meta", MAX_META)
    return cid, name, meta, tuple(dict.fromkeys(origins))[:MAX_ORIGINS]


def parse_query(request: Request) -> PinQuery:
    q = request.query_params
    cids: list[bytes] = []
    if "cid" in q:
        texts = [t for t in q["cid"].split(",") if t]
        if not 1 <= len(texts) <= MAX_CID_FILTER:
            raise bad(f"cid takes 1..{MAX_CID_FILTER} comma-separated CIDs")
        for t in texts:
            try:
                cids.append(CID.parse(t).to_bytes())
            except InvalidCid as exc:
                raise bad(f"invalid cid {t[:64]!r}: {exc.message}") from exc
    name = q.get("name")
    if name is not None and len(name) > MAX_NAME:
        raise bad(f"name has at most {MAX_NAME} characters")
    try:
        match = Match(q.get("match", "exact"))
    except ValueError as exc:
        raise bad("match must be exact, iexact, partial or ipartial") from exc
    statuses: tuple[PinStatus, ...] = (PinStatus.PINNED,)
    if "status" in q:
        try:
            statuses = tuple(dict.fromkeys(PinStatus(s) for s in q["status"].split(",")))
        except ValueError as exc:
            raise bad("status takes queued, pinning, pinned, failed (comma-separated)") from exc
    times: dict[str, int | None] = {"before": None, "after": None}
    for key in times:
        if key in q:
            try:
                times[key] = parse_time(q[key])
            except ValueError as exc:
                raise bad(f"{key}: {exc}") from exc
    try:
        limit = int(q.get("limit", "10"))
    except ValueError as exc:
        raise bad("limit must be an integer") from exc
    if not 1 <= limit <= 1000:
        raise bad("limit must be between 1 and 1000")
    meta: dict[str, str] = {}
    if "meta" in q:
        try:
            meta = _string_map(json.loads(q["meta"]), "meta", MAX_META)
        except (ValueError, RecursionError) as exc:  # RecursionError: deep nesting
            raise bad(f"meta is not JSON: {exc}") from exc
        if any('"' in k or "\\" in k for k in meta):
            raise bad("meta keys must not contain quotes or backslashes")
    return PinQuery(
        tuple(cids), name, match, statuses, times["before"], times["after"],
        tuple(meta.items()), limit,
    )  # fmt: skip


# --------------------------------------------------------------------------- routes


def pinning_routes(port: NodePort) -> list[Route]:
    async def _ctx(request: Request) -> tuple[FileService, str]:
        svc = service_of(port)
        return svc, await authenticate(svc, request)

    async def _status(svc: FileService, p: LocalPin, code: int = 200) -> JSONResponse:
        return JSONResponse(pin_status_json(p, await delegates_of(port, svc)), status_code=code)

    async def list_pins(request: Request) -> Response:
        svc, did = await _ctx(request)
        query = parse_query(request)
        count, pins = await run_in_threadpool(svc.list_pins, did, query)
        delegates = await delegates_of(port, svc)
        results = [pin_status_json(p, delegates) for p in pins]
        return JSONResponse({"count": count, "results": results})

    async def add_pin(request: Request) -> Response:
        svc, did = await _ctx(request)
        cid, name, meta, origins = parse_pin(await request.body())

        def run() -> LocalPin:
            p = svc.request_pin(did, cid, name=name, meta=meta, origins=origins)
            return svc.process(did, p.requestid)

        return await _status(svc, await run_in_threadpool(run), 202)

    async def get_pin(request: Request) -> Response:
        svc, did = await _ctx(request)
        rid = request.path_params["requestid"]
        try:
            p = await run_in_threadpool(svc.get_pin, did, rid)
        except LocalPinNotFound as exc:
            raise Failure(404, "NOT_FOUND", exc.message) from exc
        return await _status(svc, p)

    async def replace_pin(request: Request) -> Response:
        svc, did = await _ctx(request)
        rid = request.path_params["requestid"]
        cid, name, meta, origins = parse_pin(await request.body())
        try:
            p = await run_in_threadpool(
                lambda: svc.replace_pin(did, rid, cid, name=name, meta=meta, origins=origins)
            )
        except LocalPinNotFound as exc:
            raise Failure(404, "NOT_FOUND", exc.message) from exc
        return await _status(svc, p, 202)

    async def delete_pin(request: Request) -> Response:
        svc, did = await _ctx(request)
        try:
            await run_in_threadpool(svc.remove_pin, did, request.path_params["requestid"])
        except LocalPinNotFound as exc:
            raise Failure(404, "NOT_FOUND", exc.message) from exc
        return Response(status_code=202)

    async def create_token(request: Request) -> Response:
        svc = service_of(port)
        did, label, digest = await verify_token_request(port, await request.body())
        try:
            tid, token = await run_in_threadpool(svc.issue_token, did, label, digest)
        except TokenError as exc:
            raise Failure(409, "TOKEN_REQUEST_REPLAYED", exc.message) from exc
        body = {"id": tid, "token": token, "did": did, "label": label}
        return JSONResponse(body, status_code=201)

    async def list_tokens(request: Request) -> Response:
        svc, did = await _ctx(request)
        tokens = await run_in_threadpool(svc.tokens, did)
        return JSONResponse(
            {
                "tokens": [
                    {
                        "id": t.id,
                        "label": t.label,
                        "created": format_time(t.created_ns),
                        "revoked": None if t.revoked_ns is None else format_time(t.revoked_ns),
                    }
                    for t in tokens
                ]
            }
        )

    async def revoke_token(request: Request) -> Response:
        svc, did = await _ctx(request)
        try:
            await run_in_threadpool(svc.revoke_token, did, request.path_params["id"])
        except LocalPinNotFound as exc:
            raise Failure(404, "NOT_FOUND", exc.message) from exc
        return Response(status_code=204)

    return [
        Route("/pins", _guard(list_pins), methods=["GET"]),
        Route("/pins", _guard(add_pin), methods=["POST"]),
        Route("/pins/{requestid}", _guard(get_pin), methods=["GET"]),
        Route("/pins/{requestid}", _guard(replace_pin), methods=["POST"]),
        Route("/pins/{requestid}", _guard(delete_pin), methods=["DELETE"]),
        Route("/auth/tokens", _guard(create_token), methods=["POST"]),
        Route("/auth/tokens", _guard(list_tokens), methods=["GET"]),
        Route("/auth/tokens/{id}", _guard(revoke_token), methods=["DELETE"]),
    ]


async def verify_token_request(port: NodePort, body: bytes) -> tuple[str, str, bytes]:
    """``(did, label, request digest)`` of a valid signed token request."""
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError) as exc:  # RecursionError: deep nesting
        raise bad(f"the body is not JSON: {exc}") from exc
    fields = ("did", "signer", "label", "issued", "signature")
    if not isinstance(obj, dict) or not all(isinstance(obj.get(f), str) for f in fields):
        raise bad(f"a token request has string fields {', '.join(fields)}")
    did, signer, label, issued = obj["did"], obj["signer"], obj["label"], obj["issued"]
    if len(label) > MAX_LABEL or len(did) > 256 or not signer.startswith(did + "#"):
        raise bad("label too long, or signer is not a method of did")
    try:
        issued_ns = parse_time(issued)
        sig = base64.b64decode(obj["signature"], validate=True)
    except (ValueError, binascii.Error) as exc:
        raise bad(f"issued or signature is malformed: {exc}") from exc
    if abs(time.time_ns() - issued_ns) > TOKEN_SKEW_NS:
        raise Failure(401, "UNAUTHORIZED", "the token request is not fresh (check 'issued')")
    try:
        keys = await port.did_invocation_keys(did)
    except QosError as exc:
        raise bad(exc.message) from exc
    if keys is None:
        raise Failure(401, "UNAUTHORIZED", f"{did[:80]} is not an active DID")
    chain_id = (await port.status()).chain_id
    key = keys.get(signer)
    payload = token_request_bytes(chain_id, did, signer, label, issued)
    if key is None or len(sig) != 64 or not is_valid(key, payload, sig):
        raise Failure(401, "UNAUTHORIZED", "the request is not signed by a key of the DID")
    return did, label, hashlib.sha256(sig).digest()
