"""Counters behind `stats()`: every drop, rejection and refusal is counted here."""

from __future__ import annotations

from dataclasses import dataclass, field

from qos_p2p.port import NetworkStats


@dataclass
class Counters:
    values: dict[str, int] = field(default_factory=dict)

    def inc(self, name: str, by: int = 1) -> None:
        if name not in NetworkStats.__dataclass_fields__:
            raise KeyError(name)
        self.values[name] = self.values.get(name, 0) + by

    def stats(self) -> NetworkStats:
        return NetworkStats(**{n: self.values.get(n, 0) for n in NetworkStats.__dataclass_fields__})
