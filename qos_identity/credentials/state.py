"""Credential state layout (all under ``vc/``, all in the Merkle app hash).

Variable-length parts (DIDs, schema ids, types) end with ``0x00`` (they never contain
NUL), so one prefix never matches another value's keys. ``<h>`` is the anchoring height
(u64 big-endian) and ``<d>`` the 32-byte credential digest, so every index lists
credentials oldest first and scans by prefix with a Relay cursor ``hex(<h><d>)``.

===============================================  =========================================
key                                              value
===============================================  =========================================
``vc/cred/<d>``                                  :class:`CredentialAnchor`
``vc/by-subject/<did>\\0<h><d>``                   empty (secondary index)
``vc/by-issuer/<did>\\0<h><d>``                    empty
``vc/by-schema/<schema id>\\0<h><d>``              empty
``vc/by-type/<type>\\0<h><d>``                     empty
``vc/all/<h><d>``                                empty
``vc/index/<issuer>\\0<u64 index>``                the digest holding a status index
``vc/issuer/<did>``                              :class:`IssuerRecord` (next index, status
                                                 sequence, anchored count)
``vc/sl/<issuer>\\0<purpose u8><u32 list><u32 chunk>``  a ``CHUNK_BYTES`` bitstring chunk
                                                 (absent = all zero)
``vc/slmeta/<issuer>\\0<purpose u8><u32 list>``    :class:`StatusListMeta` (last change)
``vc/schema/<schema id>``                        :class:`SchemaRecord`
``vc/schema-name/<author>\\0<name>\\0<u32 version>``  the schema id of that version
===============================================  =========================================

Status lists: index ``i`` of an issuer is bit ``i % LIST_BITS`` (most significant bit
first, W3C Bitstring Status List 2.1) of list ``i // LIST_BITS``; a list is
``LIST_BITS = 131,072`` bits (16 KiB, the W3C minimum) stored as ``LIST_BITS /
CHUNK_BITS = 8`` chunks of 2 KiB, so changing one index reads and writes one 2 KiB value
whatever the number of credentials.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from qos_chain import codec
from qos_identity.state import Getter

LIST_BITS = 131_072
CHUNK_BYTES = 2048
CHUNK_BITS = CHUNK_BYTES * 8
CHUNKS_PER_LIST = LIST_BITS // CHUNK_BITS


class Purpose(enum.IntEnum):
    REVOCATION = 1
    SUSPENSION = 2

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def of(cls, label: str) -> Purpose:
        return cls[label.upper()]


@codec.register(260)
@dataclass(frozen=True, slots=True)
class SchemaRecord:
    id: str
    author: str
    name: str
    version: int
    schema_hash: bytes
    document: bytes
    cid: str
    height: int
    time_ns: int


@codec.register(261)
@dataclass(frozen=True, slots=True)
class CredentialAnchor:
    digest: bytes
    issuer: str
    subject: str
    schema_id: str
    types: tuple[str, ...]
    valid_from: int | None
    valid_until: int | None
    status_index: int
    delivery: str
    signer: str
    height: int
    time_ns: int


@codec.register(262)
@dataclass(frozen=True, slots=True)
class IssuerRecord:
    next_index: int
    sequence: int
    anchored: int


@codec.register(263)
@dataclass(frozen=True, slots=True)
class StatusListMeta:
    height: int
    time_ns: int


def _s(text: str) -> bytes:
    return text.encode() + b"\x00"


def _u64(n: int) -> bytes:
    return n.to_bytes(8, "big")


CRED = b"vc/cred/"
BY_SUBJECT = b"vc/by-subject/"
BY_ISSUER = b"vc/by-issuer/"
BY_SCHEMA = b"vc/by-schema/"
BY_TYPE = b"vc/by-type/"
ALL = b"vc/all/"


def cred_key(digest: bytes) -> bytes:
    return CRED + digest


def position(height: int, digest: bytes) -> bytes:
    return _u64(height) + digest


def index_prefix(kind: bytes, value: str | None) -> bytes:
    return kind if value is None else kind + _s(value)


def status_index_key(issuer: str, index: int) -> bytes:
    return b"vc/index/" + _s(issuer) + _u64(index)


def issuer_key(did: str) -> bytes:
    return b"vc/issuer/" + did.encode()


def chunk_key(issuer: str, purpose: Purpose, list_id: int, chunk: int) -> bytes:
    return (
        b"vc/sl/" + _s(issuer) + bytes([purpose]) + list_id.to_bytes(4, "big")
        + chunk.to_bytes(4, "big")
    )  # fmt: skip


def list_meta_key(issuer: str, purpose: Purpose, list_id: int) -> bytes:
    return b"vc/slmeta/" + _s(issuer) + bytes([purpose]) + list_id.to_bytes(4, "big")


def schema_key(schema_id: str) -> bytes:
    return b"vc/schema/" + schema_id.encode()


def schema_name_key(author: str, name: str, version: int) -> bytes:
    return b"vc/schema-name/" + _s(author) + _s(name) + version.to_bytes(4, "big")


def locate(index: int) -> tuple[int, int, int]:
    """Status index -> (list id, chunk number in the list, bit number in the chunk)."""
    list_id, bit = divmod(index, LIST_BITS)
    chunk, bit = divmod(bit, CHUNK_BITS)
    return list_id, chunk, bit


def get_bit(chunk: bytes | None, bit: int) -> bool:
    return chunk is not None and bool(chunk[bit >> 3] & (0x80 >> (bit & 7)))


def load_anchor(get: Getter, digest: bytes) -> CredentialAnchor | None:
    raw = get(cred_key(digest))
    return None if raw is None else codec.decode(CredentialAnchor, raw)


def load_issuer(get: Getter, did: str) -> IssuerRecord:
    raw = get(issuer_key(did))
    return IssuerRecord(0, 0, 0) if raw is None else codec.decode(IssuerRecord, raw)


def load_schema(get: Getter, schema_id: str) -> SchemaRecord | None:
    raw = get(schema_key(schema_id))
    return None if raw is None else codec.decode(SchemaRecord, raw)


def status_bit(get: Getter, issuer: str, purpose: Purpose, index: int) -> bool:
    list_id, chunk, bit = locate(index)
    return get_bit(get(chunk_key(issuer, purpose, list_id, chunk)), bit)


def list_bits(get: Getter, issuer: str, purpose: Purpose, list_id: int) -> bytes:
    """The whole ``LIST_BITS`` bitstring of one list (missing chunks are zero)."""
    zero = bytes(CHUNK_BYTES)
    return b"".join(
        get(chunk_key(issuer, purpose, list_id, c)) or zero for c in range(CHUNKS_PER_LIST)
    )
