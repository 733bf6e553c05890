"""ConsensusWal: the write-ahead log of consensus messages for the current height.

Persist before speaking: our own signed proposal or vote is appended and fsync'd *before*
it is handed to the network (the signer has already fsync'd its double-sign guard).
Messages from peers are appended without fsync, as replay hints. After a restart the
driver replays the records of the height it resumes at, so the engine regains its own
votes (and re-gossips them) instead of staying silent for the steps it had signed.
The log is emptied in place (``ftruncate``) when a height commits.

Record: ``flags(1) || uvarint(len) || sha256(payload)[:4] || payload`` where flags bit 0 =
own message and payload = ``codec.encode`` of a ``ProposalMessage`` or ``Vote``. A torn or
corrupt tail (a crash mid-append) ends the replay at the last whole record.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from qos_chain import codec
from qos_chain.errors import DecodeError

OWN = 1


class ConsensusWal:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def append(self, payload: bytes, *, own: bool) -> None:
        rec = bytes([OWN if own else 0]) + codec.uvarint(len(payload))
        rec += hashlib.sha256(payload).digest()[:4] + payload
        os.write(self._fd, rec)
        if own:
            os.fsync(self._fd)

    def records(self) -> list[tuple[bool, bytes]]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        out: list[tuple[bool, bytes]] = []
        r = codec.Reader(data)
        try:
            while r.remaining:
                flags = r.byte()
                n = r.uvarint()
                check = r.take(4)
                payload = r.take(n)
                if hashlib.sha256(payload).digest()[:4] != check:
                    break
                out.append((bool(flags & OWN), payload))
        except DecodeError:
            pass  # torn tail: keep what was whole
        return out

    def reset(self) -> None:
        """Empty the log in place once a height has committed. Not fsync'd: a crash before
        the next own record's fsync may leave (part of) the decided height's records,
        which replay skips (they are for an older height), and a record appended after
        the truncation is whole or ends the replay at its checksum."""
        os.ftruncate(self._fd, 0)

    def close(self) -> None:
        os.close(self._fd)
