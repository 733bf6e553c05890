"""A small synchronous GraphQL client for the CLI (httpx)."""

from __future__ import annotations

from typing import Any

import httpx

from qos_chain.errors import QosError


class ApiUnreachable(QosError):
    code = "api_unreachable"


class ApiError(QosError):
    code = "api_error"


def graphql(
    url: str, query: str, variables: dict[str, Any] | None = None, timeout: float = 10.0
) -> dict[str, Any]:
    try:
        resp = httpx.post(url, json={"query": query, "variables": variables or {}}, timeout=timeout)
    except httpx.HTTPError as exc:
        raise ApiUnreachable(f"cannot reach the node API at {url}: {exc}") from exc
    try:
        body = resp.json()
    except ValueError as exc:
        raise ApiError(f"API answered HTTP {resp.status_code} without JSON") from exc
    if not isinstance(body, dict):
        raise ApiError("API answered with a non-object")
    errors = body.get("errors")
    if errors:
        first = errors[0] if isinstance(errors[0], dict) else {}
        ext = first.get("extensions") or {}
        code = ext.get("code") if isinstance(ext, dict) else None
        message = "; ".join(str(e.get("message", e)) for e in errors if isinstance(e, dict))
        raise ApiError(message or "the API reported an error", code=str(code) if code else None)
    data = body.get("data")
    if not isinstance(data, dict):
        raise ApiError(f"API answered HTTP {resp.status_code} without data")
    return data
