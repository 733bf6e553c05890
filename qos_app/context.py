"""Execution context: layered write caches over the committed store, and events.

``BlockCache`` holds a block's writes; each tx runs in a ``TxCache`` over it that is
written through only if the tx succeeds, so a failed tx leaves no partial state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from qos_chain.types import Event, EventAttribute

Getter = Callable[[bytes], bytes | None]


class CacheKV:
    def __init__(self, parent: Getter) -> None:
        self._parent = parent
        self.writes: dict[bytes, bytes | None] = {}

    def get(self, key: bytes) -> bytes | None:
        if key in self.writes:
            return self.writes[key]
        return self._parent(key)

    def set(self, key: bytes, value: bytes) -> None:
        self.writes[key] = value

    def delete(self, key: bytes) -> None:
        self.writes[key] = None

    def write_into(self, other: CacheKV) -> None:
        other.writes.update(self.writes)


@dataclass(slots=True)
class Ctx:
    """What a message handler sees: state, block info and an event sink."""

    kv: CacheKV
    chain_id: str
    height: int
    time_ns: int
    sender: bytes
    events: list[Event] = field(default_factory=list)

    def emit(self, type_: str, **attrs: str) -> None:
        self.events.append(
            Event(type_, tuple(EventAttribute(k, v) for k, v in sorted(attrs.items())))
        )
