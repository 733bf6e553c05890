"""Identity state layout (all under ``did/``, all in the Merkle app hash).

=====================================  ==============================================
key                                    value
=====================================  ==============================================
``did/doc/<did>``                      :class:`DidState`: current document, versionId,
                                       created/updated (ns, height), recovery
                                       commitment, deactivated flag (the tombstone:
                                       never deleted, so an id is never re-registered)
``did/ver/<did>/<u64 BE version>``     :class:`VersionEntry`: every version's document,
                                       time, height, operation and submitting sender
``did/ctrl/<controller>/<did>``        empty: index for ``identities(controller)``;
                                       controllers are the document's ``controller``
                                       DIDs and ``did:key`` of each ed25519
                                       capabilityInvocation key
``did/link/<did>/<commitment>``        uvarint height: a linked identifier commitment
=====================================  ==============================================

``versionId`` is the decimal sequence number of the version (``"1"`` = create); every
applied operation, including identifier links and deactivation, adds one version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from qos_chain import codec
from qos_identity.document import DidDocument
from qos_identity.method import OpKind

Getter = Callable[[bytes], bytes | None]

DOC_PREFIX = b"did/doc/"
VERSION_PREFIX = b"did/ver/"
CONTROLLER_PREFIX = b"did/ctrl/"
LINK_PREFIX = b"did/link/"


@codec.register(230)
@dataclass(frozen=True, slots=True)
class DidState:
    document: DidDocument
    version: int
    created_ns: int
    updated_ns: int
    created_height: int
    updated_height: int
    deactivated: bool
    recovery_commitment: bytes
    links: int


@codec.register(231)
@dataclass(frozen=True, slots=True)
class VersionEntry:
    version: int
    op: OpKind
    time_ns: int
    height: int
    document: DidDocument
    deactivated: bool
    sender: bytes


def doc_key(did: str) -> bytes:
    return DOC_PREFIX + did.encode()


def version_key(did: str, version: int) -> bytes:
    return VERSION_PREFIX + did.encode() + b"/" + version.to_bytes(8, "big")


def controller_prefix(controller: str) -> bytes:
    return CONTROLLER_PREFIX + controller.encode() + b"/"


def controller_key(controller: str, did: str) -> bytes:
    return controller_prefix(controller) + did.encode()


def link_key(did: str, commitment: bytes) -> bytes:
    return LINK_PREFIX + did.encode() + b"/" + commitment


def load_state(get: Getter, did: str) -> DidState | None:
    raw = get(doc_key(did))
    return None if raw is None else codec.decode(DidState, raw)


def load_version(get: Getter, did: str, version: int) -> VersionEntry | None:
    raw = get(version_key(did, version))
    return None if raw is None else codec.decode(VersionEntry, raw)
