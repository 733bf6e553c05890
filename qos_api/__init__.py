"""qos_api: the GraphQL (strawberry) and REST (starlette) API.

Owns: the schema, resolvers, the ASGI app factory ``create_app(node_port)`` and the
``NodePort`` protocol it talks to the node through. Must not import libp2p, trio,
qos_p2p, or the consensus engine / ChainNode: reads and writes go through the port only.
"""
