"""Print the GraphQL schema (SDL): ``python -m qos_api.sdl > docs/schema.graphql``."""

from __future__ import annotations

import sys

from qos_api.schema import schema


def sdl() -> str:
    return schema.as_str() + "\n"


def main() -> None:
    sys.stdout.write(sdl())


if __name__ == "__main__":
    main()
