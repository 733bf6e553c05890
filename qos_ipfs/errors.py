"""Error tree of qos_ipfs.

QosError                      (qos_chain.errors) root of every error QOS raises on purpose
  IpfsError                   root of this package
    MultiformatsConflict      two distributions install the import name ``multiformats``
    InvalidCid                text or bytes are not a CID we support (peer- or user-caused)
    MalformedNode             a dag-pb / UnixFS block does not decode, or is not a file
    InvalidRange              a byte range has a negative offset or length
    UnknownProfile            no importer profile has that name
    BlockstoreError           root of block storage errors
      BlockNotFound           no block with that multihash is stored
      CorruptBlock            stored bytes no longer hash to their key (never served)
      HashMismatch            bytes offered for a CID do not hash to it (peer-caused)
    MalformedCar              a CARv1 stream is truncated, oversized or badly encoded
    PinError                  a pin operation is refused (e.g. unpinning what is not pinned)
    KuboError                 an IPFS daemon (Kubo / js-ipfs RPC) refused a call: its message
      KuboUnreachable         no daemon answers at the configured RPC address

Errors caused by data from elsewhere (``InvalidCid``, ``MalformedNode``, ``HashMismatch``,
``MalformedCar``) are safe to report back to whoever sent that data; ``CorruptBlock`` means
our own disk is damaged. Every error carries a stable machine ``code``.
"""

from __future__ import annotations

from qos_chain.errors import QosError


class IpfsError(QosError):
    code = "ipfs_error"


class MultiformatsConflict(IpfsError):
    code = "multiformats_conflict"


class InvalidCid(IpfsError):
    code = "invalid_cid"


class MalformedNode(IpfsError):
    code = "malformed_node"


class InvalidRange(IpfsError):
    code = "invalid_range"


class UnknownProfile(IpfsError):
    code = "unknown_profile"


class BlockstoreError(IpfsError):
    code = "blockstore_error"


class BlockNotFound(BlockstoreError):
    code = "block_not_found"


class CorruptBlock(BlockstoreError):
    code = "corrupt_block"


class HashMismatch(BlockstoreError):
    code = "hash_mismatch"


class MalformedCar(IpfsError):
    code = "malformed_car"


class PinError(IpfsError):
    code = "pin_error"


class KuboError(IpfsError):
    code = "kubo_error"


class KuboUnreachable(KuboError):
    code = "kubo_unreachable"
