"""The mempool: a bounded, deduplicated pool of checked txs, nonce-ordered per sender.

Pure data structure (no I/O, no clock, no locks); the node owns one and drives it:

* ``add(tx, check, sender_next_nonce)`` after the app's ``check_tx`` accepted ``tx``
  (``check.ok``); ``sender_next_nonce`` is the sender's next nonce in committed state.
* ``reap(max_bytes, max_txs)`` when proposing: a prefix of the pool in arrival order.
* ``update(committed, recheck)`` after each commit: drop the committed txs, re-check the
  rest against the new state (CometBFT's ``Update`` + recheck).
* ``remove(hash)`` to withdraw one tx (and the later txs of its sender) without a recheck.

Admission rules of ``add``, checked in this order; a refusal raises
:class:`qos_chain.errors.MempoolError` whose ``code`` is:

``tx_too_large``           the tx is longer than ``max_tx_bytes``;
``tx_already_in_mempool``  a tx with the same hash (SHA-256 of the tx) is pending;
``mempool_full``           accepting it would exceed ``max_txs`` or ``max_bytes``;
``sender_limit``           its sender already has ``max_per_sender`` pending txs;
``nonce_already_pending``  its sender already has a pending tx with this nonce;
``nonce_too_low``          its nonce is below the sender's committed next nonce;
``nonce_gap``              any other nonce that does not extend the sender's queue.

(Passing a ``check`` that is not ``ok`` is a caller bug, refused with ``check_tx_failed``.)

A tx of a sender (``check.sender`` non-empty) is accepted only if its nonce extends the
sender's queue: it equals ``sender_next_nonce`` when the sender has nothing pending, else
the highest pending nonce + 1. Hence each sender's pending nonces are contiguous and
appear in arrival order, so any arrival-order prefix (what ``reap`` returns) is executable
in order. Txs with an empty sender are unordered and simply kept first-in, first-out.

``update`` removes committed txs by hash, then calls ``recheck(tx)`` on every remaining tx
in arrival order; it returns the ``(hash, code)`` of each tx it drops, where ``code`` is
``recheck_failed`` (the app now rejects it), ``nonce_too_low`` (its nonce is below the
sender's new committed next nonce) or ``nonce_gap`` (its nonce no longer extends the
sender's rebuilt queue, typically because an earlier tx of the sender was dropped). The
queue of each sender is rebuilt with the same rule as ``add``, against the committed next
nonce ``recheck`` reports; so a dropped tx whose nonce is already used up (stale) leaves
no hole, while a dropped tx in the middle of a queue drops every later tx of its sender.
Afterwards the per-sender invariant above holds again relative to the new committed state.

Complexity: ``add``, ``get``, ``in`` and ``pending_nonce`` are O(1); ``reap`` is O(k) for k
txs returned, ``remove`` O(k) for k txs removed; ``update`` is O(n) plus n ``recheck`` calls.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from qos_chain.abci import CheckTxResult
from qos_chain.errors import MempoolError
from qos_chain.types import Hash, tx_hash

MiB = 1024 * 1024

Recheck = Callable[[bytes], tuple[CheckTxResult, int]]
"""Re-validate a tx: ``(check result, sender's committed next nonce)``."""


@dataclass(frozen=True, slots=True)
class MempoolConfig:
    max_txs: int = 5000
    max_bytes: int = 64 * MiB
    max_tx_bytes: int = 1 * MiB
    max_per_sender: int = 256

    def __post_init__(self) -> None:
        for name in ("max_txs", "max_bytes", "max_tx_bytes", "max_per_sender"):
            if getattr(self, name) <= 0:
                raise ValueError(f"MempoolConfig.{name} must be positive")


@dataclass(frozen=True, slots=True)
class _Entry:
    tx: bytes
    sender: bytes  # empty = unordered
    nonce: int


class Mempool:
    """Pending txs in arrival order; see the module docstring for the rules."""

    __slots__ = ("_by_sender", "_bytes", "_config", "_entries")

    def __init__(self, config: MempoolConfig | None = None) -> None:
        self._config = config if config is not None else MempoolConfig()
        self._entries: dict[Hash, _Entry] = {}  # insertion (= arrival) ordered
        self._by_sender: dict[bytes, dict[int, Hash]] = {}  # nonce -> hash, ascending
        self._bytes = 0

    @property
    def config(self) -> MempoolConfig:
        return self._config

    # ------------------------------------------------------------------ queries

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        """Total length of all pending txs."""
        return self._bytes

    def __contains__(self, h: object) -> bool:
        return h in self._entries

    def get(self, h: bytes) -> bytes | None:
        entry = self._entries.get(Hash(h))
        return None if entry is None else entry.tx

    def pending_nonce(self, sender: bytes) -> int | None:
        """The highest pending nonce of ``sender``, or None if it has nothing pending."""
        queue = self._by_sender.get(sender)
        return None if not queue else next(reversed(queue))

    def txs(self) -> tuple[bytes, ...]:
        """Every pending tx in arrival order."""
        return tuple(e.tx for e in self._entries.values())

    # ------------------------------------------------------------------ commands

    def add(self, tx: bytes, check: CheckTxResult, sender_next_nonce: int) -> Hash:
        """Admit a checked tx and return its hash; raise :class:`MempoolError` if refused."""
        cfg = self._config
        if not check.ok:
            raise MempoolError(
                f"check_tx failed with code {check.code}: {check.log}", code="check_tx_failed"
            )
        if len(tx) > cfg.max_tx_bytes:
            raise MempoolError(
                f"tx of {len(tx)} bytes exceeds the {cfg.max_tx_bytes}-byte limit",
                code="tx_too_large",
            )
        h = tx_hash(tx)
        if h in self._entries:
            raise MempoolError("tx is already in the mempool", code="tx_already_in_mempool")
        if len(self._entries) + 1 > cfg.max_txs or self._bytes + len(tx) > cfg.max_bytes:
            raise MempoolError("mempool is full", code="mempool_full")
        sender = check.sender
        if sender:
            queue = self._by_sender.get(sender)
            if queue and len(queue) >= cfg.max_per_sender:
                raise MempoolError(
                    f"sender already has {len(queue)} pending txs", code="sender_limit"
                )
            refusal = _nonce_refusal(check.nonce, queue, sender_next_nonce)
            if refusal is not None:
                expected = sender_next_nonce if not queue else next(reversed(queue)) + 1
                raise MempoolError(
                    f"nonce {check.nonce} refused (sender's next nonce is {sender_next_nonce},"
                    f" the pool expects {expected})",
                    code=refusal,
                )
            if queue is None:
                queue = self._by_sender[sender] = {}
            queue[check.nonce] = h
        self._entries[h] = _Entry(tx, sender, check.nonce)
        self._bytes += len(tx)
        return h

    def remove(self, h: bytes) -> list[Hash]:
        """Withdraw a pending tx (e.g. when persisting it failed); return what was removed.

        Every later pending tx of the same sender goes too (it would follow a gap), so the
        per-sender invariant holds. Removing an unknown hash removes nothing. O(1 + number of
        txs removed).
        """
        entry = self._entries.get(Hash(h))
        if entry is None:
            return []
        victims = [Hash(h)]
        if entry.sender:
            queue = self._by_sender[entry.sender]
            later = range(entry.nonce, next(reversed(queue)) + 1)  # contiguous nonces
            victims = [queue.pop(n) for n in later]
            if not queue:
                del self._by_sender[entry.sender]
        for v in victims:
            self._bytes -= len(self._entries.pop(v).tx)
        return victims

    def reap(self, max_bytes: int, max_txs: int) -> tuple[bytes, ...]:
        """The longest arrival-order prefix within both limits (txs stay in the pool)."""
        if max_bytes < 0 or max_txs < 0:
            raise ValueError("reap limits must not be negative")
        out: list[bytes] = []
        total = 0
        for entry in self._entries.values():
            if len(out) >= max_txs or total + len(entry.tx) > max_bytes:
                break
            out.append(entry.tx)
            total += len(entry.tx)
        return tuple(out)

    def update(self, committed: Sequence[bytes], recheck: Recheck) -> list[tuple[Hash, str]]:
        """Remove committed txs, recheck the rest; return the dropped ``(hash, code)``.

        The pool is replaced only once every recheck returned, so an exception from
        ``recheck`` leaves it unchanged.
        """
        gone = {tx_hash(tx) for tx in committed}
        entries: dict[Hash, _Entry] = {}
        by_sender: dict[bytes, dict[int, Hash]] = {}
        dropped: list[tuple[Hash, str]] = []
        size = 0
        for h, old in self._entries.items():
            if h in gone:
                continue
            check, next_nonce = recheck(old.tx)
            sender = check.sender
            reason: str | None = None
            if not check.ok:
                reason = "recheck_failed"
            elif sender:
                reason = _nonce_refusal(check.nonce, by_sender.get(sender), next_nonce)
            if reason is not None:
                dropped.append((h, reason))
                continue
            if sender:
                by_sender.setdefault(sender, {})[check.nonce] = h
            entries[h] = _Entry(old.tx, sender, check.nonce)
            size += len(old.tx)
        self._entries = entries
        self._by_sender = by_sender
        self._bytes = size
        return dropped


def _nonce_refusal(nonce: int, queue: dict[int, Hash] | None, next_nonce: int) -> str | None:
    """Why ``nonce`` does not extend a sender's pending ``queue`` (a code), or None if it does."""
    if queue:
        if nonce in queue:
            return "nonce_already_pending"
        if nonce == next(reversed(queue)) + 1:
            return None
    elif nonce == next_nonce:
        return None
    return "nonce_too_low" if nonce < next_nonce else "nonce_gap"
