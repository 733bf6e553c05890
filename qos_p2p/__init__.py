"""qos_p2p: the only package that imports libp2p and trio (issue 3).

Placeholder until the network issue lands: host (Noise only, yamux), GossipSub, topic
validators, block sync protocol, peer scoring, and an in-memory network with the same port.
Must not import qos_api or qos_node.
"""
