"""Consensus: the block-production state machine (sans-I/O: events in, effects out).

This issue ships the single-validator path (``solo.py``). The multi-validator Tendermint
engine (issue 3) will implement the same ``Engine`` protocol from ``events``/``effects``.
"""
