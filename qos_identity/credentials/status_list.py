"""W3C Bitstring Status List v1.0 credentials built from chain state.

An issuer's status index ``i`` lives in list ``i // LIST_BITS`` (131,072 bits = 16 KiB,
the spec's minimum, which gives group privacy) at bit ``i % LIST_BITS`` counted from the
most significant bit of the first byte (spec 2.1). ``encodedList`` is multibase
base64url without padding (``u``) of the GZIP of the bitstring (spec 2.2; GZIP with
mtime 0 so every node serves the same bytes).

The list credential is served by the node at ``status_list_path(issuer, purpose, list)``
(``/credentials/status/<issuer DID>/<revocation|suspension>/<list id>``) with the same
URL as its ``id``; credentials reference it in ``credentialStatus.statusListCredential``.

**Who signs it.** The node cannot sign for the issuer and the issuer should not have to
come online for every change, so the served list is *not signed by the issuer*: its
authority is the chain. Every bit is an app-state key (``vc/sl/...``) under the Merkle
app hash that +2/3 of the validators signed, and a status change is accepted only when
signed by the issuer's key (``MsgChangeStatus``). ``verify.verify_credential`` reads
the bits from chain state, not from the served document; third parties without chain
access either trust the node they ask, or ask the issuer to publish a signed snapshot
(``sign_status_list``: the same credential with an ``eddsa-jcs-2022`` proof by an
assertionMethod key; its ``validFrom`` is the time of the last change it reflects).
"""

from __future__ import annotations

import base64
import gzip
import zlib
from typing import Any

from qos_identity.credentials.di import add_proof
from qos_identity.credentials.errors import InvalidCredential
from qos_identity.credentials.model import STATUS_ENTRY, VC_TYPE, VC_V2
from qos_identity.credentials.reader import CredentialReader
from qos_identity.credentials.state import LIST_BITS, Purpose
from qos_identity.resolver import xml_datetime

LIST_CREDENTIAL_TYPE = "BitstringStatusListCredential"
LIST_TYPE = "BitstringStatusList"
STATUS_PATH = "/credentials/status/"
MAX_DECODED_BYTES = 16 * 1024 * 1024


def status_list_path(issuer: str, purpose: str, list_id: int) -> str:
    return f"{STATUS_PATH}{issuer}/{Purpose.of(purpose).label}/{list_id}"


def status_list_url(base_url: str, issuer: str, purpose: str, list_id: int) -> str:
    return base_url.rstrip("/") + status_list_path(issuer, purpose, list_id)


def parse_status_list_url(url: str) -> tuple[str, str, int] | None:
    """(issuer, purpose, list id) from a status list URL of any node; None otherwise."""
    _, sep, rest = url.partition(STATUS_PATH)
    parts = rest.split("/")
    if not sep or len(parts) != 3 or parts[1] not in ("revocation", "suspension"):
        return None
    if not parts[2].isdigit() or len(parts[2]) > 9:
        return None
    return parts[0], parts[1], int(parts[2])


def status_entries(base_url: str, issuer: str, index: int) -> list[dict[str, Any]]:
    """``credentialStatus`` for index ``index``: one revocation and one suspension entry."""
    list_id = index // LIST_BITS
    return [
        {
            "id": f"{status_list_url(base_url, issuer, p, list_id)}#{index}",
            "type": STATUS_ENTRY,
            "statusPurpose": p,
            "statusListIndex": str(index),
            "statusListCredential": status_list_url(base_url, issuer, p, list_id),
        }
        for p in ("revocation", "suspension")
    ]


def encode_list(bits: bytes) -> str:
    packed = gzip.compress(bits, compresslevel=9, mtime=0)
    return "u" + base64.urlsafe_b64encode(packed).decode().rstrip("=")


def decode_list(encoded: str) -> bytes:
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise InvalidCredential("encodedList must be multibase base64url ('u')")
    body = encoded[1:]
    try:
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip, bounded output
        bits = d.decompress(packed, MAX_DECODED_BYTES)
    except (ValueError, zlib.error) as exc:
        raise InvalidCredential(f"encodedList does not decode: {exc}") from exc
    if d.unconsumed_tail:
        raise InvalidCredential(f"encodedList expands beyond {MAX_DECODED_BYTES} bytes")
    return bits


def bit_at(bits: bytes, index: int) -> bool:
    pos = index % LIST_BITS
    if pos >> 3 >= len(bits):
        raise InvalidCredential(f"index {index} is outside the status list")
    return bool(bits[pos >> 3] & (0x80 >> (pos & 7)))


def build_status_list_credential(
    reader: CredentialReader, base_url: str, issuer: str, purpose: str, list_id: int
) -> dict[str, Any]:
    """The ``BitstringStatusListCredential`` of one list, from chain state (unsigned)."""
    url = status_list_url(base_url, issuer, purpose, list_id)
    meta = reader.list_meta(issuer, purpose, list_id)
    cred: dict[str, Any] = {
        "@context": [VC_V2],
        "id": url,
        "type": [VC_TYPE, LIST_CREDENTIAL_TYPE],
        "issuer": issuer,
    }
    if meta is not None:
        cred["validFrom"] = xml_datetime(meta.time_ns)
    cred["credentialSubject"] = {
        "id": f"{url}#list",
        "type": LIST_TYPE,
        "statusPurpose": Purpose.of(purpose).label,
        "encodedList": encode_list(reader.list_bits(issuer, purpose, list_id)),
    }
    return cred


def sign_status_list(
    credential: dict[str, Any], seed: bytes, verification_method: str, created: str
) -> dict[str, Any]:
    """An issuer-signed snapshot of a served list (for verifiers without chain access)."""
    return add_proof(credential, seed, verification_method=verification_method, created=created)


def status_from_list_credential(list_credential: dict[str, Any], index: int) -> bool:
    """The bit of ``index`` in a (served or issuer-signed) list credential."""
    subject = list_credential.get("credentialSubject")
    if not isinstance(subject, dict) or subject.get("type") != LIST_TYPE:
        raise InvalidCredential("not a BitstringStatusListCredential")
    return bit_at(decode_list(subject.get("encodedList", "")), index)
