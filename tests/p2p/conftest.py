"""Import qos_p2p before any test module imports libp2p: it silences the one import-time
DeprecationWarning py-libp2p triggers (websockets.legacy; see qos_p2p/__init__.py)."""

import qos_p2p  # noqa: F401
