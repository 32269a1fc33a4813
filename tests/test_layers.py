"""The harness's layers (docs/design.md): every import goes down or stays in its layer.

bottom (catalogue, inventory, errors, evidence, attachments, waits) < clients < gui < flows
< lab < run < report < cli. Every import counts, also those under `if TYPE_CHECKING:` and
inside functions: a lazy import hides an upward arrow from the import graph, not from the
design. A module no layer claims fails the test too, so a new module has to be given a
place instead of being left beside the others.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# (layer, the dotted prefixes it owns), bottom first.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("bottom", ("harness.catalogue", "harness.inventory", "harness.errors", "harness.evidence",
                "harness.attachments", "harness.waits")),
    ("clients", ("harness.clients",)),
    ("gui", ("harness.gui",)),
    ("flows", ("harness.flows",)),
    ("lab", ("harness.lab",)),
    ("run", ("harness.run",)),
    ("report", ("harness.report",)),
    ("cli", ("harness.cli",)),
)


@dataclass(frozen=True)
class Arrow:
    module: str
    line: int
    target: str
    what: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.target}: {self.what}"


def layer_of(module: str) -> int | None:
    """Index of the layer owning `module` (longest prefix), None when none does."""
    best: tuple[int, int] | None = None
    for rank, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            owns = module == prefix or module.startswith(prefix + ".")
            if owns and (best is None or len(prefix) > best[1]):
                best = (rank, len(prefix))
    return None if best is None else best[0]


def _imported(tree: ast.AST, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, dotted target) for every import in `tree`; `from a import b` yields a.b, since
    b may be a module (`from harness import flows`)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            found.extend((node.lineno, f"{source}.{alias.name}") for alias in node.names)
    return found


def upward_imports(module: str, source: str, *, is_package: bool = False) -> list[Arrow]:
    """The imports of `module` (its `source`) that break the layering."""
    own = layer_of(module)
    if own is None:
        return [Arrow(module, 1, module, "no layer owns this module (add it to LAYERS)")]
    arrows = []
    for line, target in _imported(ast.parse(source), module, is_package):
        if target == "emulator" or target.startswith("emulator."):
            arrows.append(Arrow(module, line, target, "the harness never imports the emulator"))
            continue
        if not target.startswith("harness."):
            continue
        # `from harness.lab import dut` names a module; `from harness.lab.dut import Lab` a
        # class. Both resolve to their owner's layer through the longest prefix.
        rank = layer_of(target)
        if rank is None and target.count(".") > 1:
            rank = layer_of(target.rsplit(".", 1)[0])
        if rank is not None and rank > own:
            arrows.append(Arrow(module, line, target,
                                f"{LAYERS[own][0]} must not import {LAYERS[rank][0]}"))
    return arrows


def harness_modules() -> list[tuple[str, Path]]:
    modules = []
    for path in sorted((ROOT / "harness").rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts != ["harness"]:
            modules.append((".".join(parts), path))
    return modules


def test_harness_imports_only_go_down() -> None:
    arrows = [
        arrow
        for module, path in harness_modules()
        for arrow in upward_imports(module, path.read_text(), is_package=path.name == "__init__.py")
    ]
    assert not arrows, "imports against the layers:\n" + "\n".join(map(str, arrows))


@pytest.mark.parametrize(
    ("module", "source", "broken"),
    [
        pytest.param("harness.clients.mail", "from harness.lab.dut import Lab\n", True,
                     id="clients-up-to-lab"),
        pytest.param("harness.gui.recognise",
                     "def f() -> None:\n    from harness.report.allure import attach_png\n",
                     True, id="lazy-gui-up-to-report"),
        pytest.param("harness.lab.dut",
                     "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                     "    from harness.run import gate\n", True, id="type-only-lab-up-to-run"),
        pytest.param("harness.inventory", "import harness.clients.tls\n", True,
                     id="bottom-up-to-clients"),
        pytest.param("harness.cli.labcmd", "from harness.lab.host import start_lab\n", False,
                     id="cli-down-to-lab"),
        pytest.param("harness.lab.dut", "from harness.clients import mail\n", False,
                     id="lab-down-to-clients"),
        pytest.param("harness.clients.isapi.client", "from .errors import IsapiError\n", False,
                     id="relative-same-package"),
        pytest.param("harness.clients.isapi.client", "from ...lab import dut\n", True,
                     id="relative-up-to-lab"),
        pytest.param("harness.clients.shell", "import emulator.psh\n", True,
                     id="harness-imports-emulator"),
        pytest.param("harness.newthing", "import json\n", True, id="module-without-layer"),
    ],
)
def test_the_check_sees_an_upward_import(module: str, source: str, broken: bool) -> None:
    assert bool(upward_imports(module, source)) is broken
