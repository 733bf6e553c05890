"""The encrypted directory keyring: ``<home>/keyring/<name>.json``, one file per key.

File format (version 1), a JSON object::

    {
      "version": 1,
      "name": "alice",
      "address": "qos1...",                 # text form, qos_chain.address
      "public_key": "<64 hex>",             # ed25519 public key
      "path": "m/44'/6688'/0'/0'/0'",       # SLIP-0010 path the key was derived at
      "kdf": {"alg": "argon2id", "opslimit": 2, "memlimit": 67108864, "salt": "<32 hex>"},
      "nonce": "<48 hex>",                  # XSalsa20-Poly1305 nonce
      "ciphertext": "<96 hex>"              # secretbox(ed25519 private seed) incl. 16-byte MAC
    }

The 32-byte ed25519 private seed is stored only encrypted: ``key = argon2id(32, password,
salt, opslimit, memlimit)`` (libsodium ``crypto_pwhash``) and ``nacl.secret.SecretBox(key)``.
Passwords are NFKC-normalized and UTF-8 encoded before hashing. The mnemonic is never
stored. On unlock the decrypted seed must reproduce the stored public key and address, so a
tampered public part is reported as :class:`~qos_wallet.errors.CorruptKeyFile`; a failed
MAC is reported as :class:`~qos_wallet.errors.WrongPassword` (the two are
indistinguishable by design).

Files are written atomically (temporary file in the same directory, ``fsync``,
``os.replace``, ``fsync`` of the directory) with mode 0600; the keyring directory is 0700.
Key names match ``^[a-z0-9][a-z0-9._-]{0,63}$``.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NewType

import nacl.exceptions
import nacl.utils
from nacl.pwhash import argon2id
from nacl.secret import SecretBox

from qos_chain.address import Address, address_from_public_key, address_from_text, address_to_text
from qos_chain.errors import InvalidAddress
from qos_wallet.errors import (
    CorruptKeyFile,
    InvalidKeyName,
    InvalidPath,
    KeyExists,
    KeyNotFound,
    WrongPassword,
)
from qos_wallet.keys import KeyPair
from qos_wallet.mnemonic import generate_mnemonic, normalize_mnemonic, seed_from_mnemonic
from qos_wallet.slip10 import DEFAULT_PATH, derive_path, format_path, parse_path

KeyName = NewType("KeyName", str)

FILE_VERSION = 1
KEYRING_DIR = "keyring"
KDF_ALG = "argon2id"
_NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_FILE_MODE = 0o600
_DIR_MODE = 0o700


def validate_key_name(name: str) -> KeyName:
    """Return ``name`` as a :data:`KeyName` or raise :class:`InvalidKeyName`."""
    if not _NAME_RE.fullmatch(name):
        raise InvalidKeyName(
            f"invalid key name {name!r}: use 1-64 characters from a-z, 0-9, '.', '_', '-', "
            "starting with a letter or digit",
        )
    return KeyName(name)


@dataclass(frozen=True, slots=True)
class KdfParams:
    """argon2id cost parameters (libsodium ``opslimit`` / ``memlimit`` in bytes)."""

    opslimit: int = argon2id.OPSLIMIT_INTERACTIVE
    memlimit: int = argon2id.MEMLIMIT_INTERACTIVE

    def __post_init__(self) -> None:
        if not argon2id.OPSLIMIT_MIN <= self.opslimit <= argon2id.OPSLIMIT_SENSITIVE:
            raise ValueError(f"argon2id opslimit {self.opslimit} out of range")
        if not argon2id.MEMLIMIT_MIN <= self.memlimit <= argon2id.MEMLIMIT_SENSITIVE:
            raise ValueError(f"argon2id memlimit {self.memlimit} out of range")

    @classmethod
    def interactive(cls) -> KdfParams:
        """libsodium's interactive limits: the default for new keys."""
        return cls(argon2id.OPSLIMIT_INTERACTIVE, argon2id.MEMLIMIT_INTERACTIVE)

    @classmethod
    def minimum(cls) -> KdfParams:
        """The cheapest allowed limits. For tests only: trivially brute-forced."""
        return cls(argon2id.OPSLIMIT_MIN, argon2id.MEMLIMIT_MIN)


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """The public part of a stored key."""

    name: KeyName
    address: Address
    public_key: bytes
    path: str

    @property
    def address_text(self) -> str:
        return address_to_text(self.address)


@dataclass(frozen=True, slots=True)
class _KeyFile:
    info: KeyInfo
    kdf: KdfParams
    salt: bytes
    nonce: bytes
    ciphertext: bytes


def _derive_box(password: str, salt: bytes, kdf: KdfParams) -> SecretBox:
    secret = unicodedata.normalize("NFKC", password).encode("utf-8")
    key = argon2id.kdf(
        SecretBox.KEY_SIZE, secret, salt, opslimit=kdf.opslimit, memlimit=kdf.memlimit
    )
    return SecretBox(key)


class Keystore:
    """A directory of password-encrypted ed25519 keys under ``<home_dir>/keyring``."""

    def __init__(self, home_dir: Path | str, kdf: KdfParams | None = None) -> None:
        self._dir = Path(home_dir) / KEYRING_DIR
        self._kdf = kdf if kdf is not None else KdfParams.interactive()

    @property
    def directory(self) -> Path:
        return self._dir

    def create(
        self,
        name: str,
        password: str,
        mnemonic: str | None = None,
        path: str = DEFAULT_PATH,
        *,
        passphrase: str = "",
    ) -> tuple[KeyInfo, str]:
        """Store a key derived from ``mnemonic`` (a fresh 24-word one if ``None``).

        Returns the stored key's info and the mnemonic phrase, which is not stored anywhere:
        the caller must show it to the user once.
        """
        words = generate_mnemonic() if mnemonic is None else mnemonic
        info = self.import_mnemonic(name, password, words, path, passphrase=passphrase)
        return info, normalize_mnemonic(words)

    def import_mnemonic(
        self,
        name: str,
        password: str,
        mnemonic: str,
        path: str = DEFAULT_PATH,
        *,
        passphrase: str = "",
    ) -> KeyInfo:
        """Store the key at ``path`` derived from an existing BIP-39 ``mnemonic``."""
        key_name = validate_key_name(name)
        canonical_path = format_path(parse_path(path))
        target = self._file(key_name)
        if target.exists():
            raise KeyExists(f"a key named {key_name!r} already exists")
        node = derive_path(seed_from_mnemonic(mnemonic, passphrase), canonical_path)
        pair = KeyPair.from_seed(node.private_key)
        salt = nacl.utils.random(argon2id.SALTBYTES)
        nonce = nacl.utils.random(SecretBox.NONCE_SIZE)
        sealed = _derive_box(password, salt, self._kdf).encrypt(pair.private_seed, nonce)
        info = KeyInfo(key_name, pair.address, pair.public_key, canonical_path)
        document = {
            "version": FILE_VERSION,
            "name": key_name,
            "address": info.address_text,
            "public_key": info.public_key.hex(),
            "path": canonical_path,
            "kdf": {
                "alg": KDF_ALG,
                "opslimit": self._kdf.opslimit,
                "memlimit": self._kdf.memlimit,
                "salt": salt.hex(),
            },
            "nonce": nonce.hex(),
            "ciphertext": sealed.ciphertext.hex(),
        }
        self._write_atomic(target, (json.dumps(document, indent=2) + "\n").encode("utf-8"))
        return info

    def list(self) -> builtins.list[KeyInfo]:
        """Public info of every stored key, sorted by name."""
        if not self._dir.is_dir():
            return []
        names = sorted(
            p.stem for p in self._dir.glob("*.json") if not p.name.startswith(".") and p.is_file()
        )
        return [self._read(KeyName(name)).info for name in names]

    def exists(self, name: str) -> bool:
        """Whether a key file named ``name`` exists (raises on an invalid name)."""
        return self._file(validate_key_name(name)).exists()

    def get(self, name: str) -> KeyInfo:
        """Public info of the key ``name``."""
        return self._read(validate_key_name(name)).info

    def unlock(self, name: str, password: str) -> KeyPair:
        """Decrypt the key ``name`` with ``password``."""
        key_file = self._read(validate_key_name(name))
        box = _derive_box(password, key_file.salt, key_file.kdf)
        try:
            seed = box.decrypt(key_file.ciphertext, key_file.nonce)
        except nacl.exceptions.CryptoError as exc:
            raise WrongPassword(f"wrong password for key {name!r}") from exc
        if len(seed) != 32:
            raise CorruptKeyFile(f"key file {name!r} holds a secret of the wrong length")
        pair = KeyPair.from_seed(seed)
        if pair.public_key != key_file.info.public_key:
            raise CorruptKeyFile(f"key file {name!r}: public key does not match the secret")
        return pair

    # -- files -------------------------------------------------------------------------

    def _file(self, name: KeyName) -> Path:
        return self._dir / f"{name}.json"

    def _read(self, name: KeyName) -> _KeyFile:
        target = self._file(name)
        try:
            raw = target.read_bytes()
        except FileNotFoundError as exc:
            raise KeyNotFound(f"no key named {name!r} in {self._dir}") from exc
        try:
            return _parse_key_file(name, raw)
        except CorruptKeyFile:
            raise
        except (ValueError, TypeError, KeyError, InvalidAddress, InvalidPath) as exc:
            raise CorruptKeyFile(f"key file {target} is corrupt: {exc}") from exc

    def _ensure_dir(self) -> None:
        self._dir.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
        os.chmod(self._dir, _DIR_MODE)

    def _write_atomic(self, target: Path, data: bytes) -> None:
        self._ensure_dir()
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=self._dir)
        try:
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), _FILE_MODE)
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
        dir_fd = os.open(self._dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _get(obj: dict[str, Any], key: str, kind: type[Any]) -> Any:
    if key not in obj:
        raise ValueError(f"missing field {key!r}")
    value = obj[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"field {key!r} must be {kind.__name__}")
    return value


def _hex(obj: dict[str, Any], key: str, length: int) -> bytes:
    value = bytes.fromhex(_get(obj, key, str))
    if len(value) != length:
        raise ValueError(f"field {key!r} must be {length} bytes, got {len(value)}")
    return value


def _parse_key_file(name: KeyName, raw: bytes) -> _KeyFile:
    document = json.loads(raw.decode("utf-8"))
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    version = _get(document, "version", int)
    if version != FILE_VERSION:
        raise ValueError(f"unsupported version {version}")
    if _get(document, "name", str) != name:
        raise ValueError(f"name field does not match the file name {name!r}")
    public_key = _hex(document, "public_key", 32)
    address = address_from_text(_get(document, "address", str))
    if address != address_from_public_key(public_key):
        raise ValueError("address does not match the public key")
    path = format_path(parse_path(_get(document, "path", str)))
    kdf_doc = _get(document, "kdf", dict)
    if _get(kdf_doc, "alg", str) != KDF_ALG:
        raise ValueError(f"unsupported kdf {kdf_doc['alg']!r}")
    kdf = KdfParams(_get(kdf_doc, "opslimit", int), _get(kdf_doc, "memlimit", int))
    return _KeyFile(
        info=KeyInfo(name, address, public_key, path),
        kdf=kdf,
        salt=_hex(kdf_doc, "salt", argon2id.SALTBYTES),
        nonce=_hex(document, "nonce", SecretBox.NONCE_SIZE),
        ciphertext=_hex(document, "ciphertext", 32 + SecretBox.MACBYTES),
    )
