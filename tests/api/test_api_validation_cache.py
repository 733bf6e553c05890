"""Cached validation (qos_api/validation_cache.py): a repeated invalid or too-deep query is
refused every time with the same errors, valid ones keep working, and the cache is bounded."""

from __future__ import annotations

import httpx
import pytest
from api_helpers import gql

from qos_api import validation_cache

pytestmark = pytest.mark.anyio

DEEP = "{ " + "a { " * 12 + "b" + " }" * 12 + " }"


async def test_invalid_queries_stay_refused_when_cached(client: httpx.AsyncClient) -> None:
    for query in ("{ nope }", DEEP):
        first = await gql(client, query)
        again = await gql(client, query)
        assert first["errors"]
        assert [e["message"] for e in again["errors"]] == [e["message"] for e in first["errors"]]
    ok = await gql(client, "{ status { height } }")
    assert "errors" not in ok
    assert "errors" not in await gql(client, "{ status { height } }")


async def test_cache_is_bounded(client: httpx.AsyncClient) -> None:
    for i in range(validation_cache.MAX_ENTRIES + 20):
        await gql(client, f"{{ status {{ height }} a{i}: status {{ chainId }} }}")
    assert len(validation_cache._cache) <= validation_cache.MAX_ENTRIES
