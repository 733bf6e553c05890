"""Error tree of qos_chain.

QosError                      root of every error QOS raises on purpose
  ChainError                  root of this package
    DecodeError               bytes are not a canonical encoding of the expected type (peer-caused)
    EncodeError               a value cannot be encoded (our bug or an out-of-range value)
    InvalidSignature          a signature does not verify
    InvalidAddress            an address text is malformed or its checksum is wrong
    InvalidBlock              a block fails validation against the chain state
    StoreError                the block/state store is inconsistent or unreadable
    MempoolError              a tx is refused by the mempool (``code`` says why)

Every error carries a stable machine ``code`` (lower snake case) that the API exposes.
"""

from __future__ import annotations


class QosError(Exception):
    """Root of all intentional QOS errors. ``code`` is stable and documented."""

    code: str = "internal"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.code


class ChainError(QosError):
    code = "chain_error"


class DecodeError(ChainError):
    code = "malformed_encoding"


class EncodeError(ChainError):
    code = "unencodable_value"


class InvalidSignature(ChainError):
    code = "invalid_signature"


class InvalidAddress(ChainError):
    code = "invalid_address"


class InvalidBlock(ChainError):
    code = "invalid_block"


class StoreError(ChainError):
    code = "store_error"


class MempoolError(ChainError):
    code = "mempool_rejected"
