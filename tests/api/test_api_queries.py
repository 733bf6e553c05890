"""Queries: status, block, blocks (Relay pagination), account, transaction lookups, health."""

from __future__ import annotations

import base64

import httpx
import pytest
from api_helpers import RECIPIENT, data, error_messages, gql, submit

from qos_chain.address import address_to_text
from qos_chain.genesis import format_time
from qos_node.port import LocalNodePort
from qos_node.testing import TestNode

pytestmark = pytest.mark.anyio

BLOCK_FIELDS = """
  height hash time proposer parentHash lastCommitHash txRoot appHash validatorsHash numTxs
  transactions { hash height index sender nonce success codeName }
  commit { height round blockHash signatures { flag validator time signature } }
"""

PAGE = """
query Page($first: Int, $after: String) {
  blocks(first: $first, after: $after) {
    edges { cursor node { height } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


async def test_status_reports_the_chain_head(client: httpx.AsyncClient, tnode: TestNode) -> None:
    applied = tnode.produce()
    d = await data(
        client,
        "{ status { chainId nodeId height latestBlockHash latestBlockTime appHash "
        "validatorAddress mempoolSize } }",
    )
    s = d["status"]
    assert s == {
        "chainId": tnode.chain_id,
        "nodeId": "test-node",
        "height": 1,
        "latestBlockHash": applied.block.hash().hex(),
        "latestBlockTime": format_time(applied.block.header.time_ns),
        "appHash": applied.state.app_hash.hex(),
        "validatorAddress": address_to_text(tnode.node.privval.address),
        "mempoolSize": 0,
    }
    assert s["latestBlockTime"].endswith("Z")


async def test_status_counts_the_mempool(client: httpx.AsyncClient, tnode: TestNode) -> None:
    assert (await submit(client, tnode.transfer(RECIPIENT, 1)))["__typename"] == (
        "TransactionAccepted"
    )
    d = await data(client, "{ status { height mempoolSize } }")
    assert d["status"] == {"height": 0, "mempoolSize": 1}


async def test_block_by_height_and_by_hash(client: httpx.AsyncClient, tnode: TestNode) -> None:
    tnode.produce()
    accepted = await submit(client, tnode.transfer(RECIPIENT, 7))
    applied = tnode.produce()
    block_hash = applied.block.hash().hex()

    by_height = (await data(client, f"{{ block(height: 2) {{ {BLOCK_FIELDS} }} }}"))["block"]
    by_hash = (
        await data(
            client,
            f"query($h: String!) {{ block(hash: $h) {{ {BLOCK_FIELDS} }} }}",
            {"h": block_hash.upper()},
        )
    )["block"]
    assert by_height == by_hash
    b = by_height
    h = applied.block.header
    assert b["height"] == 2
    assert b["hash"] == block_hash
    assert b["time"] == format_time(h.time_ns)
    assert b["proposer"] == address_to_text(tnode.node.privval.address)
    assert b["parentHash"] == h.parent_hash.hex()
    assert b["appHash"] == h.app_hash.hex()
    assert b["numTxs"] == 1
    assert b["transactions"] == [
        {
            "hash": accepted["hash"],
            "height": 2,
            "index": 0,
            "sender": address_to_text(tnode.faucet_address),
            "nonce": 0,
            "success": True,
            "codeName": "ok",
        }
    ]
    commit = b["commit"]
    assert commit["height"] == 2
    assert commit["blockHash"] == block_hash
    assert [s["flag"] for s in commit["signatures"]] == ["COMMIT"]
    assert commit["signatures"][0]["validator"] == b["proposer"]
    assert len(commit["signatures"][0]["signature"]) == 128


async def test_block_not_found_is_null(client: httpx.AsyncClient) -> None:
    d = await data(
        client,
        "query($h: String!) { a: block(height: 99) { height } b: block(hash: $h) { height } }",
        {"h": "00" * 32},
    )
    assert d == {"a": None, "b": None}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ("", "exactly one"),
        ('height: 1, hash: "00"', "exactly one"),
        ('hash: "xyz"', "64 hex characters"),
        ("height: 0", "at least 1"),
    ],
)
async def test_block_argument_errors(client: httpx.AsyncClient, args: str, needle: str) -> None:
    q = f"{{ block{'(' + args + ')' if args else ''} {{ height }} }}"
    out = await gql(client, q)
    msgs = error_messages(out)
    assert len(msgs) == 1, out
    assert needle in msgs[0]
    assert out["errors"][0]["extensions"] == {"code": "invalid_argument"}


async def test_blocks_paginate_newest_first(client: httpx.AsyncClient, tnode: TestNode) -> None:
    for _ in range(6):
        tnode.produce()
    heights: list[int] = []
    after = None
    pages = 0
    while True:
        conn = (await data(client, PAGE, {"first": 4, "after": after}))["blocks"]
        pages += 1
        page = [e["node"]["height"] for e in conn["edges"]]
        heights += page
        info = conn["pageInfo"]
        assert info["endCursor"] == conn["edges"][-1]["cursor"]
        assert info["startCursor"] == conn["edges"][0]["cursor"]
        assert info["hasPreviousPage"] is (after is not None)
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert heights == [6, 5, 4, 3, 2, 1]
    assert pages == 2

    # an exact fit: hasNextPage is false on the last page, the next page is empty
    conn = (await data(client, PAGE, {"first": 6}))["blocks"]
    assert len(conn["edges"]) == 6
    assert conn["pageInfo"]["hasNextPage"] is False
    conn = (await data(client, PAGE, {"first": 3, "after": conn["pageInfo"]["endCursor"]}))[
        "blocks"
    ]
    assert conn["edges"] == []
    assert conn["pageInfo"]["hasNextPage"] is False
    assert conn["pageInfo"]["endCursor"] is None


async def test_blocks_default_page_size(client: httpx.AsyncClient, tnode: TestNode) -> None:
    for _ in range(22):
        tnode.produce()
    conn = (await data(client, PAGE))["blocks"]
    assert [e["node"]["height"] for e in conn["edges"]] == list(range(22, 2, -1))
    assert conn["pageInfo"]["hasNextPage"] is True


async def test_blocks_empty_chain(client: httpx.AsyncClient) -> None:
    conn = (await data(client, PAGE, {"first": 5}))["blocks"]
    assert conn["edges"] == []
    assert conn["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": False,
        "startCursor": None,
        "endCursor": None,
    }


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64!",
        base64.b64encode(b"block:x").decode(),
        base64.b64encode(b"tx:3").decode(),
        base64.b64encode(b"block:0").decode(),
        base64.b64encode(b"block:99999999999999999999").decode(),
        "",
    ],
)
async def test_blocks_bad_cursor(client: httpx.AsyncClient, cursor: str) -> None:
    out = await gql(client, PAGE, {"first": 2, "after": cursor})
    assert out["data"] is None
    assert "invalid cursor" in error_messages(out)[0]
    assert out["errors"][0]["extensions"] == {"code": "invalid_cursor"}


@pytest.mark.parametrize("first", [101, -1])
async def test_blocks_first_out_of_range(client: httpx.AsyncClient, first: int) -> None:
    out = await gql(client, PAGE, {"first": first})
    assert "first must be between 0 and 100" in error_messages(out)[0]


async def test_blocks_first_100_is_allowed(client: httpx.AsyncClient, tnode: TestNode) -> None:
    tnode.produce()
    conn = (await data(client, PAGE, {"first": 100}))["blocks"]
    assert len(conn["edges"]) == 1


async def test_account(client: httpx.AsyncClient, tnode: TestNode) -> None:
    q = """query($a: String!) { account(address: $a) {
      __typename ... on Account { address balance nonce } ... on InvalidInput { code message }
    } }"""
    faucet = address_to_text(tnode.faucet_address)
    acct = (await data(client, q, {"a": faucet}))["account"]
    assert acct == {
        "__typename": "Account",
        "address": faucet,
        "balance": str(10**12),
        "nonce": 0,
    }
    unknown = (await data(client, q, {"a": address_to_text(RECIPIENT)}))["account"]
    assert unknown["balance"] == "0"
    assert unknown["nonce"] == 0
    bad = (await data(client, q, {"a": "qos1notanaddress"}))["account"]
    assert bad["__typename"] == "InvalidInput"
    assert bad["code"] == "invalid_address"
    assert bad["message"]


async def test_transaction_lookup_errors(client: httpx.AsyncClient) -> None:
    q = "query($h: String!) { transaction(hash: $h) { hash } }"
    assert (await data(client, q, {"h": "ab" * 32}))["transaction"] is None
    out = await gql(client, q, {"h": "abc"})
    assert "64 hex characters" in error_messages(out)[0]


async def test_health(client: httpx.AsyncClient, tnode: TestNode) -> None:
    tnode.produce()
    r = await client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "height": 1}


async def test_health_when_the_node_fails(
    client: httpx.AsyncClient, port: LocalNodePort, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def boom() -> None:
        raise RuntimeError("secret")

    monkeypatch.setattr(port, "status", boom)
    r = await client.get("/health")
    assert r.status_code == 503
    assert "secret" not in r.text


async def test_graphiql_on_browser_get(client: httpx.AsyncClient) -> None:
    r = await client.get("/graphql", headers={"accept": "text/html"})
    assert r.status_code == 200
    assert "graphiql" in r.text.lower()


async def test_query_via_get(client: httpx.AsyncClient, tnode: TestNode) -> None:
    r = await client.get("/graphql", params={"query": "{ status { chainId } }"})
    assert r.status_code == 200
    assert r.json() == {"data": {"status": {"chainId": tnode.chain_id}}}
