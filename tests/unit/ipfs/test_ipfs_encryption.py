"""Encrypted files (``qos_ipfs.encryption``): round trips to 1 and 3 recipients through a
real store, wrong keys, tampering, truncation, bounded memory, and no plaintext at rest."""

from __future__ import annotations

import hashlib
import io
import json
import struct
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import nacl.public
import pytest
from nacl.signing import SigningKey

from qos_identity.credentials.crypto_box import x25519_private_from_ed25519_seed
from qos_identity.multikey import ed25519_to_x25519
from qos_ipfs.backend import EmbeddedBackend
from qos_ipfs.blockstore import FileBlockstore, MemoryBlockstore
from qos_ipfs.encryption import (
    ABYTES,
    DEFAULT_CHUNK,
    MAGIC,
    CiphertextCorrupt,
    CiphertextTruncated,
    EncryptionError,
    NotARecipient,
    NotEncrypted,
    Recipient,
    decrypt_chunks,
    encrypted_size,
    encrypting_reader,
    read_header,
    x25519_public_key,
)
from qos_ipfs.exporter import read_file
from qos_ipfs.importer import KUBO_V0, KUBO_V1, UNIXFS_V1_2025, import_file

MARKER = b"QOS-PLAINTEXT-MARKER-7f3a"


def keypair(i: int) -> tuple[bytes, Recipient]:
    sk = bytes(nacl.public.PrivateKey.from_seed(bytes([i]) * 32))
    return sk, Recipient(f"did:key:test{i}#key-agreement-1", x25519_public_key(sk))


def encrypt(data: bytes, recipients: list[Recipient], chunk: int = DEFAULT_CHUNK) -> bytes:
    return encrypting_reader(io.BytesIO(data), recipients, chunk_size=chunk).read()


def decrypt(ct: bytes, sk: bytes, piece: int = 4096) -> bytes:
    pieces = (ct[i : i + piece] for i in range(0, len(ct), piece))
    return b"".join(decrypt_chunks(pieces, sk))


def body_offset(ct: bytes) -> int:
    (length,) = struct.unpack(">I", ct[len(MAGIC) : len(MAGIC) + 4])
    return len(MAGIC) + 4 + int(length)


SIZES = [0, 1, 1000, DEFAULT_CHUNK - 1, DEFAULT_CHUNK, DEFAULT_CHUNK + 1, 3 * DEFAULT_CHUNK + 5]


@pytest.mark.parametrize("size", SIZES)
def test_round_trip_one_recipient_through_the_store(size: int) -> None:
    data = (MARKER * (size // len(MARKER) + 1))[:size]
    sk, rcpt = keypair(1)
    store = MemoryBlockstore()
    res = import_file(encrypting_reader(io.BytesIO(data), [rcpt]), KUBO_V0, store.put)
    ct = b"".join(read_file(store, res.root))
    assert res.size == len(ct) == encrypted_size(size, len(read_header([ct]).raw))
    assert ct.startswith(MAGIC)
    assert b"".join(decrypt_chunks(read_file(store, res.root), sk)) == data


@pytest.mark.parametrize("profile", [KUBO_V0, KUBO_V1, UNIXFS_V1_2025], ids=lambda p: p.name)
def test_round_trip_three_recipients_each_can_open(profile: object) -> None:
    data = hashlib.sha256(b"x").digest() * 40_000  # 1.28 MB, several messages and blocks
    keys = [keypair(i) for i in (1, 2, 3)]
    store = MemoryBlockstore()
    stream = encrypting_reader(io.BytesIO(data), [r for _, r in keys])
    res = import_file(stream, profile, store.put)  # type: ignore[arg-type]
    header = read_header(read_file(store, res.root))
    assert header.kids == [r.kid for _, r in keys]
    for sk, _ in keys:
        assert b"".join(decrypt_chunks(read_file(store, res.root), sk)) == data


def test_each_encryption_is_fresh() -> None:
    _, rcpt = keypair(1)
    assert encrypt(b"same", [rcpt]) != encrypt(b"same", [rcpt])


def test_did_key_convention_ed25519_seed_opens_its_keyagreement_key() -> None:
    """The CLI decrypts with a `qos keys` ed25519 seed; did:key's keyAgreement key is the
    ed25519 public key mapped to X25519: the two must meet."""
    seed = bytes(range(32))
    ed_pub = bytes(SigningKey(seed).verify_key)
    rcpt = Recipient("did:key:z#x", ed25519_to_x25519(ed_pub))
    ct = encrypt(b"hello", [rcpt])
    assert decrypt(ct, x25519_private_from_ed25519_seed(seed)) == b"hello"


def test_wrong_key_is_refused_with_the_recipients_named() -> None:
    _, r1 = keypair(1)
    _, r2 = keypair(2)
    sk3, _ = keypair(3)
    ct = encrypt(b"secret" * 1000, [r1, r2])
    with pytest.raises(NotARecipient, match="not a recipient") as info:
        decrypt(ct, sk3)
    assert r1.kid in info.value.message
    assert r2.kid in info.value.message
    assert info.value.code == "not_a_recipient"


def test_not_encrypted_input_is_refused() -> None:
    sk, _ = keypair(1)
    with pytest.raises(NotEncrypted, match="not a QOS encrypted file"):
        decrypt(b"just some plaintext file" * 10, sk)
    with pytest.raises(NotEncrypted):
        decrypt(b"", sk)
    with pytest.raises(NotEncrypted, match="version"):
        decrypt(MAGIC[:-1] + b"\x09" + bytes(4), sk)


def test_tampered_body_is_refused() -> None:
    sk, rcpt = keypair(1)
    data = MARKER * 20_000
    ct = bytearray(encrypt(data, [rcpt]))
    start = body_offset(bytes(ct))
    for pos in (start, start + DEFAULT_CHUNK + ABYTES + 100, len(ct) - 1):
        bad = bytearray(ct)
        bad[pos] ^= 0x01
        with pytest.raises(CiphertextCorrupt, match="fails authentication"):
            decrypt(bytes(bad), sk)


def test_tampered_header_is_refused() -> None:
    """Editing a kid (the header is the first message's additional data) breaks message 0;
    replacing a wrapped key makes the key not open."""
    sk, rcpt = keypair(1)
    ct = encrypt(b"payload" * 100, [rcpt])
    start = body_offset(ct)
    header = json.loads(ct[len(MAGIC) + 4 : start])
    header["recipients"][0]["kid"] = "did:key:test1#key-agreement-X"
    body = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    forged = MAGIC + struct.pack(">I", len(body)) + body + ct[start:]
    with pytest.raises(CiphertextCorrupt):
        decrypt(forged, sk)
    other = encrypt(b"payload" * 100, [rcpt])  # same recipient, other content key
    other_header = json.loads(other[len(MAGIC) + 4 : body_offset(other)])
    header = json.loads(ct[len(MAGIC) + 4 : start])
    header["recipients"] = other_header["recipients"]
    body = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    swapped = MAGIC + struct.pack(">I", len(body)) + body + ct[start:]
    with pytest.raises(CiphertextCorrupt):
        decrypt(swapped, sk)
    garbled = ct[: len(MAGIC) + 4] + b"{" * (start - len(MAGIC) - 4) + ct[start:]
    with pytest.raises(NotEncrypted, match="malformed"):
        decrypt(garbled, sk)


def test_reordered_or_duplicated_messages_are_refused() -> None:
    sk, rcpt = keypair(1)
    ct = encrypt(MARKER * 20_000, [rcpt])
    start = body_offset(ct)
    frame = DEFAULT_CHUNK + ABYTES
    m0, m1 = ct[start : start + frame], ct[start + frame : start + 2 * frame]
    with pytest.raises(CiphertextCorrupt):
        decrypt(ct[:start] + m1 + m0 + ct[start + 2 * frame :], sk)
    with pytest.raises(CiphertextCorrupt):
        decrypt(ct[:start] + m0 + m0 + ct[start + 2 * frame :], sk)


def test_truncated_stream_is_refused() -> None:
    sk, rcpt = keypair(1)
    data = MARKER * 20_000  # 500 KB: 7 full messages and a final one
    ct = encrypt(data, [rcpt])
    start = body_offset(ct)
    frame = DEFAULT_CHUNK + ABYTES
    cuts = [5, start - 3, start, start + 10, start + frame, start + 3 * frame, len(ct) - 1]
    for cut in cuts:
        with pytest.raises((CiphertextCorrupt, NotEncrypted)) as info:
            decrypt(ct[:cut], sk)
        if cut >= len(MAGIC) + 4:  # past the magic: truncation is named as such
            assert "truncated" in info.value.message, (cut, info.value.message)
    for cut in (start, start + frame, start + 3 * frame):  # at a message boundary
        with pytest.raises(CiphertextTruncated, match="before its final message"):
            decrypt(ct[:cut], sk)
    # a file that is a whole number of chunks ends with an empty final message: dropping
    # it still leaves whole, valid messages, and is still refused
    exact = encrypt(b"\x00" * (2 * DEFAULT_CHUNK), [rcpt])
    assert len(exact) == body_offset(exact) + 2 * frame + ABYTES
    with pytest.raises(CiphertextTruncated, match="before its final message"):
        decrypt(exact[:-ABYTES], sk)


def test_trailing_bytes_are_refused() -> None:
    sk, rcpt = keypair(1)
    with pytest.raises(CiphertextCorrupt, match="tampered"):
        decrypt(encrypt(b"abc", [rcpt]) + b"x", sk)
    whole = encrypt(b"\x00" * DEFAULT_CHUNK, [rcpt])  # a full message, then the final one
    with pytest.raises(CiphertextCorrupt):
        decrypt(whole + whole[body_offset(whole) :], sk)


def test_recipient_validation() -> None:
    _, rcpt = keypair(1)
    with pytest.raises(EncryptionError, match="at least one"):
        encrypt(b"x", [])
    with pytest.raises(EncryptionError, match="twice"):
        encrypt(b"x", [rcpt, Recipient("other#k", rcpt.public_key)])
    with pytest.raises(EncryptionError, match="32 bytes"):
        Recipient("a#b", b"short")
    with pytest.raises(EncryptionError, match="chunk size"):
        encrypt(b"x", [rcpt], chunk=0)


def _write_marked_file(path: Path, size: int) -> str:
    """A file of ``size`` bytes full of MARKER, written in pieces; returns its sha256."""
    piece = MARKER * (65536 // len(MARKER))
    h = hashlib.sha256()
    with path.open("wb") as f:
        left = size
        while left:
            part = piece[:left]
            f.write(part)
            h.update(part)
            left -= len(part)
    return h.hexdigest()


def _hash_stream(pieces: Iterator[bytes]) -> str:
    h = hashlib.sha256()
    for p in pieces:
        h.update(p)
    return h.hexdigest()


def test_20_mib_file_memory_is_bounded_and_store_holds_no_plaintext(tmp_path: Path) -> None:
    size = 20 << 20
    src = tmp_path / "plain.bin"
    digest = _write_marked_file(src, size)
    sk, rcpt = keypair(1)
    backend = EmbeddedBackend.open(tmp_path / "ipfs", tmp_path / "ipfs.db")
    try:
        tracemalloc.start()
        try:
            with src.open("rb") as plain:
                res = backend.add(encrypting_reader(plain, [rcpt]), KUBO_V0)
            _, add_peak = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            assert _hash_stream(decrypt_chunks(backend.cat(res.root), sk)) == digest
            _, read_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert add_peak < 3 << 20, add_peak  # a few 256 KiB chunks, not the 20 MiB file
        assert read_peak < 3 << 20, read_peak
        assert res.size > size
    finally:
        backend.close()
    store = tmp_path / "ipfs"  # the pack store: segment files and the SQLite index
    files = [p for p in store.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files if p.suffix == ".pack") > size
    for p in files:
        assert MARKER not in p.read_bytes(), p
        assert MARKER[:12] not in p.read_bytes(), p


def test_control_plaintext_add_does_show_the_marker(tmp_path: Path) -> None:
    """The grep above is meaningful: an unencrypted add leaves the marker in the blocks."""
    store = FileBlockstore(tmp_path / "blocks")
    import_file(io.BytesIO(MARKER * 1000), KUBO_V0, store.put)
    assert any(MARKER in p.read_bytes() for p in (tmp_path / "blocks").rglob("*.data"))
    backend = EmbeddedBackend.open(tmp_path / "ipfs", tmp_path / "ipfs.db")
    try:
        backend.add(io.BytesIO(MARKER * 1000), KUBO_V0)
    finally:
        backend.close()
    assert any(MARKER in p.read_bytes() for p in (tmp_path / "ipfs").rglob("*.pack"))
