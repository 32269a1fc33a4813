"""`hil`: the harness's command for QA engineers, release managers and CI.

A thin layer over `harness/`: every command parses its options, calls the library and
prints. One clear line on bad input (`error: ...`), with documented exit codes.
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Annotated, Any

import typer

# typer vendors click (0.29+) and exports only some of its exceptions; ClickException is
# the base of every usage error.
from typer._click.exceptions import ClickException

from harness.cli.devicescmd import devices_app
from harness.cli.gatecmd import gate
from harness.cli.labcmd import lab_app
from harness.cli.reportcmd import report
from harness.cli.runcmd import run


class _Hil(typer.Typer):
    """The `hil` command, whose usage errors are one line rather than a boxed panel."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # Not standalone: click's usage errors come back here instead of being drawn as
        # rich panels; typer.Exit comes back as its status.
        try:
            status = super().__call__(*args, **{**kwargs, "standalone_mode": False})
        except ClickException as exc:
            print(f"error: {' '.join(exc.format_message().split())}{_help_hint(exc)}",
                  file=sys.stderr, flush=True)
            sys.exit(exc.exit_code)
        except typer.Abort:
            print("interrupted", file=sys.stderr, flush=True)
            sys.exit(130)
        sys.exit(status if isinstance(status, int) else 0)


def _help_hint(exc: ClickException) -> str:
    context = getattr(exc, "ctx", None)
    return f" (see {context.command_path} --help)" if context is not None else ""


def hil_version() -> str:
    """The installed harness's version (pyproject.toml's), or `unknown` outside an install."""
    try:
        return package_version("hik-reset-hil")
    except PackageNotFoundError:
        return "unknown"


def _print_version(value: bool) -> None:
    if value:
        print(f"hil {hil_version()}", flush=True)
        raise typer.Exit(0)


app = _Hil(
    name="hil",
    help="Hardware-in-the-loop tests of the reserved-e-mail password reset.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    # typer's --install-completion / --show-completion (bash, zsh, fish, PowerShell).
    add_completion=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", is_eager=True, callback=_print_version,
                     help="Print hil's version and exit."),
    ] = False,
) -> None:
    """Hardware-in-the-loop tests of the reserved-e-mail password reset."""


app.add_typer(lab_app, name="lab")
app.add_typer(devices_app, name="devices")
# Arguments after `--` go to pytest as they are (e.g. `-- --headed --mail-timeout 600`).
_PASS_THROUGH = {"allow_extra_args": True}
app.command("run", context_settings=_PASS_THROUGH)(run)
app.command("gate", context_settings=_PASS_THROUGH)(gate)
app.command("report")(report)

__all__ = ["app"]
