"""pins(...) never drops on-chain matches: when the per-request scan budget runs out before
the records do, the page says hasNextPage and its endCursor resumes the scan (a regression
test: name-filtered listings used to return only what the first 2,000 records held)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from qos_api import files
from qos_fs.state import PinRecord
from qos_ipfs.cid import CID

pytestmark = pytest.mark.anyio

OWNER = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
TOTAL = files.MAX_CHAIN_SCAN + 500
NAMED = {TOTAL - 3, TOTAL - 2, TOTAL - 1}  # matches beyond the first scan budget


class ChainOnlyPort:
    """Just enough of NodePort: on-chain records in key order, no local file service."""

    def __init__(self) -> None:
        self.records = []
        for i in range(TOTAL):
            cid = CID.hash(hashlib.sha256(i.to_bytes(4, "big")).digest()).to_bytes()
            name = "wanted" if i in NAMED else f"other-{i}"
            rec = PinRecord(OWNER, cid, 1, name, "", None, None, 1, 1, 10**18, b"\0" * 20)
            self.records.append((i.to_bytes(4, "big"), rec))

    def file_service(self) -> None:
        return None

    async def chain_pins(
        self, owner: str | None, cid: bytes | None, after: bytes | None, limit: int
    ) -> list[tuple[bytes, PinRecord]]:
        start = 0 if after is None else int.from_bytes(after, "big") + 1
        return self.records[start : start + limit]


async def test_name_filter_beyond_the_scan_budget_is_not_dropped() -> None:
    port: Any = ChainOnlyPort()
    found: list[str] = []
    after = None
    for _ in range(10):  # follow cursors until the listing ends
        page = await files.list_pins(
            port, owner=OWNER, cid=None, status=None, name="wanted", first=10, after=after
        )
        found += [e.node.name for e in page.edges]
        if not page.page_info.has_next_page:
            break
        assert page.page_info.end_cursor is not None
        after = page.page_info.end_cursor
    assert found == ["wanted"] * len(NAMED)
