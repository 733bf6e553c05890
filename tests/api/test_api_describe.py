"""qos_app.describe: JSON-ready views of raw transactions."""

from __future__ import annotations

import json

from qos_app.bank import MSG_SEND, MsgSend
from qos_app.describe import describe_message, describe_tx
from qos_app.tx import Fee, TxBody, TypedMsg, sign_tx
from qos_chain import codec
from qos_chain.address import Address, address_from_public_key, address_to_text
from qos_chain.sign import public_key_of
from qos_node.testing import FAUCET_SEED, make_transfer

TO = Address(bytes(range(20)))
PK = public_key_of(FAUCET_SEED)
SENDER = address_from_public_key(PK)
PAYER_SEED = bytes(range(1, 33))


def test_describe_transfer() -> None:
    raw = make_transfer(
        "c", FAUCET_SEED, TO, 10**19, 3, fee=7, fee_payer_seed=PAYER_SEED, memo="hi"
    )
    view = describe_tx(raw)
    assert view == {
        "sender": address_to_text(SENDER),
        "nonce": 3,
        "fee": "7",
        "fee_payer": address_to_text(address_from_public_key(public_key_of(PAYER_SEED))),
        "memo": "hi",
        "timeout_height": None,
        "messages": [
            {"typeUrl": MSG_SEND, "value": {"to": address_to_text(TO), "amount": str(10**19)}}
        ],
    }
    json.dumps(view)  # JSON-ready


def test_unknown_and_undecodable_messages_are_hex() -> None:
    assert describe_message("qos.nope.v1.X", b"\x01\xff") == {
        "typeUrl": "qos.nope.v1.X",
        "value": {"hex": "01ff"},
    }
    assert describe_message(MSG_SEND, b"\x00") == {"typeUrl": MSG_SEND, "value": {"hex": "00"}}
    short_to = codec.encode(MsgSend(b"\x01", 1))
    assert describe_message(MSG_SEND, short_to)["value"] == {"hex": short_to.hex()}


def test_undecodable_tx_is_none() -> None:
    assert describe_tx(b"") is None
    assert describe_tx(b"\x00\x01garbage") is None
    assert describe_tx(b"\x00" * (65 * 1024)) is None


def test_sender_that_is_not_an_address() -> None:
    body = TxBody("c", b"\x01\x02", 0, (TypedMsg("x", b""),), Fee(0, None), "", 5)
    view = describe_tx(codec.encode(sign_tx(body, (PK, FAUCET_SEED))))
    assert view is not None
    assert view["sender"] is None
    assert view["timeout_height"] == 5
