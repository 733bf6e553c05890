"""``qos init`` and ``qos node``."""

from __future__ import annotations

import asyncio
import logging
import time

import click

from qos_chain.errors import QosError
from qos_chain.genesis import CHAIN_ID_RE
from qos_node.cli import CliContext, cli
from qos_node.cli.errors import CliError
from qos_node.config import ApiConfig, Home, NodeConfig
from qos_node.init import init_home


@cli.command("init")
@click.option("--chain-id", default="qos-dev", show_default=True, help="Chain id for genesis.")
@click.option(
    "--dev", is_flag=True, help="Also create the funded wallet key 'dev' (password 'dev')."
)
@click.option("--if-absent", is_flag=True, help="Do nothing if the home is already initialised.")
@click.option(
    "--api-port", type=int, default=8000, show_default=True, help="API port to configure."
)
@click.pass_obj
def init_cmd(obj: CliContext, chain_id: str, dev: bool, if_absent: bool, api_port: int) -> None:
    """Create a node home: config, genesis with this node as the validator, validator key."""
    home = Home(obj.home)
    if if_absent and home.is_initialised():
        click.echo(f"home {obj.home} already initialised")
        return
    if not CHAIN_ID_RE.match(chain_id):
        raise CliError(f"invalid chain id {chain_id!r}", "usage_error")
    try:
        res = init_home(
            obj.home, chain_id=chain_id, dev=dev, config=NodeConfig(api=ApiConfig(port=api_port))
        )
    except QosError as err:
        raise CliError.of(err) from err
    click.echo(f"initialised {obj.home} for chain {res.chain_id}")
    click.echo(f"validator address: {res.validator_address}")
    if res.dev_address:
        click.echo(f"dev wallet key 'dev' (password 'dev'): {res.dev_address}")


@cli.command("node")
@click.option("--api-host", default=None, help="Override [api].host.")
@click.option("--api-port", type=int, default=None, help="Override [api].port.")
@click.pass_obj
def node_cmd(obj: CliContext, api_host: str | None, api_port: int | None) -> None:
    """Run the node: block production and the API (GraphQL at /graphql)."""
    from qos_api.app import create_app
    from qos_node.port import LocalNodePort
    from qos_node.service import NodeService
    from qos_node.wiring import build_node

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    home = Home(obj.home)
    if not home.is_initialised():
        raise CliError(
            f"{obj.home} is not initialised: run `qos --home {obj.home} init`", "no_home"
        )
    try:
        bundle = build_node(home, time.time_ns())
    except QosError as err:
        raise CliError.of(err) from err
    host = api_host or bundle.config.api.host
    port = api_port or bundle.config.api.port
    node_id = bundle.node.privval.address.hex()
    api = create_app(LocalNodePort(bundle.node, bundle.app, home.db_path, node_id=node_id))
    service = NodeService(bundle.node, api, host=host, port=port)
    click.echo(
        f"QOS node: chain {bundle.genesis.chain_id}, height {bundle.node.state.last_block_height}, "
        f"GraphQL on http://{host}:{port}/graphql",
        err=True,
    )
    try:
        asyncio.run(service.run())
    except KeyboardInterrupt:
        pass
    finally:
        bundle.db.close()
