"""What every `hil` command shares: default paths, one-line errors, the consoles."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Final, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from harness.catalogue import LineId
from harness.inventory.fields import InventoryError
from harness.inventory.load import DEFAULT_INVENTORY, load_inventory
from harness.inventory.model import AnyDevice, Inventory
from harness.run.profiles import PROJECT_ROOT
from harness.run.selection import DeviceFilter, SelectionError, filter_devices

# Exit codes shared by the commands (typer's own usage errors are 2 as well).
EXIT_OK: Final = 0
EXIT_FINDING: Final = 1  # tests failed / a product defect / a mismatch
EXIT_ERROR: Final = 2  # bad input (ours or pytest's), or the lab, a device or the run failed
EXIT_NO_TESTS: Final = 5  # pytest's "nothing collected or selected"

# Not a terminal (CI logs, pipes): wide enough that tables keep one row per device.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def new_table(title: str, *columns: str) -> Table:
    """A table whose cells fold rather than cut: a device name is never shown as `nvr-v4…`."""
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def default_devices() -> Path:
    """`$HIL_DEVICES`, else the project's devices.yaml."""
    return Path(os.environ.get("HIL_DEVICES") or DEFAULT_INVENTORY)


def default_workdir() -> Path:
    """`$HIL_LAB_DIR`, else the project's `.lab` (where the suites' fixtures look too)."""
    return Path(os.environ.get("HIL_LAB_DIR") or PROJECT_ROOT / ".lab")


def default_output() -> Path:
    """`$HIL_REPORTS`, else `reports` in the working directory."""
    return Path(os.environ.get("HIL_REPORTS") or "reports")


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print `error: message` as one line on stderr and exit with `code`."""
    # Plain print: rich would wrap a long line at the terminal width, and a log grep or a
    # test wants the whole message on one line.
    print(f"error: {' '.join(message.split())}", file=sys.stderr, flush=True)
    raise typer.Exit(code)


def inventory_or_fail(path: Path) -> Inventory:
    """The inventory at `path`, or one line naming the file and the mistake (exit 2)."""
    try:
        return load_inventory(path)
    except InventoryError as exc:
        fail(str(exc))


PYTEST_USAGE: Final = 4  # pytest's own status for a usage error: `hil` turns it into 2


def check_keyword(keyword: str | None, code: int = EXIT_ERROR) -> None:
    """Refuse a `-k` expression pytest could not parse, in one line (exit `code`), before
    a lab or a worker starts (pytest itself would end in an xdist INTERNALERROR)."""
    if keyword is None:
        return
    # pytest's own parser (imported here: the other commands do not pay for pytest).
    from _pytest.mark.expression import Expression

    try:
        Expression.compile(keyword)
    except SyntaxError as exc:
        where = f"at column {exc.offset}: " if exc.offset else ""
        fail(f"bad -k expression {keyword[:80]!r}: {where}{exc.msg}", code=code)


JsonOption = Annotated[
    bool,
    typer.Option("--json", help="One JSON document on stdout, for scripts (no secrets)."),
]
DevicesOption = Annotated[
    Path | None,
    typer.Option(
        "--devices",
        "-d",
        help="The lab inventory (devices.yaml); $HIL_DEVICES or the project's devices.yaml.",
        show_default=False,
    ),
]
WorkdirOption = Annotated[
    Path | None,
    typer.Option(
        "--workdir",
        help="The lab workdir (lab.json, credentials); $HIL_LAB_DIR or the project's .lab.",
        show_default=False,
    ),
]
OutputOption = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Where Allure results, JUnit XML, records and pytest's log go; "
        "$HIL_REPORTS or ./reports.",
        show_default=False,
    ),
]


# --- device selection (`hil run`, `hil gate`) ------------------------------------------------


def _complete_devices(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shell completion of --device: the names in the inventory the command line names."""
    try:
        inventory = load_inventory(Path(ctx.params.get("devices") or default_devices()))
    except InventoryError:
        return []
    return [d.name for d in inventory.devices if d.name.startswith(incomplete)]


def _complete_lines(incomplete: str) -> list[str]:
    return [line.value for line in LineId if line.value.startswith(incomplete)]


LineOption = Annotated[
    list[str] | None,
    typer.Option(
        "--line",
        "-l",
        help="Only devices of this product line: dvr-k, dvr-hghi-f, nvr, ipc (repeatable).",
        autocompletion=_complete_lines,
        show_default=False,
    ),
]
DeviceNameOption = Annotated[
    list[str] | None,
    typer.Option(
        "--device",
        help="Only this inventory device, by its exact name (repeatable).",
        autocompletion=_complete_devices,
        show_default=False,
    ),
]


def device_filter(
    lines: list[str] | None, firmware: list[str] | None, names: list[str] | None
) -> DeviceFilter:
    """The selectors of a command line, as given (empty: every device)."""
    return DeviceFilter(tuple(names or ()), tuple(lines or ()), tuple(firmware or ()))


def selected_or_fail(inventory: Inventory, wanted: DeviceFilter, path: Path) -> list[AnyDevice]:
    """The devices `wanted` selects from the inventory at `path`: a value no device has is
    one line naming the inventory (exit 2), a selection with no device in common is
    `nothing selected` (exit 5), both before any lab starts."""
    try:
        chosen = filter_devices(inventory, wanted, str(path))
    except SelectionError as exc:
        fail(str(exc))
    if not chosen:
        fail(f"nothing selected: no device of {path} matches {wanted.describe()}",
             code=EXIT_NO_TESTS)
    return chosen
