"""Files state layout (all under ``pin/``, all in the Merkle app hash).

===============================================  ===========================================
key                                              value
===============================================  ===========================================
``pin/rec/<owner>/<cid hex>``                    :class:`PinRecord` (the on-chain pin)
``pin/cid/<cid hex>/<owner>``                    empty: index "who pins this CID"
``pin/name/<owner>/<name>\\x00<cid hex>``         empty: index "the owner's pins by name"
``pin/byname/<name>\\x00<owner>/<cid hex>``       empty: index "everyone's pins by name"
``pin/nonce/<owner>``                            8-byte big-endian: next files nonce
``pin/snap/<owner>/<chain>\\x00<u64 BE height>``  :class:`SnapshotRecord`
===============================================  ===========================================

Both name indexes hold only named pins (a name never holds a control character, so the
``\\x00`` after it is unambiguous), and both order a name's entries like the records'
keys (``<owner>/<cid hex>``): a listing by name resumes after a record key, as the
owner and CID listings do.

There is no on-chain status index: the chain records ownership and intent only (a pin's
chain status is always "requested"); progress (queued, pinning, pinned, failed) is each
node's own and lives in its local database (``qos_fs.service``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from qos_chain import codec

Getter = Callable[[bytes], bytes | None]
Scanner = Callable[[bytes, bytes, int], Sequence[tuple[bytes, bytes]]]
"""``scan(lo, hi, limit)``: rows with lo <= key < hi in key order (as qos_identity's)."""

REC_PREFIX = b"pin/rec/"
CID_PREFIX = b"pin/cid/"
NAME_PREFIX = b"pin/name/"
BYNAME_PREFIX = b"pin/byname/"
NONCE_PREFIX = b"pin/nonce/"
SNAP_PREFIX = b"pin/snap/"


@codec.register(310)
@dataclass(frozen=True, slots=True)
class PinRecord:
    owner: str
    cid: bytes
    size: int
    name: str
    metadata: str
    expires_height: int | None
    expires_ns: int | None
    replication: int
    created_height: int
    created_ns: int
    sender: bytes  # the account that submitted the tx


@codec.register(311)
@dataclass(frozen=True, slots=True)
class SnapshotRecord:
    owner: str
    chain: str
    height: int
    state_root: bytes
    snapshot_cid: bytes
    anchored_height: int
    anchored_ns: int
    sender: bytes


def rec_key(owner: str, cid: bytes) -> bytes:
    return REC_PREFIX + owner.encode() + b"/" + cid.hex().encode()


def owner_prefix(owner: str) -> bytes:
    return REC_PREFIX + owner.encode() + b"/"


def cid_index_prefix(cid: bytes) -> bytes:
    return CID_PREFIX + cid.hex().encode() + b"/"


def cid_index_key(cid: bytes, owner: str) -> bytes:
    return cid_index_prefix(cid) + owner.encode()


def name_key(owner: str, name: str, cid: bytes) -> bytes:
    return NAME_PREFIX + owner.encode() + b"/" + name.encode() + b"\x00" + cid.hex().encode()


def byname_key(name: str, owner: str, cid: bytes) -> bytes:
    return BYNAME_PREFIX + name.encode() + b"\x00" + owner.encode() + b"/" + cid.hex().encode()


def nonce_key(owner: str) -> bytes:
    return NONCE_PREFIX + owner.encode()


def snap_key(owner: str, chain: str, height: int) -> bytes:
    suffix = chain.encode() + b"\x00" + height.to_bytes(8, "big")
    return SNAP_PREFIX + owner.encode() + b"/" + suffix


def prefix_end(prefix: bytes) -> bytes:
    """The smallest key above every key starting with ``prefix`` (prefixes end in ``/``)."""
    return prefix[:-1] + bytes([prefix[-1] + 1])


def get_nonce(get: Getter, owner: str) -> int:
    raw = get(nonce_key(owner))
    return 0 if raw is None else int.from_bytes(raw, "big")


def load_pin(get: Getter, owner: str, cid: bytes) -> PinRecord | None:
    raw = get(rec_key(owner, cid))
    return None if raw is None else codec.decode(PinRecord, raw)


def load_snapshot(get: Getter, owner: str, chain: str, height: int) -> SnapshotRecord | None:
    raw = get(snap_key(owner, chain, height))
    return None if raw is None else codec.decode(SnapshotRecord, raw)


def pins_page(
    get: Getter,
    scan: Scanner,
    *,
    owner: str | None,
    cid: bytes | None,
    after: bytes | None,
    limit: int,
    name: str | None = None,
) -> list[tuple[bytes, PinRecord]]:
    """On-chain pins in key order (``(record key, record)``), after the record key
    ``after``: the owner's (``pin/rec/<owner>/``), a CID's (via ``pin/cid/``), or all.

    A non-empty ``name`` without ``cid`` reads a name index (the owner's ``pin/name/``,
    or ``pin/byname/`` across owners): only records of that name, same order. With ``cid``
    (or an empty ``name``) the name is not applied here: filter the records (a short page
    would otherwise look like the end of the listing)."""
    if name and cid is None:
        return _by_name(get, scan, name, owner=owner, after=after, limit=limit)
    if cid is not None and owner is not None:
        rec = load_pin(get, owner, cid)
        key = rec_key(owner, cid)
        return [] if rec is None or (after is not None and key <= after) else [(key, rec)]
    if cid is not None:
        prefix = cid_index_prefix(cid)
        lo = prefix
        if after is not None:  # after = a record key of this cid: resume at its owner
            owner_of = after[len(REC_PREFIX) :].rsplit(b"/", 1)[0]
            lo = prefix + owner_of + b"\x00"
        out = []
        for k, _ in scan(lo, prefix_end(prefix), limit):
            o = k[len(prefix) :].decode()
            rec = load_pin(get, o, cid)
            if rec is not None:
                out.append((rec_key(o, cid), rec))
        return out
    prefix = REC_PREFIX if owner is None else owner_prefix(owner)
    lo = prefix if after is None else max(prefix, after + b"\x00")
    return [(k, codec.decode(PinRecord, v)) for k, v in scan(lo, prefix_end(prefix), limit)]


def _by_name(
    get: Getter, scan: Scanner, name: str, *, owner: str | None, after: bytes | None, limit: int
) -> list[tuple[bytes, PinRecord]]:
    """Records named ``name`` (an owner's, or everyone's) in record key order, after the
    record key ``after``. Index entries end in ``<owner>/<cid hex>`` (the byname index) or
    ``<cid hex>`` (the owner's name index), the record key's own suffixes."""
    if owner is None:
        prefix = BYNAME_PREFIX + name.encode() + b"\x00"
        own = b""
    else:
        prefix = NAME_PREFIX + owner.encode() + b"/" + name.encode() + b"\x00"
        own = owner.encode() + b"/"
    end = prefix[:-1] + b"\x01"  # every key of this name (and owner): prefix + suffix
    lo = prefix
    if after is not None:  # resume after the record key: its suffix, or before/after all
        first = REC_PREFIX + own
        if after.startswith(first):
            lo = prefix + after[len(first) :] + b"\x00"
        elif after > first:
            return []
    out = []
    for k, _ in scan(lo, end, limit):
        key = REC_PREFIX + own + k[len(prefix) :]
        raw = get(key)
        if raw is not None:
            out.append((key, codec.decode(PinRecord, raw)))
    return out


def snapshots_of(scan: Scanner, owner: str, limit: int) -> list[SnapshotRecord]:
    prefix = SNAP_PREFIX + owner.encode() + b"/"
    return [codec.decode(SnapshotRecord, v) for _, v in scan(prefix, prefix_end(prefix), limit)]
