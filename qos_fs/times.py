"""RFC 3339 timestamps with nanoseconds (the Pinning Service API's ``created``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from qos_chain.genesis import format_time

_RFC3339 = re.compile(
    r"^(\d{4}-\d\d-\d\d)[Tt](\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?([Zz]|[+-]\d\d:\d\d)$"
)

__all__ = ["format_time", "parse_time"]


def parse_time(text: str) -> int:
    """Nanoseconds since the epoch; ``ValueError`` if ``text`` is not RFC 3339 (section 5.6)."""
    m = _RFC3339.match(text)
    if m is None:
        raise ValueError(f"{text[:40]!r} is not an RFC 3339 date-time")
    date, clock, frac, zone = m.groups()
    base = datetime.fromisoformat(f"{date}T{clock}").replace(tzinfo=UTC)
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        base -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    ns = int(base.timestamp()) * 1_000_000_000
    return ns + int((frac or "").ljust(9, "0") or 0)
