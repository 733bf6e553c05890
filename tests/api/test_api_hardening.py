"""Invalid documents give GraphQL errors (never a 500); limits hold; faults are masked."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import httpx
import pytest
from api_helpers import error_messages, gql
from starlette.requests import Request

from qos_api.pinning import Failure, parse_pin, parse_query
from qos_node.port import LocalNodePort

pytestmark = pytest.mark.anyio


async def test_syntax_error_is_a_graphql_error(client: httpx.AsyncClient) -> None:
    r = await client.post("/graphql", json={"query": "{ status { "})
    assert r.status_code in (200, 400)
    assert "Syntax Error" in error_messages(r.json())[0]


async def test_unknown_field_is_a_graphql_error(client: httpx.AsyncClient) -> None:
    r = await client.post("/graphql", json={"query": "{ status { nope } }"})
    assert r.status_code in (200, 400)
    assert "Cannot query field 'nope'" in error_messages(r.json())[0]


async def test_wrong_argument_type_is_a_graphql_error(client: httpx.AsyncClient) -> None:
    out = await gql(client, '{ blocks(first: "ten") { edges { cursor } } }')
    assert error_messages(out)


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"query": 5}', b'{"variables": {}}', b'{"query": ""}']
)
async def test_malformed_request_bodies_are_not_500(client: httpx.AsyncClient, body: bytes) -> None:
    r = await client.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert r.status_code < 500, r.text


async def test_too_deep_query_is_refused(client: httpx.AsyncClient) -> None:
    # The schema has no cycles today (introspection fields are exempt from the limit), so
    # the deepest valid query is 7 levels; the limit guards future recursive types and is
    # checked on the document itself, before any resolver runs.
    nested = "height"
    for i in range(11):
        nested = f"f{i} {{ {nested} }}"
    out = await gql(client, f"{{ blocks {{ {nested} }} }}")
    assert out.get("data") is None
    assert any("exceeds maximum operation depth of 10" in m for m in error_messages(out)), out


async def test_depth_limit_allows_real_queries(client: httpx.AsyncClient) -> None:
    q = """{ blocks(first: 1) { edges { node { transactions { events { attributes { key } } }
             commit { signatures { flag } } } } } }"""
    out = await gql(client, q)
    assert "errors" not in out, out


async def test_too_many_aliases_are_refused(client: httpx.AsyncClient) -> None:
    q = "{ " + " ".join(f"a{i}: status {{ height }}" for i in range(31)) + " }"
    out = await gql(client, q)
    assert any("aliases" in m for m in error_messages(out)), out


async def test_too_many_tokens_are_refused(client: httpx.AsyncClient) -> None:
    q = "{ status { " + "height " * 2100 + "} }"
    out = await gql(client, q)
    assert any("token" in m.lower() for m in error_messages(out)), out


async def test_internal_errors_are_masked(
    client: httpx.AsyncClient,
    port: LocalNodePort,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def boom() -> None:
        raise RuntimeError("secret")

    monkeypatch.setattr(port, "status", boom)
    with caplog.at_level(logging.ERROR):
        r = await client.post("/graphql", json={"query": "{ status { height } }"})
    assert r.status_code == 200
    assert "secret" not in r.text
    assert error_messages(r.json()) == ["Unexpected error."]
    assert "secret" in caplog.text  # ... but the operator sees it in the log


async def test_client_errors_are_not_masked_nor_logged(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        out = await gql(client, "{ block { height } }")
    assert "exactly one" in error_messages(out)[0]
    assert out["errors"][0]["extensions"] == {"code": "invalid_argument"}
    assert "exactly one" not in caplog.text


async def test_mutation_over_get_is_refused(client: httpx.AsyncClient) -> None:
    r = await client.get(
        "/graphql", params={"query": 'mutation { submitTransaction(signedTx: "") { __typename } }'}
    )
    assert 400 <= r.status_code < 500


DEEP = b"[" * 100_000 + b"]" * 100_000  # 200 KB, under the body limit; json.loads recurses


@pytest.mark.parametrize("path", ["/graphql", "/txs"])
async def test_deeply_nested_json_is_a_client_error(client: httpx.AsyncClient, path: str) -> None:
    r = await client.post(path, content=DEEP, headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500, r.text


def test_deeply_nested_pin_bodies_and_meta_are_400() -> None:
    with pytest.raises(Failure) as exc:
        parse_pin(DEEP)
    assert exc.value.status == 400
    query = urlencode({"meta": DEEP.decode()}).encode()
    request = Request({"type": "http", "query_string": query, "headers": []})
    with pytest.raises(Failure) as exc:
        parse_query(request)
    assert exc.value.status == 400
