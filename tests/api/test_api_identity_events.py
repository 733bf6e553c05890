"""identityEvents over graphql-transport-ws: applied operations of one DID, in order."""

from __future__ import annotations

import warnings
from typing import Any

from did_helpers import Dids, seed
from starlette.applications import Starlette
from starlette.exceptions import StarletteDeprecationWarning

from qos_chain.sign import public_key_of
from qos_chain.types import tx_hash
from qos_identity import client as c
from qos_node.port import LocalNodePort
from qos_node.testing import TestNode

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

EVENTS = """subscription($did: String!) {
  identityEvents(did: $did) { did kind versionId height time txHash batchIndex }
}"""
WAIT_S = 10.0


def test_identity_events_over_websocket(
    app: Starlette, port: LocalNodePort, tnode: TestNode
) -> None:
    d = Dids(tnode)
    upd, rec = seed(10), seed(11)
    did, create = c.create_did(d.chain_id, upd, rec)
    other, other_create = c.create_did(d.chain_id, seed(20), seed(21))
    with (
        TestClient(app) as client,
        client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws,
    ):
        ws.send_json({"type": "connection_init"})
        assert ws.receive_json() == {"type": "connection_ack"}
        payload = {"query": EVENTS, "variables": {"did": did}}
        ws.send_json({"id": "1", "type": "subscribe", "payload": payload})
        assert port.wait_for_subscribers(1, WAIT_S), "the subscription never registered"

        # a batch: another DID's create (filtered out) and ours (batch index 1)
        d.commit(c.batch([other_create, create]))
        d.commit(c.update_op(d.chain_id, did, "1", [c.set_also_known_as("https://a.ex")], upd))
        tnode.produce()  # an empty block: nothing to report
        d.commit(c.rotate_op(d.chain_id, did, "2", public_key_of(seed(12)), upd))
        # a refused operation (stale version) inside a batch emits nothing
        stale = c.update_op(d.chain_id, did, "1", [c.set_also_known_as()], seed(12))
        d.commit(c.batch([stale]))
        d.commit(
            c.recover_op(
                d.chain_id, did, "3", rec, new_update_seed=seed(13), next_recovery_seed=seed(14)
            )
        )
        d.commit(c.deactivate_op(d.chain_id, did, "4", seed(13)))

        got: list[dict[str, Any]] = []
        for _ in range(5):
            msg = ws.receive_json()
            assert msg["type"] == "next", msg
            got.append(msg["payload"]["data"]["identityEvents"])
        assert [e["kind"] for e in got] == [
            "CREATED",
            "UPDATED",
            "KEY_ROTATED",
            "RECOVERED",
            "DEACTIVATED",
        ]
        assert [e["versionId"] for e in got] == ["1", "2", "3", "4", "5"]
        assert all(e["did"] == did for e in got)
        assert got[0]["batchIndex"] == 1
        assert got[1]["batchIndex"] is None
        heights = [a.block.header.height for a in d.applied]
        assert [e["height"] for e in got] == [heights[i] for i in (0, 1, 2, 4, 5)]
        assert got[0]["txHash"] == tx_hash(d.applied[0].block.txs[0]).hex()
        ws.send_json({"id": "1", "type": "complete"})
        assert port.wait_for_subscribers(0, WAIT_S)
    assert other != did


def test_identity_events_refuses_bad_dids(app: Starlette) -> None:
    with (
        TestClient(app) as client,
        client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws,
    ):
        ws.send_json({"type": "connection_init"})
        assert ws.receive_json()["type"] == "connection_ack"
        cases = [
            ("nope", "invalidDid"),
            ("did:web:x.example", "methodNotSupported"),
            ("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", "methodNotSupported"),
        ]
        for i, (did, code) in enumerate(cases):
            payload = {"query": EVENTS, "variables": {"did": did}}
            ws.send_json({"id": str(i), "type": "subscribe", "payload": payload})
            msg = ws.receive_json()
            assert msg["type"] == "next", msg
            assert msg["payload"]["errors"][0]["extensions"]["code"] == code
            assert ws.receive_json() == {"id": str(i), "type": "complete"}
