"""The ASGI application: GraphQL at ``/graphql`` (GraphiQL on browser GET, subscriptions
over ``graphql-transport-ws``), ``GET /health`` and the Universal Resolver driver route
``GET /1.0/identifiers/{did}`` (``did_rest``), ``POST /txs`` (batch submission,
``submit``), with a request body size limit."""

from __future__ import annotations

import json
import logging

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from qos_api.credentials_rest import credential_routes
from qos_api.did_rest import resolver_endpoint
from qos_api.files import UPLOAD_PATH, upload_routes
from qos_api.gateway import gateway_routes
from qos_api.pinning import pinning_routes
from qos_api.ports import NodePort
from qos_api.schema import ApiContext, schema
from qos_api.submit import submit_routes

log = logging.getLogger("qos.api")

MAX_BODY_BYTES = 1024 * 1024


class BodyLimit:
    """Refuse HTTP request bodies over ``max_bytes`` with 413 and a JSON error body.

    The body is read (at most ``max_bytes`` + one chunk) before the app runs, so an
    oversize request never reaches a resolver, chunked or not.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, streamed: frozenset[str] = frozenset()
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.streamed = streamed  # paths that stream their body and enforce their own limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.streamed:
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replay: list[Message] = [{"type": "http.request", "body": b"".join(chunks)}]

        async def replayed() -> Message:
            return replay.pop() if replay else await receive()

        await self.app(scope, replayed, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse(
            {
                "errors": [
                    {
                        "message": f"request body exceeds {self.max_bytes} bytes",
                        "extensions": {"code": "request_too_large"},
                    }
                ]
            },
            status_code=413,
        )
        await response(scope, receive, send)


class QosGraphQL(GraphQL[ApiContext, None]):
    def __init__(self, port: NodePort) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql",
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        )
        self.port = port

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> ApiContext:
        return ApiContext(self.port, request, response)

    def decode_json(self, data: str | bytes) -> object:
        """JSON too deeply nested for the parser is malformed JSON (a 400), not a 500."""
        try:
            return super().decode_json(data)
        except RecursionError as exc:
            doc = data if isinstance(data, str) else ""
            raise json.JSONDecodeError("JSON nested too deeply", doc, 0) from exc


def create_app(port: NodePort) -> Starlette:
    graphql = QosGraphQL(port)

    async def health(_: Request) -> JSONResponse:
        try:
            status = await port.status()
        except Exception:
            log.exception("health check failed")
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok", "height": status.height})

    return Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/1.0/identifiers/{did:path}", resolver_endpoint(port), methods=["GET"]),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            *pinning_routes(port),
            *upload_routes(port),
            *gateway_routes(port),
            *credential_routes(port),
            *submit_routes(port),
        ],
        middleware=[
            Middleware(BodyLimit, max_bytes=MAX_BODY_BYTES, streamed=frozenset({UPLOAD_PATH}))
        ],
    )
