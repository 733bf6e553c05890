"""Peer scores and bans: pure, clock passed in (docs/network.md, "Scoring").

A peer starts at 0. Each message our validator rejects costs `REJECT_PENALTY`; each
accepted message earns `ACCEPT_REWARD` up to `MAX_SCORE`. At or below `BAN_THRESHOLD`
the peer is banned for `ban_seconds`: disconnected, its dials and messages refused. The
ban ends on its own; the peer comes back at score 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

REJECT_PENALTY = 10.0
ACCEPT_REWARD = 0.1
MAX_SCORE = 10.0
BAN_THRESHOLD = -50.0
DEFAULT_BAN_SECONDS = 60.0


@dataclass
class PeerScores:
    """Scores by peer id (str), and bans until a time on the caller's monotonic clock."""

    ban_seconds: float = DEFAULT_BAN_SECONDS
    threshold: float = BAN_THRESHOLD
    _scores: dict[str, float] = field(default_factory=dict)
    _banned_until: dict[str, float] = field(default_factory=dict)

    def score(self, peer: str) -> float:
        return self._scores.get(peer, 0.0)

    def accepted(self, peer: str) -> None:
        self._scores[peer] = min(MAX_SCORE, self.score(peer) + ACCEPT_REWARD)

    def rejected(self, peer: str, now: float) -> bool:
        """Penalise; True when this rejection bans the peer (the caller disconnects it)."""
        new = self.score(peer) - REJECT_PENALTY
        self._scores[peer] = new
        if new <= self.threshold and not self.is_banned(peer, now):
            self._banned_until[peer] = now + self.ban_seconds
            return True
        return False

    def ban(self, peer: str, now: float, seconds: float) -> None:
        """Refuse a peer for a while without touching its score (wrong chain id)."""
        self._banned_until[peer] = max(self._banned_until.get(peer, 0.0), now + seconds)

    def is_banned(self, peer: str, now: float) -> bool:
        until = self._banned_until.get(peer)
        if until is None:
            return False
        if now >= until:
            del self._banned_until[peer]
            self._scores.pop(peer, None)
            return False
        return True
