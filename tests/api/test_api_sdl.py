"""The committed SDL (docs/schema.graphql) is the schema the code serves."""

from __future__ import annotations

from pathlib import Path

from qos_api.sdl import sdl

SDL_FILE = Path(__file__).resolve().parents[2] / "docs" / "schema.graphql"


def test_sdl_snapshot_is_current() -> None:
    committed = SDL_FILE.read_text(encoding="utf-8") if SDL_FILE.exists() else ""
    assert committed == sdl(), (
        "docs/schema.graphql is out of date with the schema; regenerate it with\n"
        "    .venv/bin/python -m qos_api.sdl > docs/schema.graphql\n"
        "and review the diff (removing or retyping a field breaks API clients)."
    )
