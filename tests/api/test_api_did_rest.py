"""REST Universal Resolver driver: GET /1.0/identifiers/{did}, every status and type."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from did_helpers import Dids, did_key, seed

from qos_api.did_rest import negotiate
from qos_identity import client as c
from qos_node.port import LocalNodePort
from qos_node.testing import TestNode

pytestmark = pytest.mark.anyio

RESOLUTION = "application/did-resolution"
LD_RESOLUTION = 'application/ld+json;profile="https://w3id.org/did-resolution"'
UNKNOWN = "did:qos:8c8KU6Bsw6yDdbfr8E2r79"


async def get(
    client: httpx.AsyncClient, did: str, accept: str | None = None, **params: str
) -> httpx.Response:
    headers = {} if accept is None else {"accept": accept}
    return await client.get(f"/1.0/identifiers/{did}", headers=headers, params=params)


def body(r: httpx.Response) -> dict[str, Any]:
    out: dict[str, Any] = r.json()
    return out


@pytest.fixture
def did(tnode: TestNode) -> str:
    d = Dids(tnode)
    did = d.create(seed(10), seed(11), services=[("hub", "LinkedDomains", "https://a.example")])
    d.commit(c.update_op(d.chain_id, did, "1", [c.remove_service(f"{did}#hub")], seed(10)))
    return did


@pytest.mark.parametrize(
    ("accept", "media_type", "whole_result", "context"),
    [
        (None, "application/did+ld+json", False, True),
        ("*/*", "application/did+ld+json", False, True),
        ("application/did+ld+json", "application/did+ld+json", False, True),
        ("application/did+json", "application/did+json", False, False),
        (RESOLUTION, RESOLUTION, True, True),
        (LD_RESOLUTION, LD_RESOLUTION, True, True),
        (
            "text/html, application/did+json;q=0.5, application/did-resolution",
            RESOLUTION,
            True,
            True,
        ),
    ],
)
async def test_representations(  # type: ignore[no-untyped-def]
    client, did: str, accept: str | None, media_type: str, whole_result: bool, context: bool
) -> None:
    r = await get(client, did, accept)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == media_type
    doc = body(r)
    if whole_result:
        assert body(r)["didDocumentMetadata"]["versionId"] == "2"
        assert body(r)["didResolutionMetadata"]["contentType"] == "application/did+ld+json"
        doc = body(r)["didDocument"]
    assert doc["id"] == did
    assert ("@context" in doc) is context


async def test_versions_by_id_and_time(client, did: str) -> None:  # type: ignore[no-untyped-def]
    v1 = await get(client, did, RESOLUTION, versionId="1")
    assert v1.status_code == 200
    assert body(v1)["didDocumentMetadata"]["nextVersionId"] == "2"
    assert body(v1)["didDocument"]["service"][0]["id"] == f"{did}#hub"
    created = body(v1)["didDocumentMetadata"]["created"]
    at = await get(client, did, None, versionTime=created)
    assert at.status_code == 200
    assert "service" in body(at)
    latest = await get(client, did, None, versionTime="2099-01-01T00:00:00Z")
    assert "service" not in body(latest)
    bad = await get(client, did, None, versionTime="yesterday")
    assert bad.status_code == 400
    assert body(bad)["didResolutionMetadata"]["error"] == "invalidOptions"


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("nope", {}, 400, "invalidDid"),
        ("did:qos:0OIl", {}, 400, "invalidDid"),
        ("did:key:zNOTAKEY", {}, 400, "invalidDid"),
        (UNKNOWN, {"versionId": "1", "versionTime": "2026-01-01T00:00:00Z"}, 400, "invalidOptions"),
        (UNKNOWN, {}, 404, "notFound"),
        ("did:web:example.com", {}, 501, "methodNotSupported"),
        ("did:example:123", {}, 501, "methodNotSupported"),
    ],
)
@pytest.mark.parametrize("accept", [None, RESOLUTION])
async def test_error_statuses_have_json_bodies(  # type: ignore[no-untyped-def]
    client, path: str, params: dict[str, str], status: int, code: str, accept: str | None
) -> None:
    r = await get(client, path, accept, **params)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == (accept or "application/json")
    assert body(r)["didResolutionMetadata"]["error"] == code
    assert body(r)["didDocument"] is None


async def test_unknown_version_is_404(client, did: str) -> None:  # type: ignore[no-untyped-def]
    r = await get(client, did, None, versionId="9")
    assert r.status_code == 404
    assert body(r)["didResolutionMetadata"]["error"] == "notFound"


async def test_unsupported_representation_is_406(client, did: str) -> None:  # type: ignore[no-untyped-def]
    for accept in ["text/html", "application/xml, image/png;q=0.9", "application/did+json;q=0"]:
        r = await get(client, did, accept)
        assert r.status_code == 406, accept
        assert r.headers["content-type"] == "application/json"
        assert body(r)["didResolutionMetadata"]["error"] == "representationNotSupported"


async def test_deactivated_is_410_with_the_result(client, tnode: TestNode) -> None:  # type: ignore[no-untyped-def]
    d = Dids(tnode)
    did = d.create(seed(10), seed(11))
    d.commit(c.deactivate_op(d.chain_id, did, "1", seed(10)))
    for accept, media in [(None, "application/json"), (RESOLUTION, RESOLUTION)]:
        r = await get(client, did, accept)
        assert r.status_code == 410
        assert r.headers["content-type"] == media
        assert body(r)["didDocumentMetadata"]["deactivated"] is True
        assert body(r)["didDocument"]["id"] == did
    # the version before deactivation still resolves
    r = await get(client, did, None, versionId="1")
    assert r.status_code == 200
    assert body(r)["verificationMethod"]


async def test_did_key_resolves_locally(client) -> None:  # type: ignore[no-untyped-def]
    key = did_key(seed(40))
    r = await get(client, key)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/did+ld+json"
    doc = body(r)
    assert doc["id"] == key
    assert len(doc["verificationMethod"]) == 2  # ed25519 + derived x25519
    r = await get(client, key, RESOLUTION)
    assert body(r)["didResolutionMetadata"]["contentType"] == "application/did+ld+json"
    r = await get(client, key, None, versionId="1")
    assert r.status_code == 400


async def test_percent_encoded_did(client, did: str) -> None:  # type: ignore[no-untyped-def]
    r = await client.get("/1.0/identifiers/" + did.replace(":", "%3A"))
    assert r.status_code == 200
    assert body(r)["id"] == did


async def test_node_fault_is_500_json(  # type: ignore[no-untyped-def]
    client, port: LocalNodePort, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom(*_: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(port, "resolve_did", boom)
    r = await get(client, UNKNOWN)
    assert r.status_code == 500
    assert body(r)["didResolutionMetadata"]["error"] == "internalError"
    assert "disk on fire" not in r.text
    assert "resolution of" in caplog.text


def test_negotiate_prefers_higher_q() -> None:
    rep = negotiate("application/did+ld+json;q=0.1, application/did+json")
    assert rep is not None
    assert rep.media_type == "application/did+json"
    assert negotiate("") is not None
    assert negotiate("application/*") is not None
    assert negotiate("application/ld+json") is None
