"""qos_node: the composition root.

Owns: configuration and the home directory layout, wiring of chain + app + API, the node
service (block production loop beside the API server) and the ``qos`` CLI. The only
package that reads configuration; everything else receives collaborators.
"""
