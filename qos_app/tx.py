"""The signed transaction envelope.

```
Tx        = body: TxBody, signatures: tuple[TxSignature, ...]
TxBody    = chain_id, sender (20-byte address), nonce, msgs: tuple[TypedMsg, ...],
            fee: Fee, memo, timeout_height (None = no timeout)
Fee       = amount (uqos), payer: address | None (None = the sender pays)
TypedMsg  = type_url ("qos.bank.v1.MsgSend"), value = canonical encoding of the message
TxSignature = public_key (ed25519, 32 bytes), signature (64 bytes)
```
Every signature covers ``sign_bytes("qos/tx/v1", chain_id, body)``. The sender signs
first; if a fee payer is named (a service provider paying for its users) it signs second.
``nonce`` must equal the sender's next nonce in state (replay protection); a tx whose
execution fails still consumes its nonce and fee, as in the Cosmos SDK.
"""

from __future__ import annotations

from dataclasses import dataclass

from qos_app.errors import TxDecodeError, TxInvalid
from qos_chain import codec
from qos_chain.address import address_from_public_key
from qos_chain.errors import DecodeError
from qos_chain.sign import DOMAIN_TX, is_valid, sign, sign_bytes

MAX_TX_BYTES = 64 * 1024
MAX_MSGS = 1024
MAX_MEMO = 256


@codec.register(100)
@dataclass(frozen=True, slots=True)
class TypedMsg:
    type_url: str
    value: bytes


@codec.register(101)
@dataclass(frozen=True, slots=True)
class Fee:
    amount: int
    payer: bytes | None


@codec.register(102)
@dataclass(frozen=True, slots=True)
class TxBody:
    chain_id: str
    sender: bytes
    nonce: int
    msgs: tuple[TypedMsg, ...]
    fee: Fee
    memo: str
    timeout_height: int | None


@codec.register(103)
@dataclass(frozen=True, slots=True)
class TxSignature:
    public_key: bytes
    signature: bytes


@codec.register(104)
@dataclass(frozen=True, slots=True)
class Tx:
    body: TxBody
    signatures: tuple[TxSignature, ...]

    def signers(self) -> tuple[bytes, ...]:
        payer = self.body.fee.payer
        if payer is None or payer == self.body.sender:
            return (self.body.sender,)
        return (self.body.sender, payer)


def tx_sign_bytes(body: TxBody) -> bytes:
    return sign_bytes(DOMAIN_TX, body.chain_id, body)


def decode_tx(raw: bytes) -> Tx:
    if len(raw) > MAX_TX_BYTES:
        raise TxInvalid(f"tx of {len(raw)} bytes exceeds {MAX_TX_BYTES}", code="tx_too_large")
    try:
        return codec.decode(Tx, raw)
    except DecodeError as exc:
        raise TxDecodeError(f"malformed tx: {exc.message}") from exc


def validate_basic(tx: Tx, chain_id: str) -> None:
    """Stateless checks: chain id, limits, signer set and signatures."""
    b = tx.body
    if b.chain_id != chain_id:
        raise TxInvalid(
            f"tx is for chain {b.chain_id!r}, this is {chain_id!r}", code="wrong_chain_id"
        )
    if len(b.sender) != 20:
        raise TxInvalid("sender must be a 20-byte address", code="invalid_message")
    if b.fee.payer is not None and len(b.fee.payer) != 20:
        raise TxInvalid("fee payer must be a 20-byte address", code="invalid_message")
    if not b.msgs:
        raise TxInvalid("tx carries no messages", code="no_messages")
    if len(b.msgs) > MAX_MSGS:
        raise TxInvalid(f"tx carries more than {MAX_MSGS} messages", code="too_many_messages")
    if len(b.memo.encode()) > MAX_MEMO:
        raise TxInvalid(f"memo exceeds {MAX_MEMO} bytes", code="memo_too_long")
    signers = tx.signers()
    if len(tx.signatures) < len(signers):
        raise TxInvalid(
            f"tx needs {len(signers)} signature(s), has {len(tx.signatures)}",
            code="missing_signature",
        )
    if len(tx.signatures) > len(signers):
        raise TxInvalid("tx carries signatures from non-signers", code="unexpected_signature")
    payload = tx_sign_bytes(b)
    for signer, sig in zip(signers, tx.signatures, strict=True):
        if len(sig.public_key) != 32 or address_from_public_key(sig.public_key) != signer:
            raise TxInvalid(
                "signature key does not match the signer address", code="signer_mismatch"
            )
        if not is_valid(sig.public_key, payload, sig.signature):
            raise TxInvalid("signature does not verify", code="invalid_signature")


def sign_tx(body: TxBody, *signers: tuple[bytes, bytes]) -> Tx:
    """Build a signed tx from (public_key, private_seed) pairs in signer order (helper)."""
    payload = tx_sign_bytes(body)
    return Tx(body, tuple(TxSignature(pk, sign(seed, payload)) for pk, seed in signers))
