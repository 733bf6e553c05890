"""credentialEvents over graphql-transport-ws: anchors and status changes by subject and
by issuer, in commit order."""

from __future__ import annotations

import warnings
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import StarletteDeprecationWarning
from vc_api_helpers import Vc

from qos_identity.credentials.ops import StatusAction
from qos_node.port import LocalNodePort
from qos_node.testing import TestNode

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

EVENTS = """subscription($subject: String, $issuer: String) {
  credentialEvents(subject: $subject, issuer: $issuer) {
    kind issuer subject credentialId statusIndexes sequence height time txHash }
}"""
WAIT_S = 10.0


def test_credential_events_over_websocket(
    app: Starlette, port: LocalNodePort, tnode: TestNode
) -> None:
    v = Vc(tnode)
    acme, bank = v.party(1), v.party(2)
    alice, bob = v.party(3), v.party(4)
    with (
        TestClient(app) as client,
        client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws,
    ):
        ws.send_json({"type": "connection_init"})
        assert ws.receive_json() == {"type": "connection_ack"}
        ws.send_json(
            {
                "id": "s",
                "type": "subscribe",
                "payload": {"query": EVENTS, "variables": {"subject": alice.did}},
            }
        )
        ws.send_json(
            {
                "id": "i",
                "type": "subscribe",
                "payload": {"query": EVENTS, "variables": {"issuer": bank.did}},
            }
        )
        assert port.wait_for_subscribers(2, WAIT_S), "the subscriptions never registered"

        a1 = v.anchor(acme, v.credential(acme, alice, None))  # alice: yes; bank: no
        v.anchor(acme, v.credential(acme, bob, None))  # neither
        a2 = v.anchor(bank, v.credential(bank, alice, None))  # both
        b2 = v.anchor(bank, v.credential(bank, bob, None))  # bank only
        # acme index 0 (alice) and 1 (bob) revoked in one change
        v.status(acme, StatusAction.REVOKE, [0, 1])
        # bank suspends index 1 (bob): the issuer stream only
        v.status(bank, StatusAction.SUSPEND, [1])

        got: dict[str, list[dict[str, Any]]] = {"s": [], "i": []}
        while len(got["s"]) < 3 or len(got["i"]) < 3:
            msg = ws.receive_json()
            assert msg["type"] == "next", msg
            got[msg["id"]].append(msg["payload"]["data"]["credentialEvents"])
        s, i = got["s"], got["i"]
        assert [(e["kind"], e["credentialId"]) for e in s] == [
            ("ANCHORED", a1),
            ("ANCHORED", a2),
            ("REVOKED", a1),
        ]
        assert all(e["subject"] == alice.did for e in s)
        assert s[2]["statusIndexes"] == ["0"]
        assert s[2]["sequence"] == 0
        assert s[2]["issuer"] == acme.did
        assert [(e["kind"], e["credentialId"]) for e in i] == [
            ("ANCHORED", a2),
            ("ANCHORED", b2),
            ("SUSPENDED", None),
        ]
        assert i[2]["statusIndexes"] == ["1"]
        assert i[2]["subject"] is None
        assert all(e["issuer"] == bank.did for e in i)
        assert s[0]["height"] < s[1]["height"] < s[2]["height"]
        assert len(s[0]["txHash"]) == 64
        ws.send_json({"id": "s", "type": "complete"})
        ws.send_json({"id": "i", "type": "complete"})
        assert port.wait_for_subscribers(0, WAIT_S)


def test_credential_events_refuse_bad_dids(app: Starlette) -> None:
    with (
        TestClient(app) as client,
        client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws,
    ):
        ws.send_json({"type": "connection_init"})
        assert ws.receive_json()["type"] == "connection_ack"
        for n, variables in enumerate(({"subject": "nope"}, {"issuer": "did:x"})):
            payload = {"query": EVENTS, "variables": variables}
            ws.send_json({"id": str(n), "type": "subscribe", "payload": payload})
            msg = ws.receive_json()
            assert msg["type"] == "next", msg
            assert msg["payload"]["errors"][0]["extensions"]["code"] == "invalidDid"
            assert ws.receive_json() == {"id": str(n), "type": "complete"}
