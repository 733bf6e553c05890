"""pins(...) never drops on-chain matches: a name is read through the on-chain name index
(every record read matches, whatever its position); a filter applied after reading (the
status, this node's progress) has a per-request scan budget, and when it runs out before
the records do, the page says hasNextPage and its endCursor resumes the scan (a regression
test: name-filtered listings used to return only what the first 2,000 records held)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from qos_api import files
from qos_fs.service import ChainProgress, LocalPin, PinStatus
from qos_fs.state import PinRecord
from qos_ipfs.cid import CID

pytestmark = pytest.mark.anyio

OWNER = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
TOTAL = files.MAX_CHAIN_SCAN + 500
NAMED = {TOTAL - 3, TOTAL - 2, TOTAL - 1}  # matches beyond the first scan budget


class ChainOnlyPort:
    """Just enough of NodePort: on-chain records in key order, a name read like the name
    index (only that name's records), no local file service."""

    def __init__(self) -> None:
        self.records = []
        self.reads: list[int] = []  # records returned per chain read
        for i in range(TOTAL):
            cid = CID.hash(hashlib.sha256(i.to_bytes(4, "big")).digest()).to_bytes()
            name = "wanted" if i in NAMED else f"other-{i}"
            rec = PinRecord(OWNER, cid, 1, name, "", None, None, 1, 1, 10**18, b"\0" * 20)
            self.records.append((i.to_bytes(4, "big"), rec))

    def file_service(self) -> Any:
        return None

    async def chain_pins(
        self,
        owner: str | None,
        cid: bytes | None,
        after: bytes | None,
        limit: int,
        name: str | None = None,
    ) -> list[tuple[bytes, PinRecord]]:
        start = 0 if after is None else int.from_bytes(after, "big") + 1
        rows = [(k, r) for k, r in self.records[start:] if name is None or r.name == name]
        self.reads.append(len(rows[:limit]))
        return rows[:limit]


class Progress:
    """A file service with progress on some records (the status filter's matches)."""

    def __init__(self, pinned: set[bytes]) -> None:
        self.pinned = pinned

    def chain_progress_many(
        self, pins: list[tuple[str, bytes]]
    ) -> dict[tuple[str, bytes], ChainProgress]:
        return {(o, c): ChainProgress(PinStatus.PINNED, "", 1) for o, c in pins if c in self.pinned}

    def local_pins(self, **_kw: object) -> list[LocalPin]:
        return []


async def follow(port: Any, **kw: Any) -> list[str]:
    found: list[str] = []
    after = None
    for _ in range(10):  # follow cursors until the listing ends
        page = await files.list_pins(port, owner=OWNER, cid=None, first=10, after=after, **kw)
        found += [e.node.name for e in page.edges]
        if not page.page_info.has_next_page:
            return found
        assert page.page_info.end_cursor is not None
        after = page.page_info.end_cursor
    raise AssertionError("the listing did not end")


async def test_a_name_is_read_through_the_index_whatever_its_position() -> None:
    port = ChainOnlyPort()
    found = await follow(port, status=None, name="wanted")
    assert found == ["wanted"] * len(NAMED)
    assert sum(port.reads) == len(NAMED)  # no record of another name was read


async def test_status_filter_beyond_the_scan_budget_is_not_dropped() -> None:
    port = ChainOnlyPort()
    svc = Progress({port.records[i][1].cid for i in NAMED})
    port.file_service = lambda: svc  # type: ignore[method-assign]
    found = await follow(port, status=files.PinState.PINNED, name=None)
    assert found == ["wanted"] * len(NAMED)
    assert sum(port.reads) == TOTAL  # every record read once, across the resumed pages


async def test_an_unfiltered_page_reads_first_plus_one_records() -> None:
    port = ChainOnlyPort()
    page = await files.list_pins(
        port, owner=OWNER, cid=None, status=None, name=None, first=10, after=None
    )
    assert len(page.edges) == 10
    assert page.page_info.has_next_page
    assert port.reads == [11]  # the 11th only says there is a next page
