"""Error tree of qos_wallet.

QosError                      root of every error QOS raises on purpose (qos_chain.errors)
  WalletError                 root of this package                          wallet_error
    KeyNotFound               no key file with that name in the keyring     key_not_found
    KeyExists                 a key with that name already exists           key_exists
    WrongPassword             the password does not decrypt the key         wrong_password
    CorruptKeyFile            a key file is unreadable or inconsistent      corrupt_key_file
    InvalidMnemonic           not a valid BIP-39 English mnemonic           invalid_mnemonic
    InvalidKeyName            a key name breaks ``^[a-z0-9][a-z0-9._-]{0,63}$``  invalid_key_name
    InvalidPath               a malformed or non-hardened derivation path   invalid_path
    InvalidSeed               a BIP-32/SLIP-0010 seed of the wrong length   invalid_seed

Every error carries a stable machine ``code`` (the right-hand column). Messages never
contain secret material (passwords, seeds, mnemonic words).
"""

from __future__ import annotations

from qos_chain.errors import QosError


class WalletError(QosError):
    code = "wallet_error"


class KeyNotFound(WalletError):
    code = "key_not_found"


class KeyExists(WalletError):
    code = "key_exists"


class WrongPassword(WalletError):
    code = "wrong_password"


class CorruptKeyFile(WalletError):
    code = "corrupt_key_file"


class InvalidMnemonic(WalletError):
    code = "invalid_mnemonic"


class InvalidKeyName(WalletError):
    code = "invalid_key_name"


class InvalidPath(WalletError):
    code = "invalid_path"


class InvalidSeed(WalletError):
    code = "invalid_seed"
