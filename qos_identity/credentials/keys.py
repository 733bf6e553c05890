"""Issuer and holder keys from the identity state, now or at a past height.

``document_at(get, did, height)`` is the DID document in force after block ``height``
(the last version written at or below it; did:key documents are derived locally), so a
credential anchored before a key rotation is checked against the keys of that time.
``method_resolver(get, height)`` adapts it to ``di.MethodResolver``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from qos_identity.credentials.di import MethodResolver, ResolvedMethod
from qos_identity.didkey import did_key_document
from qos_identity.document import DID_KEY_PREFIX, DID_QOS_PREFIX, DidDocument, Relationship
from qos_identity.errors import IdentityError
from qos_identity.multikey import KeyType
from qos_identity.state import Getter, load_state, load_version


@dataclass(frozen=True, slots=True)
class DidView:
    document: DidDocument
    deactivated: bool


DocumentAt = Callable[[str, "int | None"], "DidView | None"]


def document_at(get: Getter, did: str, height: int | None = None) -> DidView | None:
    """``did``'s document after block ``height`` (``None``: current); ``None`` if unknown."""
    if did.startswith(DID_KEY_PREFIX):
        try:
            return DidView(did_key_document(did), False)
        except IdentityError:
            return None
    if not did.startswith(DID_QOS_PREFIX):
        return None
    state = load_state(get, did)
    if state is None:
        return None
    if height is None or state.updated_height <= height:
        return DidView(state.document, state.deactivated)
    if state.created_height > height:
        return None
    lo, hi, best = 1, state.version, 0
    while lo <= hi:  # last version whose height <= height
        mid = (lo + hi) // 2
        entry = load_version(get, did, mid)
        if entry is not None and entry.height <= height:
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    entry = load_version(get, did, best) if best else None
    return None if entry is None else DidView(entry.document, entry.deactivated)


def resolve_method(view: DidView | None, method_id: str) -> ResolvedMethod | None:
    if view is None or view.deactivated:
        return None
    doc = view.document
    m = doc.method(method_id)
    if m is None:
        return None
    try:
        key = m.multikey()
    except IdentityError:
        return None
    if key.key_type is not KeyType.ED25519:
        return None
    rels = frozenset(r.json_name for r in Relationship if method_id in doc.relationship(r))
    return ResolvedMethod(method_id, doc.id, key.public_key, rels)


def method_resolver(get: Getter, height: int | None = None) -> MethodResolver:
    """Resolve ``did#fragment`` against the identity state (after block ``height``)."""

    def resolve(method_id: str) -> ResolvedMethod | None:
        did = method_id.partition("#")[0]
        return resolve_method(document_at(get, did, height), method_id)

    return resolve
