"""Batch submission: ``submitTransactions`` (GraphQL) and ``POST /txs`` (REST): one trip
to the node per batch, one result per tx in order, bounded batches with typed errors."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from api_helpers import RECIPIENT, gql

from qos_api.ports import MAX_BATCH_BYTES, MAX_BATCH_TXS
from qos_chain.types import tx_hash
from qos_node.testing import TestNode

pytestmark = pytest.mark.anyio

SUBMIT_MANY = """
mutation($txs: [String!]!) {
  submitTransactions(signedTxs: $txs) {
    __typename
    ... on TransactionAccepted { hash }
    ... on TransactionRejected { code message }
  }
}
"""


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def pending_rows(tnode: TestNode) -> int:
    return int(tnode.bundle.db.conn.execute("SELECT COUNT(*) FROM mempool").fetchone()[0])


async def post_txs(client: httpx.AsyncClient, body: Any) -> httpx.Response:
    return await client.post("/txs", json=body)


# --------------------------------------------------------------------------- REST


async def test_rest_batch_is_accepted_in_order_and_durable(
    client: httpx.AsyncClient, tnode: TestNode
) -> None:
    txs = [tnode.transfer(RECIPIENT, 10 + i) for i in range(5)]  # nonces 0..4 in one batch
    r = await post_txs(client, {"txs": [b64(t) for t in txs]})
    assert r.status_code == 200, r.text
    assert r.json() == {"results": [{"accepted": True, "hash": tx_hash(t).hex()} for t in txs]}
    assert pending_rows(tnode) == 5  # durable before the answer
    applied = tnode.produce()
    assert applied.block.txs == tuple(txs)
    assert [res.code for res in applied.result.tx_results] == [0] * 5


async def test_rest_mixed_batch_reports_each_tx(client: httpx.AsyncClient, tnode: TestNode) -> None:
    good0 = tnode.transfer(RECIPIENT, 1, nonce=0)
    gap = tnode.transfer(RECIPIENT, 1, nonce=5)
    good1 = tnode.transfer(RECIPIENT, 1, nonce=1)
    r = await post_txs(client, {"txs": [b64(good0), b64(gap), b64(good0), b64(good1), "AAAA"]})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert results[0] == {"accepted": True, "hash": tx_hash(good0).hex()}
    assert results[3] == {"accepted": True, "hash": tx_hash(good1).hex()}
    refused = {i: (results[i]["accepted"], results[i]["code"]) for i in (1, 2, 4)}
    assert refused == {
        1: (False, "nonce_gap"),
        2: (False, "tx_already_in_mempool"),
        4: (False, "malformed_tx"),
    }
    assert all(isinstance(x.get("message", ""), str) for x in results)
    assert pending_rows(tnode) == 2
    assert tnode.produce().block.txs == (good0, good1)


async def test_rest_empty_batch(client: httpx.AsyncClient) -> None:
    r = await post_txs(client, {"txs": []})
    assert r.status_code == 200
    assert r.json() == {"results": []}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"not json", "invalid_request"),
        (b"[1, 2]", "invalid_request"),
        (b'{"txs": "AAAA"}', "invalid_request"),
        (b'{"txs": [1]}', "invalid_request"),
        (b'{"tx": []}', "invalid_request"),
        (b'{"txs": ["AAAA", "not base64!"]}', "invalid_encoding"),
    ],
)
async def test_rest_malformed_request_is_a_400_and_submits_nothing(
    client: httpx.AsyncClient, tnode: TestNode, body: bytes, code: str
) -> None:
    r = await client.post("/txs", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == code
    assert r.json()["error"]["message"]
    assert pending_rows(tnode) == 0


async def test_rest_too_many_txs_is_a_413(client: httpx.AsyncClient, tnode: TestNode) -> None:
    raw = b64(tnode.transfer(RECIPIENT, 1))
    r = await post_txs(client, {"txs": [raw] * (MAX_BATCH_TXS + 1)})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "batch_too_large"
    assert pending_rows(tnode) == 0


async def test_rest_too_many_bytes_is_a_413(client: httpx.AsyncClient, tnode: TestNode) -> None:
    big = b64(bytes(32 * 1024))
    n = MAX_BATCH_BYTES // (32 * 1024) + 1  # within the 1 MiB body limit, over the tx bytes
    r = await post_txs(client, {"txs": [big] * n})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "batch_too_large"


async def test_rest_body_over_the_request_limit_is_a_413(client: httpx.AsyncClient) -> None:
    r = await post_txs(client, {"txs": [b64(bytes(64 * 1024))] * 20})
    assert r.status_code == 413
    assert r.json()["errors"][0]["extensions"]["code"] == "request_too_large"


async def test_rest_only_post(client: httpx.AsyncClient) -> None:
    assert (await client.get("/txs")).status_code == 405


# --------------------------------------------------------------------------- GraphQL


async def test_graphql_batch_mixed_results(client: httpx.AsyncClient, tnode: TestNode) -> None:
    a = tnode.transfer(RECIPIENT, 1, nonce=0)
    b = tnode.transfer(RECIPIENT, 2, nonce=1)
    too_low = tnode.transfer(RECIPIENT, 3, nonce=0)
    out = await gql(client, SUBMIT_MANY, {"txs": [b64(a), "%%%", b64(b), b64(too_low)]})
    assert "errors" not in out, out
    res = out["data"]["submitTransactions"]
    assert res[0] == {"__typename": "TransactionAccepted", "hash": tx_hash(a).hex()}
    assert res[1]["__typename"] == "TransactionRejected"
    assert res[1]["code"] == "invalid_encoding"
    assert res[2] == {"__typename": "TransactionAccepted", "hash": tx_hash(b).hex()}
    assert res[3]["__typename"] == "TransactionRejected"
    assert res[3]["code"] == "nonce_already_pending"
    assert tnode.produce().block.txs == (a, b)


async def test_graphql_oversize_batch_is_a_typed_error(
    client: httpx.AsyncClient, tnode: TestNode
) -> None:
    raw = b64(tnode.transfer(RECIPIENT, 1))
    out = await gql(client, SUBMIT_MANY, {"txs": [raw] * (MAX_BATCH_TXS + 1)})
    assert out["data"] is None
    assert out["errors"][0]["extensions"]["code"] == "batch_too_large"
    assert pending_rows(tnode) == 0


async def test_graphql_empty_batch(client: httpx.AsyncClient) -> None:
    out = await gql(client, SUBMIT_MANY, {"txs": []})
    assert out == {"data": {"submitTransactions": []}}
