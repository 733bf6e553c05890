"""qos_ipfs: content addressing (issue 6).

What exists now (the content-addressing core; no network yet):

  errors.py      IpfsError tree (root of this package, under qos_chain.errors.QosError)
  varint.py      unsigned varints (multiformats / protobuf)
  cid.py         CIDv0/v1, sha2-256 multihash, base58btc / base32 multibase: the one module
                 that owns multiformats; it implements them itself and imports no
                 multiformats library (and refuses an environment with two of them)
  protobuf.py    the sliver of protobuf wire format dag-pb and UnixFS need
  dagpb.py       PBNode / PBLink codec (canonical: Links before Data)
  unixfs.py      UnixFS v1 Data message
  importer.py    streaming, Kubo-identical UnixFS file importer (profiles kubo-v0,
                 kubo-v1, unixfs-v1-2025; balanced layout; only-hash mode)
  exporter.py    streaming file reader with byte ranges fetching only the needed blocks
  blockstore.py  Blockstore port, MemoryBlockstore, FileBlockstore (flatfs-like, verified),
                 write_batch (batched puts for any store)
  packstore.py   PackBlockstore, the embedded default: segment files written with O_DIRECT
                 by a writer thread, SQLite index, one fdatasync + one transaction per
                 batch, recovery at open, verified reads, compaction (run by gc)
  pins.py        PinStore (SQLite, migration set ``qos_ipfs``) and mark-and-sweep gc()
  car.py         CARv1 export (DFS from the root) and verified, bounded import
  kubo.py        KuboClient: the daemon HTTP RPC (/api/v0) on httpx; verifies every block
  backend.py     IpfsBackend: EmbeddedBackend (blocks + PinStore + gc) and KuboBackend
                 (KuboBlockstore = the Blockstore port over block/*, verified reads)

Still to come: bitswap. See docs/ipfs.md.
Must not import qos_chain internals beyond errors and db, qos_api, qos_node or libp2p.
"""
