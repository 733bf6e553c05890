"""The CLI's GraphQL client: errors keep the API's code; transport failures are typed."""

from __future__ import annotations

import httpx
import pytest

from qos_node import client
from qos_node.client import ApiError, ApiUnreachable


def _respond(monkeypatch: pytest.MonkeyPatch, body: object, status: int = 200) -> None:
    def fake_post(url: str, **kw: object) -> httpx.Response:
        return httpx.Response(status, json=body, request=httpx.Request("POST", url))

    monkeypatch.setattr(client.httpx, "post", fake_post)


def test_graphql_error_code_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    _respond(
        monkeypatch, {"errors": [{"message": "bad did", "extensions": {"code": "invalidDid"}}]}
    )
    with pytest.raises(ApiError) as err:
        client.graphql("http://x/graphql", "{ a }")
    assert err.value.code == "invalidDid"
    assert err.value.message == "bad did"


def test_error_without_code_is_api_error(monkeypatch: pytest.MonkeyPatch) -> None:
    _respond(monkeypatch, {"errors": [{"message": "nope"}]})
    with pytest.raises(ApiError) as err:
        client.graphql("http://x/graphql", "{ a }")
    assert err.value.code == "api_error"


def test_data_is_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    _respond(monkeypatch, {"data": {"a": 1}})
    assert client.graphql("http://x/graphql", "{ a }") == {"a": 1}


def test_unreachable_is_typed() -> None:
    with pytest.raises(ApiUnreachable):
        client.graphql("http://127.0.0.1:9/graphql", "{ a }", timeout=2)
