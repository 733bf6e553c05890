"""``python -m qos_node`` is the ``qos`` CLI."""

from qos_node.cli import main

main()
