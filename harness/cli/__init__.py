"""`hil`: the harness's command for QA engineers, release managers and CI.

A thin layer over `harness/`: every command parses its options, calls the library and
prints. One clear line on bad input (`error: ...`), with documented exit codes.
"""

from __future__ import annotations

import typer

from harness.cli.devicescmd import devices_app
from harness.cli.gatecmd import gate
from harness.cli.labcmd import lab_app
from harness.cli.reportcmd import report
from harness.cli.runcmd import run

app = typer.Typer(
    name="hil",
    help="Hardware-in-the-loop tests of the reserved-e-mail password reset.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(lab_app, name="lab")
app.add_typer(devices_app, name="devices")
# Arguments after `--` go to pytest as they are (e.g. `-- --headed --mail-timeout 600`).
_PASS_THROUGH = {"allow_extra_args": True}
app.command("run", context_settings=_PASS_THROUGH)(run)
app.command("gate", context_settings=_PASS_THROUGH)(gate)
app.command("report")(report)

__all__ = ["app"]
