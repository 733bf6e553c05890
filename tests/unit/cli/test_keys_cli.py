"""``qos keys``: the keyring commands, through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import qos_node.cli.keys  # noqa: F401  (registers the ``keys`` group)
from qos_chain.address import address_from_text, address_to_text
from qos_node.cli import cli
from qos_wallet.keys import KeyPair
from qos_wallet.slip10 import DEFAULT_PATH

WORDS = "legal winner thank year wave sausage worth useful legal winner thank yellow"
PASSWORD = "hunter2-but-longer"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def run(
    home: Path,
    *args: str,
    input: str | None = None,
    env: dict[str, str | None] | None = None,
) -> Result:
    full_env: dict[str, str | None] = {"QOS_PASSWORD": PASSWORD, "QOS_KDF": "min"}
    full_env.update(env or {})
    return CliRunner().invoke(
        cli, ["--home", str(home), "keys", *args], input=input, env=full_env, catch_exceptions=False
    )


def assert_one_line_error(result: Result, message: str, code: str) -> None:
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert message in lines[0]
    assert lines[0].endswith(f"[{code}]")
    assert "Traceback" not in result.output


def test_new_shows_mnemonic_once_and_stores_key(home: Path) -> None:
    result = run(home, "new", "alice")
    assert result.exit_code == 0, result.output
    assert "write down these 24 words" in result.stderr
    word_lines = [line for line in result.stdout.splitlines() if len(line.split()) == 24]
    assert len(word_lines) == 1
    words = word_lines[0]
    pair = KeyPair.from_mnemonic(words)
    assert f"address:    {address_to_text(pair.address)}" in result.stdout
    assert "name:       alice" in result.stdout
    assert f"path:       {DEFAULT_PATH}" in result.stdout
    assert (home / "keyring" / "alice.json").is_file()
    # ``show`` never prints the mnemonic again.
    assert words not in run(home, "show", "alice").output


def test_new_without_showing_mnemonic(home: Path) -> None:
    result = run(home, "new", "bob", "--no-show-mnemonic", "--path", "m/44'/6688'/3'/0'/0'")
    assert result.exit_code == 0, result.output
    assert "no backup" in result.stderr
    assert not [line for line in result.stdout.splitlines() if len(line.split()) == 24]
    assert "path:       m/44'/6688'/3'/0'/0'" in result.stdout


def test_new_prompts_for_password_with_confirmation(home: Path) -> None:
    result = run(home, "new", "carol", input="pw1\npw1\n", env={"QOS_PASSWORD": None})
    assert result.exit_code == 0, result.output
    assert "Password" in result.output
    assert "Repeat for confirmation" in result.output


def test_import_from_stdin(home: Path) -> None:
    result = run(home, "import", "dave", input=WORDS + "\n")
    assert result.exit_code == 0, result.output
    expected = address_to_text(KeyPair.from_mnemonic(WORDS).address)
    assert f"address:    {expected}" in result.stdout
    assert WORDS not in result.output


def test_import_then_prompted_password(home: Path) -> None:
    result = run(home, "import", "erin", input=f"{WORDS}\npw\npw\n", env={"QOS_PASSWORD": None})
    assert result.exit_code == 0, result.output
    assert address_to_text(KeyPair.from_mnemonic(WORDS).address) in result.stdout


def test_list_table(home: Path) -> None:
    empty = run(home, "list")
    assert empty.exit_code == 0
    assert empty.stdout == ""
    assert "no keys" in empty.stderr
    run(home, "import", "zed", input=WORDS + "\n")
    run(home, "new", "amy", "--path", "m/44'/6688'/1'/0'/0'")
    result = run(home, "list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "ADDRESS", "PATH"]
    assert [line.split()[0] for line in lines[1:]] == ["amy", "zed"]
    assert lines[1].split()[2] == "m/44'/6688'/1'/0'/0'"
    assert lines[2].split()[1] == address_to_text(KeyPair.from_mnemonic(WORDS).address)
    assert lines[0].index("ADDRESS") == lines[1].index("qos1")


def test_show(home: Path) -> None:
    run(home, "import", "alice", input=WORDS + "\n")
    pair = KeyPair.from_mnemonic(WORDS)
    result = run(home, "show", "alice")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "name:       alice",
        f"address:    {address_to_text(pair.address)}",
        f"public_key: {pair.public_key.hex()}",
        f"path:       {DEFAULT_PATH}",
    ]


def test_export_public(home: Path) -> None:
    run(home, "import", "alice", input=WORDS + "\n")
    pair = KeyPair.from_mnemonic(WORDS)
    result = run(home, "export-public", "alice")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document == {
        "name": "alice",
        "address": address_to_text(pair.address),
        "public_key": pair.public_key.hex(),
        "path": DEFAULT_PATH,
    }
    assert address_from_text(document["address"]) == pair.address


def test_help_documents_env(home: Path) -> None:
    result = run(home, "--help")
    assert result.exit_code == 0
    assert "QOS_KDF=min" in result.stdout
    assert "QOS_PASSWORD" in result.stdout


def test_error_key_exists(home: Path) -> None:
    run(home, "import", "alice", input=WORDS + "\n")
    assert_one_line_error(run(home, "new", "alice"), "already exists", "key_exists")
    assert_one_line_error(
        run(home, "import", "alice", input=WORDS + "\n"), "already exists", "key_exists"
    )


def test_error_key_not_found(home: Path) -> None:
    assert_one_line_error(run(home, "show", "ghost"), "no key named 'ghost'", "key_not_found")
    assert_one_line_error(run(home, "export-public", "ghost"), "ghost", "key_not_found")


def test_error_invalid_name(home: Path) -> None:
    assert_one_line_error(run(home, "new", "Bad Name"), "invalid key name", "invalid_key_name")
    assert_one_line_error(run(home, "show", "../x"), "invalid key name", "invalid_key_name")


def test_error_invalid_path(home: Path) -> None:
    result = run(home, "new", "alice", "--path", "m/44'/6688'/0'/0/0")
    assert_one_line_error(result, "not hardened", "invalid_path")
    assert not (home / "keyring" / "alice.json").exists()


def test_error_invalid_mnemonic(home: Path) -> None:
    bad = run(home, "import", "alice", input="abandon " * 12 + "\n")
    assert_one_line_error(bad, "checksum", "invalid_mnemonic")
    empty = run(home, "import", "alice", input="\n")
    assert_one_line_error(empty, "no mnemonic given", "invalid_mnemonic")


def test_error_corrupt_key_file(home: Path) -> None:
    run(home, "import", "alice", input=WORDS + "\n")
    (home / "keyring" / "alice.json").write_text("{not json")
    assert_one_line_error(run(home, "show", "alice"), "is corrupt", "corrupt_key_file")
    assert_one_line_error(run(home, "list"), "is corrupt", "corrupt_key_file")


def test_error_bad_kdf_env(home: Path) -> None:
    result = run(home, "new", "alice", env={"QOS_KDF": "fast"})
    assert_one_line_error(result, "QOS_KDF must be", "usage_error")


def test_error_os_error_is_one_line(home: Path) -> None:
    home.mkdir()
    (home / "keyring").write_text("not a directory")
    result = run(home, "new", "alice")
    assert_one_line_error(result, str(home / "keyring"), "io_error")
