"""submitTransaction: the accepted path end to end, and a stable code for every refusal."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
from api_helpers import RECIPIENT, SUBMIT, data, submit

from qos_app.bank import MSG_SEND, MsgSend
from qos_app.tx import Fee, Tx, TxBody, TypedMsg, sign_tx
from qos_chain import codec
from qos_chain.address import address_to_text
from qos_node.testing import FAUCET_FUNDS, TestNode, make_transfer

pytestmark = pytest.mark.anyio

TX_QUERY = """
query($h: String!) {
  transaction(hash: $h) {
    hash height index sender nonce fee feePayer memo
    messages { typeUrl value }
    success code codeName log
    events { type attributes { key value } }
    raw
  }
}
"""

ACCOUNT = """
query($a: String!) { account(address: $a) { ... on Account { balance nonce } } }
"""


def signed(tnode: TestNode, msgs: tuple[TypedMsg, ...], nonce: int = 0, memo: str = "") -> bytes:
    body = TxBody(
        chain_id=tnode.chain_id,
        sender=tnode.faucet_address,
        nonce=nonce,
        msgs=msgs,
        fee=Fee(0, None),
        memo=memo,
        timeout_height=None,
    )
    return codec.encode(sign_tx(body, (tnode.faucet_pk, tnode.faucet_seed)))


async def test_transfer_is_committed_and_visible(
    client: httpx.AsyncClient, tnode: TestNode
) -> None:
    raw = tnode.transfer(RECIPIENT, 1234, fee=10)
    accepted = await submit(client, raw)
    assert accepted["__typename"] == "TransactionAccepted"
    txhash = accepted["hash"]
    # pending txs are not reported as committed
    assert (await data(client, TX_QUERY, {"h": txhash}))["transaction"] is None

    applied = tnode.produce()
    assert applied.block.txs == (raw,)

    tx = (await data(client, TX_QUERY, {"h": txhash}))["transaction"]
    faucet = address_to_text(tnode.faucet_address)
    recipient = address_to_text(RECIPIENT)
    assert tx == {
        "hash": txhash,
        "height": 1,
        "index": 0,
        "sender": faucet,
        "nonce": 0,
        "fee": "10",
        "feePayer": None,
        "memo": "",
        "messages": [{"typeUrl": MSG_SEND, "value": {"to": recipient, "amount": "1234"}}],
        "success": True,
        "code": 0,
        "codeName": "ok",
        "log": "",
        "events": [
            {
                "type": "transfer",
                "attributes": [
                    {"key": "amount", "value": "1234"},
                    {"key": "recipient", "value": recipient},
                    {"key": "sender", "value": faucet},
                ],
            }
        ],
        "raw": base64.b64encode(raw).decode(),
    }
    sender = (await data(client, ACCOUNT, {"a": faucet}))["account"]
    assert sender == {"balance": str(FAUCET_FUNDS - 1234 - 10), "nonce": 1}
    to = (await data(client, ACCOUNT, {"a": recipient}))["account"]
    assert to == {"balance": "1234", "nonce": 0}


async def test_failed_execution_is_reported(client: httpx.AsyncClient, tnode: TestNode) -> None:
    """A tx that passes CheckTx but fails in the block: success false with its code name."""
    accepted = await submit(client, tnode.transfer(RECIPIENT, FAUCET_FUNDS + 1))
    assert accepted["__typename"] == "TransactionAccepted"
    tnode.produce()
    tx = (await data(client, TX_QUERY, {"h": accepted["hash"]}))["transaction"]
    assert tx["success"] is False
    assert tx["codeName"] == "insufficient_funds"
    assert tx["code"] != 0
    assert tx["log"]
    assert tx["events"] == []


async def rejected(client: httpx.AsyncClient, raw: bytes) -> tuple[str, str]:
    r = await submit(client, raw)
    assert r["__typename"] == "TransactionRejected", r
    assert r["message"]
    return r["code"], r["message"]


async def test_invalid_base64(client: httpx.AsyncClient) -> None:
    for text in ("!!!not base64", "YWJj\n", "YWJ"):
        d = await data(client, SUBMIT, {"tx": text})
        assert d["submitTransaction"]["code"] == "invalid_encoding"


async def test_malformed_bytes(client: httpx.AsyncClient) -> None:
    assert (await rejected(client, b"\x00garbage"))[0] == "malformed_tx"
    assert (await rejected(client, b""))[0] == "malformed_tx"


async def test_wrong_chain_id(client: httpx.AsyncClient, tnode: TestNode) -> None:
    raw = make_transfer("other-chain", tnode.faucet_seed, RECIPIENT, 1, 0)
    assert (await rejected(client, raw))[0] == "wrong_chain_id"


async def test_bad_signature(client: httpx.AsyncClient, tnode: TestNode) -> None:
    tx = codec.decode(Tx, tnode.transfer(RECIPIENT, 1))
    sig = tx.signatures[0]
    flipped = bytes([sig.signature[0] ^ 0x01]) + sig.signature[1:]
    bad = dataclasses.replace(tx, signatures=(dataclasses.replace(sig, signature=flipped),))
    assert (await rejected(client, codec.encode(bad)))[0] == "invalid_signature"


async def test_missing_signature(client: httpx.AsyncClient, tnode: TestNode) -> None:
    tx = codec.decode(Tx, tnode.transfer(RECIPIENT, 1))
    unsigned = dataclasses.replace(tx, signatures=())
    assert (await rejected(client, codec.encode(unsigned)))[0] == "missing_signature"


async def test_replayed_nonce(client: httpx.AsyncClient, tnode: TestNode) -> None:
    raw = tnode.transfer(RECIPIENT, 1)
    assert (await submit(client, raw))["__typename"] == "TransactionAccepted"
    assert (await rejected(client, raw))[0] == "tx_already_in_mempool"
    tnode.produce()
    assert (await rejected(client, raw))[0] == "nonce_too_low"
    # a different tx reusing the consumed nonce is refused the same way
    again = tnode.transfer(RECIPIENT, 2, nonce=0)
    assert (await rejected(client, again))[0] == "nonce_too_low"


async def test_nonce_gap(client: httpx.AsyncClient, tnode: TestNode) -> None:
    assert (await rejected(client, tnode.transfer(RECIPIENT, 1, nonce=5)))[0] == "nonce_gap"


async def test_oversize_tx(client: httpx.AsyncClient, tnode: TestNode) -> None:
    big = TypedMsg(MSG_SEND, b"\x00" * (70 * 1024))
    assert (await rejected(client, signed(tnode, (big,))))[0] == "tx_too_large"


async def test_unknown_message_type(client: httpx.AsyncClient, tnode: TestNode) -> None:
    msg = TypedMsg("qos.nope.v1.X", b"\x01\x02")
    code, message = await rejected(client, signed(tnode, (msg,)))
    assert code == "unknown_message_type"
    assert "qos.nope.v1.X" in message


async def test_invalid_message(client: httpx.AsyncClient, tnode: TestNode) -> None:
    zero = TypedMsg(MSG_SEND, codec.encode(MsgSend(RECIPIENT, 0)))
    assert (await rejected(client, signed(tnode, (zero,))))[0] == "invalid_amount"


async def test_unexpected_node_failure_is_internal(
    client: httpx.AsyncClient, tnode: TestNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(tx: bytes, now: int) -> None:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(tnode.node, "submit_tx", boom)
    r = await submit(client, tnode.transfer(RECIPIENT, 1))
    assert r == {
        "__typename": "TransactionRejected",
        "code": "internal",
        "message": "internal error",
    }


async def test_request_body_limit(client: httpx.AsyncClient) -> None:
    huge = "A" * (1024 * 1024 + 4)
    r = await client.post("/graphql", json={"query": SUBMIT, "variables": {"tx": huge}})
    assert r.status_code == 413
    assert r.json()["errors"][0]["extensions"]["code"] == "request_too_large"


async def test_chunked_body_over_the_limit(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(17):
            yield b" " * (64 * 1024)

    r = await client.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
