"""``qos status``, ``qos block``, ``qos tx send``: talk to a running node's GraphQL API."""

from __future__ import annotations

import base64
import json
import os
import time
from typing import Any

import click

from qos_app.bank import MSG_SEND, MsgSend
from qos_app.tx import Fee, TxBody, TypedMsg, sign_tx
from qos_chain import codec
from qos_chain.address import address_from_text, address_to_text
from qos_chain.errors import QosError
from qos_node.cli import CliContext, cli
from qos_node.cli.errors import CliError
from qos_node.client import graphql
from qos_wallet.keystore import KdfParams, Keystore

STATUS_Q = """{ status { chainId nodeId height latestBlockHash latestBlockTime appHash
  validatorAddress mempoolSize } }"""
BLOCK_FIELDS = """height hash time proposer parentHash txRoot appHash validatorsHash numTxs
  transactions { hash sender nonce success codeName log }
  commit { round signatures { flag validator signature } }"""
ACCOUNT_Q = """query($a: String!) { account(address: $a) {
  __typename ... on Account { address balance nonce } ... on InvalidInput { code message } } }"""
SUBMIT_M = """mutation($tx: String!) { submitTransaction(signedTx: $tx) {
  __typename ... on TransactionAccepted { hash } ... on TransactionRejected { code message } } }"""
TX_Q = """query($h: String!) {
  transaction(hash: $h) { hash height index success code codeName log } }"""


def _call(obj: CliContext, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    try:
        return graphql(obj.api, query, variables)
    except QosError as err:
        raise CliError.of(err) from err


def _echo_json(value: object) -> None:
    click.echo(json.dumps(value, indent=2))


@cli.command("status")
@click.pass_obj
def status_cmd(obj: CliContext) -> None:
    """Show the node's chain id, height and latest block."""
    _echo_json(_call(obj, STATUS_Q)["status"])


@cli.command("block")
@click.argument("height", type=int, required=False)
@click.pass_obj
def block_cmd(obj: CliContext, height: int | None) -> None:
    """Show a block (default: the latest) with its transactions and commit."""
    if height is None:
        height = int(_call(obj, STATUS_Q)["status"]["height"])
    if height < 1:
        raise CliError("no block yet" if height == 0 else "height must be >= 1", "not_found")
    data = _call(
        obj, f"query($h: Int!) {{ block(height: $h) {{ {BLOCK_FIELDS} }} }}", {"h": height}
    )
    if data["block"] is None:
        raise CliError(f"no block at height {height}", "not_found")
    _echo_json(data["block"])


@cli.group("tx")
def tx_group() -> None:
    """Build, sign and submit transactions."""


def _password(name: str) -> str:
    env = os.environ.get("QOS_PASSWORD")
    if env is not None:
        return env
    return str(click.prompt(f"Password for key '{name}'", hide_input=True))


def _keystore(obj: CliContext) -> Keystore:
    kdf = KdfParams.minimum() if os.environ.get("QOS_KDF") == "min" else None
    return Keystore(obj.home, kdf=kdf)


@tx_group.command("send")
@click.option("--from", "from_key", required=True, help="Wallet key name that signs and sends.")
@click.option("--to", "to_addr", required=True, help="Recipient address (qos1...).")
@click.option("--amount", type=click.IntRange(min=1), required=True, help="Amount in uqos.")
@click.option(
    "--fee", type=click.IntRange(min=0), default=0, show_default=True, help="Fee in uqos."
)
@click.option("--fee-payer", default=None, help="Wallet key name of a fee payer (co-signs).")
@click.option("--memo", default="", help="Free text, at most 256 bytes.")
@click.option("--nonce", type=int, default=None, help="Override the sender nonce.")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait until committed.")
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Seconds to wait.")
@click.pass_obj
def send_cmd(
    obj: CliContext,
    from_key: str,
    to_addr: str,
    amount: int,
    fee: int,
    fee_payer: str | None,
    memo: str,
    nonce: int | None,
    wait: bool,
    timeout: float,
) -> None:
    """Transfer uqos to an address; prints the tx hash and, with --wait, its result."""
    try:
        to = address_from_text(to_addr)
        ks = _keystore(obj)
        sender = ks.unlock(from_key, _password(from_key))
        payer = ks.unlock(fee_payer, _password(fee_payer)) if fee_payer else None
    except QosError as err:
        raise CliError.of(err) from err
    chain_id = _call(obj, STATUS_Q)["status"]["chainId"]
    if nonce is None:
        acct = _call(obj, ACCOUNT_Q, {"a": address_to_text(sender.address)})["account"]
        nonce = int(acct["nonce"])
    body = TxBody(
        chain_id,
        sender.address,
        nonce,
        (TypedMsg(MSG_SEND, codec.encode(MsgSend(to, amount))),),
        Fee(fee, payer.address if payer else None),
        memo,
        None,
    )
    signers = [(sender.public_key, sender.private_seed)]
    if payer is not None:
        signers.append((payer.public_key, payer.private_seed))
    raw = codec.encode(sign_tx(body, *signers))
    res = _call(obj, SUBMIT_M, {"tx": base64.b64encode(raw).decode()})["submitTransaction"]
    if res["__typename"] == "TransactionRejected":
        raise CliError(res["message"], res["code"])
    tx_hash = res["hash"]
    if not wait:
        _echo_json({"hash": tx_hash, "status": "accepted"})
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _call(obj, TX_Q, {"h": tx_hash})["transaction"]
        if found is not None:
            _echo_json(found)
            if not found["success"]:
                raise CliError(f"tx failed: {found['log']}", found["codeName"])
            return
        time.sleep(0.2)  # poll interval while waiting for a block
    raise CliError(f"tx {tx_hash} not committed within {timeout}s", "timeout")
