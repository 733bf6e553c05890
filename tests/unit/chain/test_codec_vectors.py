"""Golden vectors: the codec and sign bytes must reproduce ``tests/vectors/codec.json``.

The values are rebuilt by ``tests/vectors/make_codec_vectors.py``; the committed hex is the
contract. A failure here means the wire format or what signatures cover has changed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from qos_chain import codec, sign

VECTORS_DIR = Path(__file__).resolve().parents[2] / "vectors"


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_codec_vectors", VECTORS_DIR / "make_codec_vectors.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _load_generator()
GOLDEN: dict[str, Any] = json.loads((VECTORS_DIR / "codec.json").read_text(encoding="utf-8"))
VALUES: dict[str, object] = dict(GEN.values())
CODEC = {v["name"]: v for v in GOLDEN["codec"]}
SIGN = {v["name"]: v for v in GOLDEN["sign_bytes"]}


def test_vector_names_match_the_generator() -> None:
    assert list(CODEC) == list(VALUES)
    assert list(SIGN) == [signing[0] for signing in GEN.signings()]


def test_every_chain_type_has_a_vector() -> None:
    chain_types = {
        cls.__name__
        for cls in codec.registered_types().values()
        if cls.__module__ == "qos_chain.types"
    }
    assert {v["type"] for v in CODEC.values()} == chain_types


@pytest.mark.parametrize("name", list(CODEC))
def test_codec_vector(name: str) -> None:
    vector = CODEC[name]
    value = VALUES[name]
    raw = codec.encode(value)
    assert type(value).__name__ == vector["type"]
    assert raw.hex() == vector["hex"]
    assert hashlib.sha256(raw).hexdigest() == vector["sha256"]
    golden = bytes.fromhex(vector["hex"])
    assert codec.decode(type(value), golden) == value
    assert codec.decode_any(golden) == value


@pytest.mark.parametrize("name", list(SIGN))
def test_sign_bytes_vector(name: str) -> None:
    vector = SIGN[name]
    obj = codec.decode_any(bytes.fromhex(vector["object_hex"]))
    assert type(obj).__name__ == vector["type"]
    msg = sign.sign_bytes(vector["domain"], vector["chain_id"], obj)
    assert msg.hex() == vector["sign_bytes_hex"]
    # the layout, spelled out
    domain, chain_id = vector["domain"].encode(), vector["chain_id"].encode()
    assert msg == (
        b"QOS\x00"
        + codec.uvarint(len(domain))
        + domain
        + codec.uvarint(len(chain_id))
        + chain_id
        + bytes.fromhex(vector["object_hex"])
    )
    seed = bytes.fromhex(vector["seed_hex"])
    public_key = bytes.fromhex(vector["public_key_hex"])
    signature = bytes.fromhex(vector["signature_hex"])
    assert sign.public_key_of(seed) == public_key
    assert sign.sign(seed, msg) == signature  # ed25519 is deterministic
    sign.verify(public_key, msg, signature)
    assert not sign.is_valid(public_key, msg + b"\x00", signature)
    other_chain = sign.sign_bytes(vector["domain"], vector["chain_id"] + "x", obj)
    assert not sign.is_valid(public_key, other_chain, signature)


def test_sign_vectors_cover_generator_objects() -> None:
    for name, domain, signer, obj in GEN.signings():
        vector = SIGN[name]
        assert vector["domain"] == domain
        assert vector["object_hex"] == codec.encode(obj).hex()
        assert vector["seed_hex"] == GEN.SEEDS[signer].hex()


def test_committed_file_is_exactly_what_the_generator_writes() -> None:
    assert (VECTORS_DIR / "codec.json").read_text(encoding="utf-8") == GEN.render()
