"""dag-pb: the PBNode / PBLink protobuf codec (multicodec 0x70).

Spec: https://ipld.io/specs/codecs/dag-pb/spec/ ::

    message PBLink { optional bytes Hash = 1; optional string Name = 2; optional uint64 Tsize = 3; }
    message PBNode { repeated PBLink Links = 2; optional bytes Data = 1; }

Canonical form (what Kubo writes): the Links (field 2) are encoded *before* Data (field 1),
and each link's fields in the order Hash, Name, Tsize. Like go-merkledag, the encoder always
writes Name (empty for file chunks) and Tsize; Data is omitted when absent (``None``).
"""

from __future__ import annotations

from dataclasses import dataclass

from qos_ipfs import protobuf as pb
from qos_ipfs.cid import CID, DAG_PB
from qos_ipfs.errors import InvalidCid, MalformedNode


@dataclass(frozen=True, slots=True)
class PBLink:
    hash: CID
    name: str
    tsize: int


@dataclass(frozen=True, slots=True)
class PBNode:
    links: tuple[PBLink, ...]
    data: bytes | None


def encode_link(link: PBLink) -> bytes:
    return (
        pb.bytes_field(1, link.hash.to_bytes())
        + pb.bytes_field(2, link.name.encode("utf-8"))
        + pb.varint_field(3, link.tsize)
    )


def encode_node(links: tuple[PBLink, ...] | list[PBLink], data: bytes | None) -> bytes:
    parts = [pb.bytes_field(2, encode_link(link)) for link in links]
    if data is not None:
        parts.append(pb.bytes_field(1, data))
    return b"".join(parts)


def _decode_link(data: memoryview) -> PBLink:
    cid: CID | None = None
    name = ""
    tsize = 0
    last = 0
    for field, wt, value in pb.iter_fields(data):
        if field <= last:
            raise MalformedNode("PBLink fields out of order or repeated")
        last = field
        if field == 1:
            try:
                cid = CID.from_bytes(bytes(pb.expect_bytes(field, wt, value)))
            except InvalidCid as exc:
                raise MalformedNode(f"PBLink.Hash is not a supported CID: {exc}") from exc
        elif field == 2:
            try:
                name = bytes(pb.expect_bytes(field, wt, value)).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise MalformedNode("PBLink.Name is not UTF-8") from exc
        elif field == 3:
            tsize = pb.expect_int(field, wt, value)
        else:
            raise MalformedNode(f"unknown PBLink field {field}")
    if cid is None:
        raise MalformedNode("PBLink without Hash")
    return PBLink(cid, name, tsize)


def decode_node(block: bytes | memoryview) -> PBNode:
    """Decode a dag-pb block (strict: Links before Data, no unknown fields)."""
    links: list[PBLink] = []
    data: bytes | None = None
    for field, wt, value in pb.iter_fields(block):
        if field == 2:
            if data is not None:
                raise MalformedNode("PBNode.Links after Data")
            links.append(_decode_link(pb.expect_bytes(field, wt, value)))
        elif field == 1:
            if data is not None:
                raise MalformedNode("repeated PBNode.Data")
            data = bytes(pb.expect_bytes(field, wt, value))
        else:
            raise MalformedNode(f"unknown PBNode field {field}")
    return PBNode(tuple(links), data)


def child_cids(cid: CID, block: bytes) -> tuple[CID, ...]:
    """The CIDs a block links to: its PBLinks for dag-pb, none for raw."""
    if cid.codec != DAG_PB:
        return ()
    return tuple(link.hash for link in decode_node(block).links)
