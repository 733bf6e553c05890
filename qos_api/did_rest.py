"""REST: the Universal Resolver driver interface, ``GET /1.0/identifiers/{did}``.

Query parameters ``versionId`` and ``versionTime`` select a version. ``Accept`` picks the
representation (q-values honoured; ``*/*`` or no header: the default):

==================================================================  =====================
Accept                                                              body
==================================================================  =====================
``application/did+ld+json`` (default)                               the DID document
                                                                    (JSON-LD, @context)
``application/did+json``                                            the document, no
                                                                    @context
``application/did-resolution``,                                     the whole resolution
``application/ld+json;profile="https://w3id.org/did-resolution"``   result
==================================================================  =====================

Statuses as the Universal Resolver uses them: 200; 400 ``invalidDid`` / ``invalidOptions``
/ ``invalidPublicKeyType``; 404 ``notFound``; 406 ``representationNotSupported``; 410 a
deactivated DID (the body is the resolution result, whose metadata says
``deactivated: true``); 501 ``methodNotSupported``; 500 ``internalError`` (a node fault).
Every error and the 410 carry the resolution result as their JSON body, typed
``application/did-resolution`` (``application/json`` if the client did not accept that).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from qos_api.ports import NodePort
from qos_identity.resolver import (
    DID_JSON,
    DID_LD_JSON,
    DID_RESOLUTION,
    RESOLUTION_CONTEXT,
    ResolutionResult,
)

log = logging.getLogger("qos.api.did")

LD_JSON = "application/ld+json"
RESOLUTION_PROFILE = "https://w3id.org/did-resolution"
LD_RESOLUTION = f'{LD_JSON};profile="{RESOLUTION_PROFILE}"'
MAX_DID_CHARS = 2048


@dataclass(frozen=True, slots=True)
class Representation:
    media_type: str  # the Content-Type we answer with
    document: str | None  # DID_LD_JSON / DID_JSON: return the document; None: the result


_DEFAULT = Representation(DID_LD_JSON, DID_LD_JSON)
_OFFERS = {
    DID_LD_JSON: _DEFAULT,
    DID_JSON: Representation(DID_JSON, DID_JSON),
    DID_RESOLUTION: Representation(DID_RESOLUTION, None),
}


def _media_ranges(accept: str) -> list[tuple[float, int, str, dict[str, str]]]:
    out = []
    for i, part in enumerate(accept.split(",")):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        if not media:
            continue
        params: dict[str, str] = {}
        q = 1.0
        for p in pieces[1:]:
            k, _, v = p.partition("=")
            k, v = k.strip().lower(), v.strip().strip('"')
            if k == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
            elif k:
                params[k] = v
        if q > 0:
            out.append((-q, i, media, params))
    out.sort()
    return out


def negotiate(accept: str | None) -> Representation | None:
    """The representation for an ``Accept`` header; ``None`` if nothing we offer fits."""
    if accept is None or not accept.strip():
        return _DEFAULT
    for _, _, media, params in _media_ranges(accept):
        if media in _OFFERS:
            return _OFFERS[media]
        if media == LD_JSON and params.get("profile") == RESOLUTION_PROFILE:
            return Representation(LD_RESOLUTION, None)
        if media in ("*/*", "application/*"):
            return _DEFAULT
    return None


def _accepts(accept: str | None, media: str) -> bool:
    return accept is not None and media in accept


def _json(body: dict[str, Any] | None, status: int, media_type: str) -> Response:
    content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(content, status_code=status, media_type=media_type)


def _error_body(did: str, code: str, message: str) -> dict[str, Any]:
    return {
        "@context": RESOLUTION_CONTEXT,
        "didDocument": None,
        "didResolutionMetadata": {"error": code, "errorMessage": message},
        "didDocumentMetadata": {},
    }


def resolver_endpoint(port: NodePort) -> Any:
    async def identifiers(request: Request) -> Response:
        did: str = request.path_params["did"]
        accept = request.headers.get("accept")
        rep = negotiate(accept)
        error_type = DID_RESOLUTION if _accepts(accept, DID_RESOLUTION) else "application/json"
        if rep is None:
            body = _error_body(did, "representationNotSupported", f"cannot produce {accept!r}")
            return _json(body, 406, error_type)
        if len(did) > MAX_DID_CHARS:
            body = _error_body(did[:64], "invalidDid", f"a DID has at most {MAX_DID_CHARS} chars")
            return _json(body, 400, error_type)
        params = request.query_params
        try:
            result: ResolutionResult = await port.resolve_did(
                did,
                params.get("versionId"),
                params.get("versionTime"),
                rep.document or DID_LD_JSON,
            )
        except Exception:
            log.exception("resolution of %r failed", did[:80])
            body = _error_body(did, "internalError", "internal error")
            return _json(body, 500, error_type)
        status = result.http_status
        if rep.document is None:
            return _json(result.to_json(), status, rep.media_type)
        if status == 200:
            return _json(result.did_document_json(), 200, rep.media_type)
        return _json(result.to_json(), status, error_type)

    return identifiers
