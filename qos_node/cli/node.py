"""``qos init`` and ``qos node``."""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any

import click

from qos_chain.errors import QosError
from qos_chain.genesis import CHAIN_ID_RE
from qos_node.cli import CliContext, cli
from qos_node.cli.errors import CliError
from qos_node.config import ApiConfig, Home, NodeConfig
from qos_node.gc_tuning import tune_for_node
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
@click.option("--p2p-listen", default=None, help="Override [p2p].listen (a multiaddr).")
@click.option(
    "--peer", "peers", multiple=True, help="Bootstrap peer multiaddr (/ip4/../tcp/../p2p/ID)."
)
@click.option(
    "--ipfs-api",
    envvar="QOS_IPFS_API",
    default=None,
    help="Store files on a Kubo daemon (HTTP RPC, e.g. http://127.0.0.1:5001) "
    "instead of the embedded blockstore.",
)
@click.pass_obj
def node_cmd(
    obj: CliContext,
    api_host: str | None,
    api_port: int | None,
    p2p_listen: str | None,
    peers: tuple[str, ...],
    ipfs_api: str | None,
) -> None:
    """Run the node: consensus, the p2p network and the API (GraphQL at /graphql)."""
    from qos_api.app import create_app
    from qos_api.ports import NetworkStatsView, PeerView
    from qos_node.block_exchange import open_node_blockstore
    from qos_node.port import LocalNodePort
    from qos_node.runtime import NodeRuntime, TrioGateway
    from qos_node.service import BridgedNode, NodeService
    from qos_node.wiring import build_node, open_file_service
    from qos_p2p.host import Libp2pNetwork
    from qos_p2p.keys import load_or_create_node_key
    from qos_p2p.port import P2PError

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("libp2p").setLevel(logging.WARNING)
    home = Home(obj.home)
    if not home.is_initialised():
        raise CliError(
            f"{obj.home} is not initialised: run `qos --home {obj.home} init`", "no_home"
        )
    try:
        bundle = build_node(home, time.time_ns())
        key = load_or_create_node_key(obj.home)
    except (QosError, P2PError) as err:
        raise CliError(str(err), getattr(err, "code", "startup_failed")) from err
    cfg = bundle.config
    node = bundle.node
    is_validator = node.state.validators.index_of(node.privval.address) is not None
    network = Libp2pNetwork(
        key,
        chain_id=bundle.genesis.chain_id,
        listen=p2p_listen or cfg.p2p.listen,
        bootstrap=tuple(cfg.p2p.peers) + peers,
        is_validator=is_validator,
    )
    # IPFS blocks are served to peers from the embedded store (<home>/data/ipfs/packs).
    runtime = NodeRuntime(node, network, blocks=open_node_blockstore(home))
    bridged: Any = BridgedNode(node, TrioGateway(runtime))
    host = api_host or cfg.api.host
    port = api_port or cfg.api.port

    def peer_views() -> list[PeerView]:
        return [
            PeerView(str(p.peer_id), p.addrs, p.is_validator, p.score, p.height)
            for p in network.peers()
        ]

    def network_stats() -> NetworkStatsView:
        return NetworkStatsView(**dataclasses.asdict(runtime.network_stats()))

    files = open_file_service(home, ipfs_api)  # uploads, pins, gateway

    def make_api() -> Any:
        port = LocalNodePort(
            bridged,
            bundle.app,
            home.db_path,
            node_id=key.peer_id,
            peers=peer_views,
            network_stats=network_stats,
            files=files,
            offload_submit=True,
        )
        return create_app(port)

    role = "validator" if is_validator else "full node"
    click.echo(
        f"QOS node ({role}): chain {bundle.genesis.chain_id}, "
        f"height {node.state.last_block_height}, peer id {key.peer_id}, "
        f"p2p {p2p_listen or cfg.p2p.listen}, GraphQL on http://{host}:{port}/graphql",
        err=True,
    )
    service = NodeService(runtime, make_api, host=host, port=port)
    tune_for_node()  # start-up objects frozen, fewer young collections (qos_node.gc_tuning)
    try:
        service.run()
    except RuntimeError as exc:
        raise CliError(str(exc), "node_failed") from exc
    except KeyboardInterrupt:
        pass
    finally:
        files.close()
        bundle.db.close()


@cli.command("devnet")
@click.option("--validators", "n", type=click.IntRange(1, 21), default=4, show_default=True)
@click.option(
    "--dir",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".qos-devnet"),
    show_default=True,
    help="Where the homes live.",
)
@click.option("--base-api-port", type=int, default=8000, show_default=True)
@click.option("--base-p2p-port", type=int, default=26656, show_default=True)
@click.option("--block-interval", type=float, default=3.0, show_default=True)
@click.option("--fresh", is_flag=True, help="Delete an existing devnet in --dir first.")
def devnet_cmd(
    n: int, root: Path, base_api_port: int, base_p2p_port: int, block_interval: float, fresh: bool
) -> None:
    """Start N validator processes on loopback (each with its own API port); Ctrl-C stops all."""
    import shutil
    import signal

    from qos_node.devnet import MANIFEST, Devnet, create_devnet, load_devnet

    if fresh and root.exists():
        shutil.rmtree(root)
    try:
        if (root / MANIFEST).exists():
            members = load_devnet(root)
            if len(members) != n:
                raise CliError(
                    f"{root} holds a {len(members)}-validator devnet: use --fresh", "devnet_exists"
                )
        else:
            members = create_devnet(
                root,
                n,
                base_api_port=base_api_port,
                base_p2p_port=base_p2p_port,
                block_interval=block_interval,
            )
    except QosError as err:
        raise CliError.of(err) from err
    net = Devnet(members)
    stop = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    try:
        net.start()
        click.echo(f"devnet of {n} validators in {root}")
        click.echo(f"dev key 'dev' (password dev) in {members[0].home}")
        for m in members:
            click.echo(f"  {m.name}: GraphQL {m.graphql}  p2p {m.multiaddr}  log {m.home}/node.log")
        click.echo("Ctrl-C stops them all.")
        while not stop:
            time.sleep(0.5)  # the foreground command idles until a signal
            for p in net.procs:
                if p.proc is not None and p.proc.poll() is not None:
                    raise CliError(f"{p.home.name} exited: {p.tail(300)}", "node_failed")
    except KeyboardInterrupt:
        pass
    except (TimeoutError, RuntimeError) as exc:
        raise CliError(str(exc), "devnet_failed") from exc
    finally:
        net.stop()
