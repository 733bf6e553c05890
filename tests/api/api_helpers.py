"""Helpers shared by the API tests (imported as a plain module: tests have no packages)."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from qos_chain.address import Address

RECIPIENT = Address(bytes(range(100, 120)))

SUBMIT = """
mutation Submit($tx: String!) {
  submitTransaction(signedTx: $tx) {
    __typename
    ... on TransactionAccepted { hash }
    ... on TransactionRejected { code message }
  }
}
"""


async def gql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """POST a GraphQL request; return the decoded body (asserting it is not a 5xx)."""
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    r = await client.post("/graphql", json=body)
    assert r.status_code < 500, r.text
    out: dict[str, Any] = r.json()
    return out


async def data(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Like :func:`gql` but the request must succeed without errors."""
    out = await gql(client, query, variables)
    assert "errors" not in out, out
    result: dict[str, Any] = out["data"]
    return result


async def submit(client: httpx.AsyncClient, raw: bytes) -> dict[str, Any]:
    d = await data(client, SUBMIT, {"tx": base64.b64encode(raw).decode()})
    result: dict[str, Any] = d["submitTransaction"]
    return result


def error_messages(out: dict[str, Any]) -> list[str]:
    return [e["message"] for e in out.get("errors") or []]


async def wait_until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    """Yield to the loop until ``cond()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached before the deadline")
        await asyncio.sleep(0)  # sleep-ok: yield to the loop inside a deadline-bounded wait


async def first_of(aw: Awaitable[Any], timeout: float = 5.0) -> Any:
    return await asyncio.wait_for(aw, timeout)
