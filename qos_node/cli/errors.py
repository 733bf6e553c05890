"""How the CLI reports errors: one line on stderr, ``Error: <message> [<code>]``, exit 1."""

from __future__ import annotations

import click

from qos_chain.errors import QosError


class CliError(click.ClickException):
    exit_code = 1

    def __init__(self, message: str, code: str = "error") -> None:
        super().__init__(message)
        self.code = code

    def format_message(self) -> str:
        return f"{self.message} [{self.code}]"

    @classmethod
    def of(cls, err: QosError) -> CliError:
        return cls(err.message, err.code)
