"""qos_wallet: client-side keys.

Owns: BIP-39 mnemonics, SLIP-0010 ed25519 derivation along BIP-44 paths, and the encrypted
keystore (argon2id password KDF + XSalsa20-Poly1305 secretbox, via pynacl).

Must not import: qos_node, qos_api, qos_p2p, qos_app, libp2p. Only ``qos_chain`` (addresses)
below it.
"""
