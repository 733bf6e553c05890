"""A file added on node A is retrievable by CID on node B (/qos/blocks/1.0.0).

* two NodeRuntimes (real ChainNodes) on one trio loop over MemoryNetwork: A serves from its
  on-disk FileBlockstore, B fetches the DAG through the runtime and through TrioGateway (the
  API thread's door);
* a real node process (``qos node``) whose file was added with ``qos ipfs add``, and a
  Libp2pNetwork peer in the test that fetches the DAG from it over TCP/Noise/yamux.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import trio

from qos_chain.genesis import load_genesis
from qos_chain.testing.cluster import Cluster
from qos_ipfs.blockstore import FileBlockstore, MemoryBlockstore
from qos_ipfs.cid import CID
from qos_ipfs.exporter import read_all
from qos_ipfs.importer import KUBO_V1, import_chunks
from qos_ipfs.remote import BlocksUnavailable, fetch_dag
from qos_node.block_exchange import network_fetcher, open_node_blockstore
from qos_node.config import Home
from qos_node.init import init_home
from qos_node.process import NodeProcess, free_port
from qos_node.runtime import NodeRuntime, TrioGateway
from qos_p2p.host import Libp2pNetwork
from qos_p2p.keys import generate_node_key, load_or_create_node_key
from qos_p2p.memory import MemoryHub

MiB = 1024 * 1024


def deterministic(size: int, seed: bytes) -> bytes:
    out = bytearray()
    i = 0
    while len(out) < size:
        out += hashlib.sha256(seed + i.to_bytes(8, "big")).digest()
        i += 1
    return bytes(out[:size])


def test_runtime_b_fetches_a_file_added_on_runtime_a(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path / "chain", 1, followers=1)
    node_a, node_b = (m.node for m in cluster.members)
    assert node_a is not None
    assert node_b is not None
    data = deterministic(3 * MiB, b"runtime")
    store_a = FileBlockstore(tmp_path / "a" / "blocks")
    root = import_chunks([data], KUBO_V1, store_a.put).root
    store_b = MemoryBlockstore()
    absent = CID.hash(b"added nowhere")

    async def main() -> None:
        hub = MemoryHub(seed=1)
        chain = cluster.genesis.chain_id
        a = NodeRuntime(node_a, hub.node("a", chain_id=chain), blocks=store_a)
        b = NodeRuntime(node_b, hub.node("b", chain_id=chain, is_validator=False), blocks=store_b)
        async with trio.open_nursery() as nursery:
            await nursery.start(a.run)
            await nursery.start(b.run)
            with trio.fail_after(30):
                result = await b.fetch_dag(root)
                assert result.fetched == result.blocks == 13
                assert read_all(store_b, root) == data
                gateway = TrioGateway(b)
                again = await trio.to_thread.run_sync(gateway.fetch_dag, root)
                assert again.fetched == 0
                with pytest.raises(BlocksUnavailable):
                    await b.fetch_dag(absent)
            nursery.cancel_scope.cancel()

    trio.run(main)


@pytest.mark.slow
def test_node_process_serves_a_file_added_with_the_cli(tmp_path: Path) -> None:
    home = tmp_path / "a"
    init_home(home)
    key = load_or_create_node_key(home)
    chain_id = load_genesis(Home(home).genesis_file).chain_id
    data = deterministic(3 * MiB + 12345, b"process")
    path = tmp_path / "file.bin"
    path.write_bytes(data)
    cli = [sys.executable, "-m", "qos_node", "--home", str(home)]
    added = subprocess.run(
        [*cli, "ipfs", "add", "--cid-version=1", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ},
    )
    root = CID.parse(added.stdout.strip())
    served = open_node_blockstore(Home(home))
    assert served.has(root)

    p2p_port = free_port()
    proc = NodeProcess(home, free_port(), p2p_listen=f"/ip4/127.0.0.1/tcp/{p2p_port}")
    proc.start()
    try:
        proc.wait_ready()

        async def main() -> tuple[float, int]:
            peer = Libp2pNetwork(
                generate_node_key(),
                chain_id=chain_id,
                bootstrap=[f"/ip4/127.0.0.1/tcp/{p2p_port}/p2p/{key.peer_id}"],
                is_validator=False,
            )
            local = MemoryBlockstore()
            async with trio.open_nursery() as nursery:
                await nursery.start(peer.run)
                with trio.fail_after(30):
                    while key.peer_id not in {p.peer_id for p in peer.peers()}:
                        await trio.sleep(0.02)  # sleep-ok: poll interval of a deadline wait
                    started = time.perf_counter()
                    result = await fetch_dag(root, local, network_fetcher(peer, None))
                    elapsed = time.perf_counter() - started
                nursery.cancel_scope.cancel()
            assert read_all(local, root) == data
            return elapsed, result.fetched

        elapsed, fetched = trio.run(main)
        assert fetched == 14
        print(f"node process -> peer: {len(data) / elapsed / 1e6:.1f} MB/s")
    finally:
        assert proc.stop() in (0, -15), proc.tail()
