"""qos_wallet.keystore: the encrypted directory keyring."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from qos_chain.address import address_to_text
from qos_wallet.errors import (
    CorruptKeyFile,
    InvalidKeyName,
    InvalidMnemonic,
    InvalidPath,
    KeyExists,
    KeyNotFound,
    WalletError,
    WrongPassword,
)
from qos_wallet.keys import KeyPair
from qos_wallet.keystore import KdfParams, Keystore, validate_key_name
from qos_wallet.slip10 import DEFAULT_PATH

WORDS = "legal winner thank year wave sausage worth useful legal winner thank yellow"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def store(tmp_path: Path) -> Keystore:
    return Keystore(tmp_path, kdf=KdfParams.minimum())


def _key_file(store: Keystore, name: str) -> Path:
    return store.directory / f"{name}.json"


def _rewrite(store: Keystore, key: str, **changes: Any) -> None:
    path = _key_file(store, key)
    document = json.loads(path.read_text())
    document.update(changes)
    path.write_text(json.dumps(document))


def test_create_round_trip(store: Keystore) -> None:
    info, words = store.create("alice", PASSWORD)
    assert len(words.split()) == 24
    pair = store.unlock("alice", PASSWORD)
    assert pair == KeyPair.from_mnemonic(words)
    assert pair.public_key == info.public_key
    assert pair.address == info.address
    assert info.path == DEFAULT_PATH
    assert info.address_text == address_to_text(info.address)
    assert store.get("alice") == info


def test_import_mnemonic_is_deterministic(store: Keystore) -> None:
    info = store.import_mnemonic("bob", PASSWORD, WORDS)
    assert store.unlock("bob", PASSWORD) == KeyPair.from_mnemonic(WORDS)
    info2, words = store.create("bob2", "other", mnemonic=WORDS.upper())
    assert words == WORDS
    assert info2.public_key == info.public_key


def test_import_with_custom_path(store: Keystore) -> None:
    info = store.import_mnemonic("acct1", PASSWORD, WORDS, "m/44h/6688h/1h/0h/0h")
    assert info.path == "m/44'/6688'/1'/0'/0'"
    assert store.unlock("acct1", PASSWORD) == KeyPair.from_mnemonic(WORDS, path=info.path)


def test_file_format(store: Keystore) -> None:
    info = store.import_mnemonic("alice", PASSWORD, WORDS)
    document = json.loads(_key_file(store, "alice").read_text())
    assert set(document) == {
        "version",
        "name",
        "address",
        "public_key",
        "path",
        "kdf",
        "nonce",
        "ciphertext",
    }
    assert document["version"] == 1
    assert document["name"] == "alice"
    assert document["address"] == info.address_text
    assert document["public_key"] == info.public_key.hex()
    assert document["path"] == DEFAULT_PATH
    assert document["kdf"]["alg"] == "argon2id"
    assert document["kdf"]["opslimit"] == KdfParams.minimum().opslimit
    assert document["kdf"]["memlimit"] == KdfParams.minimum().memlimit
    assert len(bytes.fromhex(document["kdf"]["salt"])) == 16
    assert len(bytes.fromhex(document["nonce"])) == 24
    assert len(bytes.fromhex(document["ciphertext"])) == 48


def test_secret_never_stored_in_plaintext(store: Keystore) -> None:
    store.import_mnemonic("alice", PASSWORD, WORDS)
    seed = store.unlock("alice", PASSWORD).private_seed
    raw = _key_file(store, "alice").read_bytes()
    assert seed not in raw
    assert seed.hex().encode() not in raw
    assert seed.hex().upper().encode() not in raw
    assert b"legal" not in raw
    assert PASSWORD.encode() not in raw
    assert [p.name for p in store.directory.iterdir()] == ["alice.json"]


def test_file_and_dir_modes(store: Keystore) -> None:
    store.import_mnemonic("alice", PASSWORD, WORDS)
    assert stat.S_IMODE(os.stat(_key_file(store, "alice")).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(store.directory).st_mode) == 0o700


def test_existing_dir_is_tightened(tmp_path: Path) -> None:
    (tmp_path / "keyring").mkdir(mode=0o755)
    os.chmod(tmp_path / "keyring", 0o755)
    store = Keystore(tmp_path, kdf=KdfParams.minimum())
    store.import_mnemonic("alice", PASSWORD, WORDS)
    assert stat.S_IMODE(os.stat(store.directory).st_mode) == 0o700


def test_wrong_password(store: Keystore) -> None:
    store.import_mnemonic("alice", PASSWORD, WORDS)
    with pytest.raises(WrongPassword, match="wrong password for key 'alice'") as info:
        store.unlock("alice", PASSWORD + "!")
    assert info.value.code == "wrong_password"


def test_password_is_nfkc_normalized(store: Keystore) -> None:
    store.import_mnemonic("alice", "\u212b", WORDS)  # ANGSTROM SIGN
    assert store.unlock("alice", "\u00c5").public_key  # LATIN CAPITAL A WITH RING ABOVE


def test_key_exists(store: Keystore) -> None:
    store.import_mnemonic("alice", PASSWORD, WORDS)
    before = _key_file(store, "alice").read_bytes()
    with pytest.raises(KeyExists, match="'alice' already exists"):
        store.create("alice", "other")
    assert _key_file(store, "alice").read_bytes() == before
    assert store.exists("alice")
    assert not store.exists("bob")


def test_key_not_found(store: Keystore) -> None:
    with pytest.raises(KeyNotFound, match="no key named 'ghost'"):
        store.get("ghost")
    with pytest.raises(KeyNotFound):
        store.unlock("ghost", PASSWORD)


def test_list_sorted_public_only(store: Keystore) -> None:
    assert store.list() == []
    for name in ("carol", "alice", "bob"):
        store.create(name, PASSWORD)
    infos = store.list()
    assert [i.name for i in infos] == ["alice", "bob", "carol"]
    assert infos == [store.get(n) for n in ("alice", "bob", "carol")]
    assert len({i.address for i in infos}) == 3


def test_list_ignores_temporary_files(store: Keystore) -> None:
    store.create("alice", PASSWORD)
    (store.directory / ".alice.json.abc.tmp").write_text("junk")
    assert [i.name for i in store.list()] == ["alice"]


@pytest.mark.parametrize(
    "name",
    ["", "Alice", "-alice", ".alice", "_a", "al ice", "a/b", "../x", "a" * 65, "é", "a\n"],
)
def test_invalid_key_names(store: Keystore, name: str) -> None:
    with pytest.raises(InvalidKeyName, match="invalid key name"):
        store.create(name, PASSWORD)
    with pytest.raises(InvalidKeyName):
        store.get(name)
    with pytest.raises(InvalidKeyName):
        validate_key_name(name)


@pytest.mark.parametrize("name", ["a", "0", "alice-2", "my.key_1", "a" * 64])
def test_valid_key_names(name: str) -> None:
    assert validate_key_name(name) == name


def test_invalid_mnemonic_and_path(store: Keystore) -> None:
    with pytest.raises(InvalidMnemonic):
        store.import_mnemonic("alice", PASSWORD, "abandon " * 12)
    with pytest.raises(InvalidPath, match="not hardened"):
        store.import_mnemonic("alice", PASSWORD, WORDS, "m/44'/6688'/0'/0/0")
    assert not _key_file(store, "alice").exists()


def test_all_errors_are_wallet_errors() -> None:
    for cls in (KeyNotFound, KeyExists, WrongPassword, CorruptKeyFile, InvalidKeyName):
        assert issubclass(cls, WalletError)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"version": 2}, "unsupported version 2"),
        ({"version": True}, "'version' must be int"),
        ({"name": "bob"}, "does not match the file name"),
        ({"public_key": "00" * 32}, "address does not match"),
        ({"public_key": "zz"}, "non-hexadecimal"),
        ({"address": "qos1xyz"}, "corrupt"),
        ({"path": "m/44'/0"}, "not hardened"),
        ({"nonce": "00" * 23}, "'nonce' must be 24 bytes"),
        ({"ciphertext": "00" * 47}, "'ciphertext' must be 48 bytes"),
        ({"kdf": {"alg": "scrypt"}}, "unsupported kdf"),
        ({"kdf": {"alg": "argon2id", "opslimit": 0, "memlimit": 8192}}, "opslimit 0 out of range"),
        (
            {"kdf": {"alg": "argon2id", "opslimit": 1, "memlimit": 1 << 40, "salt": "00" * 16}},
            "memlimit",
        ),
    ],
)
def test_corrupt_fields(store: Keystore, changes: dict[str, Any], reason: str) -> None:
    store.import_mnemonic("alice", PASSWORD, WORDS)
    _rewrite(store, "alice", **changes)
    with pytest.raises(CorruptKeyFile, match=reason) as info:
        store.get("alice")
    assert info.value.code == "corrupt_key_file"


@pytest.mark.parametrize("content", [b"", b"{", b"[]", b"\xff\xfe", b'{"version": 1}'])
def test_corrupt_file_content(store: Keystore, content: bytes) -> None:
    store.import_mnemonic("alice", PASSWORD, WORDS)
    _key_file(store, "alice").write_bytes(content)
    with pytest.raises(CorruptKeyFile, match="is corrupt"):
        store.get("alice")
    with pytest.raises(CorruptKeyFile):
        store.list()


def test_missing_field(store: Keystore) -> None:
    store.import_mnemonic("alice", PASSWORD, WORDS)
    path = _key_file(store, "alice")
    document = json.loads(path.read_text())
    del document["nonce"]
    path.write_text(json.dumps(document))
    with pytest.raises(CorruptKeyFile, match="missing field 'nonce'"):
        store.get("alice")


def test_swapped_public_part_detected_on_unlock(store: Keystore) -> None:
    store.import_mnemonic("alice", PASSWORD, WORDS)
    store.create("mallory", PASSWORD)
    mallory = json.loads(_key_file(store, "mallory").read_text())
    _rewrite(store, "alice", public_key=mallory["public_key"], address=mallory["address"])
    with pytest.raises(CorruptKeyFile, match="public key does not match"):
        store.unlock("alice", PASSWORD)


def test_tampered_ciphertext_fails_authentication(store: Keystore) -> None:
    store.import_mnemonic("alice", PASSWORD, WORDS)
    document = json.loads(_key_file(store, "alice").read_text())
    flipped = bytes.fromhex(document["ciphertext"])
    flipped = bytes([flipped[0] ^ 1]) + flipped[1:]
    _rewrite(store, "alice", ciphertext=flipped.hex())
    with pytest.raises(WrongPassword):
        store.unlock("alice", PASSWORD)


def test_kdf_params_bounds() -> None:
    with pytest.raises(ValueError, match="opslimit"):
        KdfParams(opslimit=0, memlimit=KdfParams.minimum().memlimit)
    assert KdfParams() == KdfParams.interactive()
