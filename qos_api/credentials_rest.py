"""REST: W3C Bitstring Status List credentials, served at the URL credentials name.

``GET /credentials/status/{issuer}/{purpose}/{list}`` (``purpose`` = ``revocation`` or
``suspension``, ``list`` a decimal list number) answers 200 with the
``BitstringStatusListCredential`` built from committed chain state
(``qos_identity.credentials.status_list``), typed ``application/vc`` (the VC Data Model
2.0 media type; the list is not signed by the issuer: its authority is the chain, see
docs/credentials.md section 5). Its ``id`` is the request URL.

Errors are JSON ``{"error": <code>, "message": <text>}`` typed ``application/json``:
400 ``invalidDid`` / ``invalid_purpose`` / ``invalid_list``; 404 ``not_found`` (the issuer
has no index assigned in that list); 500 ``internal`` (a node fault, logged).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from qos_api.ports import NodePort
from qos_identity.credentials.model import is_did
from qos_identity.credentials.status_list import STATUS_PATH

log = logging.getLogger("qos.api.credentials")

VC_MEDIA_TYPE = "application/vc"
PURPOSES = ("revocation", "suspension")
MAX_LIST_DIGITS = 9


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


def status_list_endpoint(port: NodePort) -> Callable[[Request], Awaitable[Response]]:
    async def status_list(request: Request) -> Response:
        issuer: str = request.path_params["issuer"]
        purpose: str = request.path_params["purpose"]
        list_text: str = request.path_params["list_id"]
        if not is_did(issuer):
            return _error(400, "invalidDid", f"{issuer[:80]!r} is not a DID")
        if purpose not in PURPOSES:
            return _error(400, "invalid_purpose", f"purpose must be one of {PURPOSES}")
        if not list_text.isdigit() or len(list_text) > MAX_LIST_DIGITS:
            return _error(400, "invalid_list", "the list is a decimal number below 10**9")
        base = str(request.base_url).rstrip("/")
        try:
            doc: dict[str, Any] | None = await port.status_list(
                base, issuer, purpose, int(list_text)
            )
        except Exception:
            log.exception("status list %s/%s/%s failed", issuer[:80], purpose, list_text)
            return _error(500, "internal", "internal error")
        if doc is None:
            return _error(404, "not_found", f"{issuer} has no {purpose} list {int(list_text)}")
        body = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
        return Response(body, media_type=VC_MEDIA_TYPE)

    return status_list


def credential_routes(port: NodePort) -> list[Route]:
    return [
        Route(
            STATUS_PATH + "{issuer}/{purpose}/{list_id}",
            status_list_endpoint(port),
            methods=["GET"],
        )
    ]
