"""qos_fs: files, pins and business-chain snapshots (issue 6). See docs/files.md.

  errors.py     FsError tree (on-chain codes 300-399) and FileServiceError (node-local)
  msgs.py       qos.files.v1.* messages (MsgPin, MsgUnpin, MsgAnchorSnapshot; codec tags
                300-303), owner-DID signatures, stateless checks
  state.py      on-chain layout under ``pin/`` (PinRecord / SnapshotRecord, tags 310-311),
                indexes by owner, CID and name; per-DID files nonces
  module.py     PinModule (qos_app Module "files"): ownership and intent on chain
  client.py     builders that sign messages / token requests from seeds (CLI, tests, SDKs)
  service.py    FileService: streaming uploads, local pins (queued -> pinning -> pinned /
                failed) in SQLite (migration set ``qos_fs``), reference-counted backend
                pins, the GC lock, bearer tokens (hashed, revocable)
  multipart.py  streaming multipart/form-data parser (first file part)
  times.py      RFC 3339 with nanoseconds

Split: the chain records ownership, intent and anchors; each node records its own progress.
Must not import qos_node, qos_api, qos_p2p, libp2p, or qos_identity (the import contracts
keep it independent of identity: DID keys arrive through ``module.InvocationKeys``).
"""
