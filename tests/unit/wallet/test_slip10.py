"""qos_wallet.slip10 against every SLIP-0010 ed25519 published test vector."""

from __future__ import annotations

import pytest

from qos_wallet.errors import InvalidPath, InvalidSeed
from qos_wallet.slip10 import (
    DEFAULT_PATH,
    HARDENED_OFFSET,
    ExtendedKey,
    derive_child,
    derive_path,
    format_path,
    master_key,
    parse_path,
    path_for_account,
)

SEED_1 = "000102030405060708090a0b0c0d0e0f"
SEED_2 = (
    "fffcf9f6f3f0edeae7e4e1dedbd8d5d2cfccc9c6c3c0bdbab7b4b1aeaba8a5a2"
    "9f9c999693908d8a8784817e7b7875726f6c696663605d5a5754514e4b484542"
)

# SLIP-0010, "Test vector 1 for ed25519" and "Test vector 2 for ed25519":
# (seed, path, chain code, private key, public key with SLIP-0010's 00 prefix).
VECTORS = [
    (
        SEED_1,
        "m",
        "90046a93de5380a72b5e45010748567d5ea02bbf6522f979e05c0d8d8ca9fffb",
        "2b4be7f19ee27bbf30c667b642d5f4aa69fd169872f8fc3059c08ebae2eb19e7",
        "00a4b2856bfec510abab89753fac1ac0e1112364e7d250545963f135f2a33188ed",
    ),
    (
        SEED_1,
        "m/0H",
        "8b59aa11380b624e81507a27fedda59fea6d0b779a778918a2fd3590e16e9c69",
        "68e0fe46dfb67e368c75379acec591dad19df3cde26e63b93a8e704f1dade7a3",
        "008c8a13df77a28f3445213a0f432fde644acaa215fc72dcdf300d5efaa85d350c",
    ),
    (
        SEED_1,
        "m/0H/1H",
        "a320425f77d1b5c2505a6b1b27382b37368ee640e3557c315416801243552f14",
        "b1d0bad404bf35da785a64ca1ac54b2617211d2777696fbffaf208f746ae84f2",
        "001932a5270f335bed617d5b935c80aedb1a35bd9fc1e31acafd5372c30f5c1187",
    ),
    (
        SEED_1,
        "m/0H/1H/2H",
        "2e69929e00b5ab250f49c3fb1c12f252de4fed2c1db88387094a0f8c4c9ccd6c",
        "92a5b23c0b8a99e37d07df3fb9966917f5d06e02ddbd909c7e184371463e9fc9",
        "00ae98736566d30ed0e9d2f4486a64bc95740d89c7db33f52121f8ea8f76ff0fc1",
    ),
    (
        SEED_1,
        "m/0H/1H/2H/2H",
        "8f6d87f93d750e0efccda017d662a1b31a266e4a6f5993b15f5c1f07f74dd5cc",
        "30d1dc7e5fc04c31219ab25a27ae00b50f6fd66622f6e9c913253d6511d1e662",
        "008abae2d66361c879b900d204ad2cc4984fa2aa344dd7ddc46007329ac76c429c",
    ),
    (
        SEED_1,
        "m/0H/1H/2H/2H/1000000000H",
        "68789923a0cac2cd5a29172a475fe9e0fb14cd6adb5ad98a3fa70333e7afa230",
        "8f94d394a8e8fd6b1bc2f3f49f5c47e385281d5c17e65324b0f62483e37e8793",
        "003c24da049451555d51a7014a37337aa4e12d41e485abccfa46b47dfb2af54b7a",
    ),
    (
        SEED_2,
        "m",
        "ef70a74db9c3a5af931b5fe73ed8e1a53464133654fd55e7a66f8570b8e33c3b",
        "171cb88b1b3c1db25add599712e36245d75bc65a1a5c9e18d76f9f2b1eab4012",
        "008fe9693f8fa62a4305a140b9764c5ee01e455963744fe18204b4fb948249308a",
    ),
    (
        SEED_2,
        "m/0H",
        "0b78a3226f915c082bf118f83618a618ab6dec793752624cbeb622acb562862d",
        "1559eb2bbec5790b0c65d8693e4d0875b1747f4970ae8b650486ed7470845635",
        "0086fab68dcb57aa196c77c5f264f215a112c22a912c10d123b0d03c3c28ef1037",
    ),
    (
        SEED_2,
        "m/0H/2147483647H",
        "138f0b2551bcafeca6ff2aa88ba8ed0ed8de070841f0c4ef0165df8181eaad7f",
        "ea4f5bfe8694d8bb74b7b59404632fd5968b774ed545e810de9c32a4fb4192f4",
        "005ba3b9ac6e90e83effcd25ac4e58a1365a9e35a3d3ae5eb07b9e4d90bcf7506d",
    ),
    (
        SEED_2,
        "m/0H/2147483647H/1H",
        "73bd9fff1cfbde33a1b846c27085f711c0fe2d66fd32e139d3ebc28e5a4a6b90",
        "3757c7577170179c7868353ada796c839135b3d30554bbb74a4b1e4a5a58505c",
        "002e66aa57069c86cc18249aecf5cb5a9cebbfd6fadeab056254763874a9352b45",
    ),
    (
        SEED_2,
        "m/0H/2147483647H/1H/2147483646H",
        "0902fe8a29f9140480a00ef244bd183e8a13288e4412d8389d140aac1794825a",
        "5837736c89570de861ebc173b1086da4f505d4adb387c6a1b1342d5e4ac9ec72",
        "00e33c0f7d81d843c572275f287498e8d408654fdf0d1e065b84e2e6f157aab09b",
    ),
    (
        SEED_2,
        "m/0H/2147483647H/1H/2147483646H/2H",
        "5d70af781f3a37b829f0d060924d5e960bdc02e85423494afc0b1a41bbe196d4",
        "551d333177df541ad876a60ea71f00447931c0a9da16f227c11ea080d7391b8d",
        "0047150c75db263559a70d5778bf36abbab30fb061ad69f69ece61a72b0cfa4fc0",
    ),
]


@pytest.mark.parametrize(("seed", "path", "chain_code", "private_key", "public_key"), VECTORS)
def test_slip10_ed25519_vector(
    seed: str, path: str, chain_code: str, private_key: str, public_key: str
) -> None:
    node = derive_path(bytes.fromhex(seed), path)
    assert node.chain_code.hex() == chain_code
    assert node.private_key.hex() == private_key
    assert "00" + node.public_key.hex() == public_key


def test_master_key_matches_vector_root() -> None:
    node = master_key(bytes.fromhex(SEED_1))
    assert node.chain_code.hex() == VECTORS[0][2]


def test_derive_child_step_by_step_matches_path() -> None:
    node = master_key(bytes.fromhex(SEED_2))
    for index in (0, 2147483647, 1, 2147483646, 2):
        node = derive_child(node, index + HARDENED_OFFSET)
    assert node == derive_path(bytes.fromhex(SEED_2), VECTORS[-1][1])


def test_non_hardened_child_rejected() -> None:
    with pytest.raises(InvalidPath, match="hardened derivation only"):
        derive_child(master_key(bytes.fromhex(SEED_1)), 0)


@pytest.mark.parametrize("size", [0, 15, 65])
def test_seed_length_checked(size: int) -> None:
    with pytest.raises(InvalidSeed, match=r"16\.\.64 bytes"):
        master_key(b"\x01" * size)


def test_repr_hides_private_key() -> None:
    node = derive_path(bytes.fromhex(SEED_1), "m/0'")
    assert node.private_key.hex() not in repr(node)
    assert "private_key" not in repr(node)


def test_extended_key_lengths_checked() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        ExtendedKey(b"\x00" * 31, b"\x00" * 32)


@pytest.mark.parametrize(
    ("path", "indices"),
    [
        ("m", ()),
        ("m/0'", (HARDENED_OFFSET,)),
        ("m/44h/6688H/0'", (HARDENED_OFFSET + 44, HARDENED_OFFSET + 6688, HARDENED_OFFSET)),
        ("m/2147483647'", (HARDENED_OFFSET + 2147483647,)),
    ],
)
def test_parse_path(path: str, indices: tuple[int, ...]) -> None:
    assert parse_path(path) == indices


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("", "must start with 'm'"),
        ("44'/0'", "must start with 'm'"),
        ("M/0'", "must start with 'm'"),
        ("m/", "empty component at level 1"),
        ("m//0'", "empty component at level 1"),
        ("m/44'/0", r"level 2 \('0'\) is not hardened"),
        ("m/x'", "not a decimal index"),
        ("m/-1'", "not a decimal index"),
        ("m/'", "not a decimal index"),
        ("m/\u0661'", "not a decimal index"),
        ("m/01'", "leading zero"),
        ("m/2147483648'", "out of range"),
    ],
)
def test_parse_path_errors(path: str, reason: str) -> None:
    with pytest.raises(InvalidPath, match=reason):
        parse_path(path)


def test_non_hardened_path_rejected_by_derive_path() -> None:
    with pytest.raises(InvalidPath, match="not hardened"):
        derive_path(bytes.fromhex(SEED_1), "m/44'/6688'/0'/0/0")


def test_format_path_round_trip() -> None:
    assert format_path(parse_path("m/44h/6688H/0'/0'/0'")) == DEFAULT_PATH
    assert format_path(()) == "m"
    with pytest.raises(InvalidPath):
        format_path((5,))


def test_default_path_and_accounts() -> None:
    assert DEFAULT_PATH == "m/44'/6688'/0'/0'/0'"
    assert path_for_account(0) == DEFAULT_PATH
    assert path_for_account(7) == "m/44'/6688'/7'/0'/0'"
    with pytest.raises(InvalidPath):
        path_for_account(-1)
    with pytest.raises(InvalidPath):
        path_for_account(HARDENED_OFFSET)
