"""Encrypted files: streaming authenticated encryption to one or more X25519 keys.

A file is encrypted **before** it is imported, so a store (embedded or a Kubo daemon) and
every node that replicates it only ever hold ciphertext; the CID is the ciphertext's CID.
The recipients are X25519 public keys, in QOS the ``keyAgreement`` keys of DIDs (resolving
a DID to its key is the caller's job: this package sits below ``qos_identity``).

Format (version 1)::

    magic    b"QOSENC\\x00\\x01"                      8 bytes
    hlen     header length, u32 big endian           4 bytes (at most 64 KiB)
    header   JSON, UTF-8, sorted keys, no spaces:
             {"alg": "X25519-SealedBox",
              "enc": "XChaCha20-Poly1305-secretstream",
              "chunk": 65536,                         plaintext bytes per message
              "recipients": [{"kid": "did:...#...", "key": "<b64url sealed content key>"}],
              "ss": "<b64url secretstream header (24 bytes)>"}
    body     libsodium crypto_secretstream_xchacha20poly1305 messages: every full plaintext
             chunk as a MESSAGE of chunk + 17 bytes, then exactly one FINAL message holding
             the remaining 0 .. chunk-1 bytes; the first message's additional data is
             ``magic + hlen + header``, binding the header (recipients) to the stream.

The 32-byte content key is random per file and wrapped to each recipient with libsodium's
sealed box (ephemeral X25519 + XSalsa20-Poly1305, as the credential delivery envelope of
``qos_identity.credentials.crypto_box``). ``kid`` is an unauthenticated hint: decryption
tries every recipient entry with the given private key. Encryption is anonymous (no sender
authentication), like the credential envelope: authenticity must come from elsewhere (a
signature, a pin record signed by the owner).

Each message is authenticated; reordering, dropping, duplicating or altering a message is
refused (:class:`CiphertextCorrupt`), a stream that ends before its FINAL message is refused
(:class:`CiphertextTruncated`, a subclass; a cut inside a message fails authentication like
tampering), and so are bytes after it. Memory is bounded by a few chunks
whatever the file size. Decrypted bytes are yielded message by message, so a consumer that
needs all-or-nothing (``qos ipfs get``) writes to a temp file and renames it at the end.
"""

from __future__ import annotations

import base64
import io
import json
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

import nacl.bindings as sodium
import nacl.exceptions
import nacl.public

from qos_ipfs.errors import IpfsError

MAGIC = b"QOSENC\x00\x01"
ALG = "X25519-SealedBox"
ENC = "XChaCha20-Poly1305-secretstream"
DEFAULT_CHUNK = 65536
MAX_CHUNK = 1 << 20
MAX_HEADER = 64 * 1024
MAX_RECIPIENTS = 64
KEY_BYTES = 32
ABYTES: int = sodium.crypto_secretstream_xchacha20poly1305_ABYTES
_SS_HEADER: int = sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES
_TAG_MESSAGE: int = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
_TAG_FINAL: int = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
_PREFIX = len(MAGIC) + 4


class EncryptionError(IpfsError):
    code = "encryption_error"


class NotEncrypted(EncryptionError):
    """The bytes do not start with a QOS encryption header (or it is malformed)."""

    code = "not_encrypted"


class NotARecipient(EncryptionError):
    """None of the wrapped content keys opens with the given private key."""

    code = "not_a_recipient"


class CiphertextCorrupt(EncryptionError):
    """A message failed authentication: tampered, reordered or from another file."""

    code = "ciphertext_corrupt"


class CiphertextTruncated(CiphertextCorrupt):
    """The stream ended before its final message (a cut inside a message cannot be told
    from tampering: it is reported as :class:`CiphertextCorrupt`, "truncated or tampered")."""

    code = "ciphertext_truncated"


@dataclass(frozen=True, slots=True)
class Recipient:
    """An X25519 public key and the id it is listed under (``did#fragment``)."""

    kid: str
    public_key: bytes

    def __post_init__(self) -> None:
        if len(self.public_key) != KEY_BYTES:
            raise EncryptionError(f"recipient {self.kid}: an X25519 key is {KEY_BYTES} bytes")
        if not self.kid or len(self.kid) > 1024:
            raise EncryptionError("a recipient kid must be 1 to 1024 characters")


@dataclass(frozen=True, slots=True)
class Header:
    chunk: int
    recipients: tuple[tuple[str, bytes], ...]
    """(kid, sealed content key) per recipient."""
    ss_header: bytes
    raw: bytes
    """magic + length + JSON: the first message's additional data."""

    @property
    def kids(self) -> list[str]:
        return [kid for kid, _ in self.recipients]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def x25519_public_key(private_key: bytes) -> bytes:
    return bytes(nacl.public.PrivateKey(private_key).public_key)


# ---------------------------------------------------------------------------- encrypt


def _encode_header(
    recipients: Sequence[Recipient], content_key: bytes, ss_header: bytes, chunk: int
) -> bytes:
    if not recipients:
        raise EncryptionError("at least one recipient is needed")
    if len(recipients) > MAX_RECIPIENTS:
        raise EncryptionError(f"at most {MAX_RECIPIENTS} recipients")
    if len({r.public_key for r in recipients}) != len(recipients):
        raise EncryptionError("a recipient key is listed twice")
    entries = []
    for r in recipients:
        sealed = nacl.public.SealedBox(nacl.public.PublicKey(r.public_key)).encrypt(content_key)
        entries.append({"kid": r.kid, "key": _b64(sealed)})
    obj = {"alg": ALG, "enc": ENC, "chunk": chunk, "recipients": entries, "ss": _b64(ss_header)}
    body = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    if len(body) > MAX_HEADER:
        raise EncryptionError(f"the header would exceed {MAX_HEADER} bytes (kids too long)")
    return MAGIC + struct.pack(">I", len(body)) + body


def _read_full(read: Callable[[int], bytes], n: int) -> bytes:
    """Up to ``n`` bytes: less only at end of stream."""
    first = read(n)
    if len(first) == n or not first:
        return first
    parts = [first]
    got = len(first)
    while got < n:
        more = read(n - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def encrypt_chunks(
    read: Callable[[int], bytes],
    recipients: Sequence[Recipient],
    *,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
    """Yield the encrypted file (header, then one message per chunk) read through
    ``read(n)`` (a file's ``read``). ``progress`` gets the plaintext bytes consumed."""
    if not 1 <= chunk_size <= MAX_CHUNK:
        raise EncryptionError(f"chunk size must be 1 .. {MAX_CHUNK}")
    content_key = sodium.crypto_secretstream_xchacha20poly1305_keygen()
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    ss_header = sodium.crypto_secretstream_xchacha20poly1305_init_push(state, content_key)
    header = _encode_header(recipients, content_key, ss_header, chunk_size)
    yield header
    ad: bytes | None = header
    while True:
        piece = _read_full(read, chunk_size)
        if progress is not None and piece:
            progress(len(piece))
        tag = _TAG_MESSAGE if len(piece) == chunk_size else _TAG_FINAL
        yield sodium.crypto_secretstream_xchacha20poly1305_push(state, piece, ad, tag)
        ad = None
        if tag == _TAG_FINAL:
            return


class _EncryptingRaw(io.RawIOBase):
    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        out = memoryview(buffer).cast("B")
        while not self._pending:
            nxt = next(self._pieces, None)
            if nxt is None:
                return 0
            self._pending = memoryview(nxt)
        n = min(len(out), len(self._pending))
        out[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def encrypting_reader(
    plain: BinaryIO,
    recipients: Sequence[Recipient],
    *,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Callable[[int], None] | None = None,
) -> BinaryIO:
    """A readable binary stream of the encrypted ``plain``: pass it to any importer or
    ``IpfsBackend.add``. Reads ``plain`` one chunk at a time."""
    pieces = encrypt_chunks(plain.read, recipients, chunk_size=chunk_size, progress=progress)
    return io.BufferedReader(_EncryptingRaw(pieces), buffer_size=chunk_size + ABYTES)


def encrypted_size(plain_size: int, header_size: int, chunk_size: int = DEFAULT_CHUNK) -> int:
    """Ciphertext length for a plaintext of ``plain_size`` bytes."""
    return header_size + plain_size + (plain_size // chunk_size + 1) * ABYTES


# ---------------------------------------------------------------------------- decrypt


class _Reader:
    """Exact-size reads over an iterable of byte pieces of any sizes."""

    def __init__(self, pieces: Iterable[bytes]) -> None:
        self._it = iter(pieces)
        self._buf = bytearray()

    def read(self, n: int) -> bytes:
        while len(self._buf) < n:
            nxt = next(self._it, None)
            if nxt is None:
                break
            self._buf += nxt
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out


def _parse_header(reader: _Reader) -> Header:
    prefix = reader.read(_PREFIX)
    if len(prefix) < _PREFIX or prefix[: len(MAGIC)] != MAGIC:
        if prefix[:6] == MAGIC[:6] and len(prefix) >= len(MAGIC):
            raise NotEncrypted(f"unsupported QOS encryption version {prefix[len(MAGIC) - 1]}")
        raise NotEncrypted("not a QOS encrypted file (no QOSENC header)")
    (length,) = struct.unpack(">I", prefix[len(MAGIC) :])
    if length > MAX_HEADER:
        raise NotEncrypted(f"encryption header of {length} bytes exceeds {MAX_HEADER}")
    body = reader.read(length)
    if len(body) < length:
        raise CiphertextTruncated("truncated: the stream ends inside the encryption header")
    try:
        obj = json.loads(body)
        if obj.get("alg") != ALG or obj.get("enc") != ENC:
            raise NotEncrypted(f"unsupported algorithms (expected {ALG} / {ENC})")
        chunk = obj["chunk"]
        ss = _unb64(obj["ss"])
        entries = tuple((str(e["kid"]), _unb64(e["key"])) for e in obj["recipients"])
    except EncryptionError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise NotEncrypted(f"malformed encryption header: {exc}") from exc
    if type(chunk) is not int or not 1 <= chunk <= MAX_CHUNK:
        raise NotEncrypted("malformed encryption header: bad chunk size")
    if len(ss) != _SS_HEADER or not 1 <= len(entries) <= MAX_RECIPIENTS:
        raise NotEncrypted("malformed encryption header: bad stream header or recipients")
    return Header(chunk, entries, ss, prefix + body)


def read_header(pieces: Iterable[bytes]) -> Header:
    """The header of an encrypted file (reads only as far as the header)."""
    return _parse_header(_Reader(pieces))


def _unwrap(header: Header, private_key: bytes) -> bytes:
    if len(private_key) != KEY_BYTES:
        raise EncryptionError(f"an X25519 private key is {KEY_BYTES} bytes")
    box = nacl.public.SealedBox(nacl.public.PrivateKey(private_key))
    for _kid, wrapped in header.recipients:
        try:
            key = box.decrypt(wrapped)
        except nacl.exceptions.CryptoError:
            continue
        if len(key) == KEY_BYTES:
            return key
    raise NotARecipient(
        "this key is not a recipient of the file (recipients: " + ", ".join(header.kids) + ")"
    )


def decrypt_chunks(pieces: Iterable[bytes], private_key: bytes) -> Iterator[bytes]:
    """Yield the plaintext of an encrypted file given as byte pieces (e.g. ``cat``'s),
    one authenticated message at a time."""
    reader = _Reader(pieces)
    header = _parse_header(reader)
    content_key = _unwrap(header, private_key)
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    try:
        sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, header.ss_header, content_key)
    except (nacl.exceptions.CryptoError, ValueError) as exc:
        raise CiphertextCorrupt("the stream header does not match the content key") from exc
    frame = header.chunk + ABYTES
    ad: bytes | None = header.raw
    index = 0
    while True:
        message = reader.read(frame)
        if not message:
            raise CiphertextTruncated(
                f"truncated: the ciphertext ends before its final message ({index})"
            )
        if len(message) < ABYTES:
            raise CiphertextTruncated(f"truncated: message {index} is cut short")
        try:
            plain, tag = sodium.crypto_secretstream_xchacha20poly1305_pull(state, message, ad)
        except (nacl.exceptions.CryptoError, ValueError) as exc:
            why = "truncated or tampered" if len(message) < frame else "tampered"
            raise CiphertextCorrupt(f"message {index} fails authentication ({why})") from exc
        ad = None
        if tag == _TAG_FINAL:
            if reader.read(1):
                raise CiphertextCorrupt("bytes follow the final message")
            if plain:
                yield plain
            return
        if tag != _TAG_MESSAGE or len(plain) != header.chunk:
            raise CiphertextCorrupt(f"message {index} has an unexpected tag or size")
        yield plain
        index += 1
