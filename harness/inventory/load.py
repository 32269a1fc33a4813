"""Loading devices.yaml: YAML (bounded) -> `Inventory`, one line per mistake
naming file, line and field; the JSON schema the file is checked against."""

from __future__ import annotations

import difflib
import functools
import json
import re
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import (
    ValidationError,
)

from harness.inventory.fields import (
    InventoryError,
    _short,
)
from harness.inventory.model import (
    EmulatedDevice,
    ExportCloud,
    ImapConfig,
    Inventory,
    RealDevice,
    _check_known_hosts_files,
)

DEFAULT_INVENTORY: Final = Path(__file__).resolve().parents[2] / "devices.yaml"
SCHEMA_FILE: Final = Path(__file__).resolve().parents[2] / "devices.schema.json"
_TAGS: Final = frozenset({"real", "emulated", "smtp-sink", "imap", "manual", "export",
                           "attended", "none", "file", "redis"})


def _location(loc: tuple[int | str, ...]) -> str:
    """`('devices', 3, 'emulated', 'firmware')` → `devices[3].firmware`.

    Pydantic puts the discriminator's value into the location of a tagged union member;
    a reader of devices.yaml never wrote it, so it is dropped.
    """
    text = ""
    for index, part in enumerate(loc):
        if isinstance(part, int):
            text += f"[{part}]"
        elif part in _TAGS and index > 0:
            continue
        elif "[" in part or "." in part:
            # Dict keys and function-validator names are not field paths.
            continue
        else:
            text += f".{part}" if text else part
    return text


def _describe(error: Any) -> tuple[str, str]:
    """(extra path, message) for one pydantic error, in the inventory's words."""
    kind: str = error["type"]
    got = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "value_error":
        message = str(ctx.get("error", error["msg"]))
        if message.startswith("["):
            path, _, rest = message.partition(": ")
            return path, rest
        return "", message
    if kind == "missing":
        return "", "required field is missing"
    if kind == "extra_forbidden":
        return "", (f"unknown field (got {_short(got)}); "
                    "check the spelling against devices.schema.json")
    if kind == "union_tag_invalid":
        return "", f"expected kind to be one of {ctx.get('expected_tags')}, got {ctx.get('tag')!r}"
    if kind == "union_tag_not_found":
        return "", "missing 'kind' (what sort of entry this is)"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "", f"expected a whole number, got {_short(got)}"
    if kind in ("float_parsing", "float_type"):
        return "", f"expected a number, got {_short(got)}"
    if kind in ("bool_parsing", "bool_type"):
        return "", f"expected true or false, got {_short(got)}"
    if kind == "string_type":
        return "", f"expected text, got {_short(got)}"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bound = {
            "greater_than_equal": "at least",
            "less_than_equal": "at most",
            "greater_than": "more than",
            "less_than": "less than",
        }[kind]
        limit = next(iter(ctx.values()), "?")
        return "", f"expected a number {bound} {limit}, got {_short(got)}"
    if kind == "literal_error":
        return "", f"expected {ctx.get('expected')}, got {_short(got)}"
    if kind == "too_short":
        return (
            "",
            f"expected at least {ctx.get('min_length')} entries, got {ctx.get('actual_length')}",
        )
    if kind in ("tuple_type", "list_type"):
        return "", f"expected a list, got {_short(got)}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "", f"expected a mapping of fields, got {_short(got)}"
    return "", f"{error['msg']}, got {_short(got)}"


def _one_line(source: str, exc: ValidationError, text: str = "") -> str:
    errors = exc.errors()
    first = errors[0]
    extra_path, message = _describe(first)
    path = _location(tuple(first["loc"])) + extra_path
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{_where(source, text, path)}{message}{more}"


def _where(source: str, text: str, path: str) -> str:
    """`file: line N: field.path: ` (the line when the path can be found in the text)."""
    if not path:
        return f"{source}: "
    line = line_of(text, path)
    return f"{source}: line {line}: {path}: " if line else f"{source}: {path}: "


def line_of(text: str, path: str) -> int | None:
    """The line of `path` (`devices[2].defects[0]`) in inventory text; None if not found.

    Walks the composed node tree (aliases are not expanded, so an alias bomb stays
    cheap); the deepest node of the path that exists gives the line.
    """
    try:
        node: yaml.Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line = None
    for key, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        child: yaml.Node | None = None
        if key and isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                    line, child = key_node.start_mark.line + 1, value_node
        elif index and isinstance(node, yaml.SequenceNode) and int(index) < len(node.value):
            child = node.value[int(index)]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line


# Limits checked before and while parsing, so that a huge or hostile file is refused at once
# instead of after seconds of work or a MemoryError. A lab of thousands of devices fits.
MAX_INVENTORY_BYTES: Final = 1 << 20
MAX_INVENTORY_VALUES: Final = 100_000


class _InventoryLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing duplicate keys (YAML would keep the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[object, int] = {}
        for key_node, _value in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: the mapping's own constructor says so
                continue
            line = key_node.start_mark.line + 1
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {_short(key)} (first on line {first})",
                    key_node.start_mark)
            seen[key] = line
        return super().construct_mapping(node, deep)


def _count_values(data: object, limit: int) -> int:
    """How many values `data` holds with its aliases expanded, counting up to `limit` + 1."""
    count, stack = 0, [data]
    while stack and count <= limit:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


def parse_inventory(text: str, source: str = "devices.yaml") -> Inventory:
    """Parse inventory YAML (or JSON) text; `InventoryError` with one line on any mistake."""
    if len(text) > MAX_INVENTORY_BYTES:
        raise InventoryError(
            f"{source}: {len(text)} characters, more than an inventory may hold "
            f"({MAX_INVENTORY_BYTES}); is this the right file?"
        )
    try:
        data = yaml.load(text, Loader=_InventoryLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f"line {mark.line + 1}: " if mark is not None else ""
        problem = exc.problem or str(exc)
        raise InventoryError(f"{source}: {line}invalid YAML ({problem})") from None
    except yaml.YAMLError as exc:
        raise InventoryError(f"{source}: invalid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise InventoryError(
            f"{source}: expected a mapping with 'devices:' at the top, got {type(data).__name__}"
        )
    if _count_values(data, MAX_INVENTORY_VALUES) > MAX_INVENTORY_VALUES:
        raise InventoryError(
            f"{source}: more than {MAX_INVENTORY_VALUES} values once its aliases are expanded "
            "(an alias bomb?); write the entries out"
        )
    try:
        inventory = Inventory.model_validate(data)
    except ValidationError as exc:
        raise InventoryError(_one_line(source, exc, text)) from None
    _check_defects(inventory, source, text)
    return inventory


def _check_defects(inventory: Inventory, source: str, text: str) -> None:
    """Every defect an emulated device names is one the emulator plays, checked now rather
    than when the lab starts (where the error would name a generated fleet file)."""
    named = [(i, j, name) for i, device in enumerate(inventory.devices)
             if isinstance(device, EmulatedDevice) for j, name in enumerate(device.defects)]
    if not named:
        return
    known = emulator_defects()
    for i, j, name in named:
        if name in known:
            continue
        path = f"devices[{i}].defects[{j}]"
        close = difflib.get_close_matches(name, sorted(known), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise InventoryError(
            f"{_where(source, text, path)}unknown defect {_short(name)} "
            f"({hint}`python -m emulator defects` lists them)"
        )


EMULATOR_TIMEOUT_S: Final = 30.0


@functools.cache
def emulator_defects() -> frozenset[str]:
    """The defect names the emulator plays, from its command line (`python -m emulator
    defects`): the harness knows the emulator only by its command line and ports."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "emulator", "defects"], capture_output=True, text=True,
            timeout=EMULATOR_TIMEOUT_S, check=False, stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InventoryError(f"cannot list the emulator's defects: {exc}") from None
    names = frozenset(ln.split()[0] for ln in done.stdout.splitlines() if ln.strip())
    if done.returncode != 0 or not names:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise InventoryError(f"cannot list the emulator's defects: {last}")
    return names


def _check_ca_files(inventory: Inventory, source: str) -> None:
    """Every `tls.ca_file` is a CA bundle the TLS layer can load, checked now rather than
    as a traceback at a test's first HTTPS call."""
    files = [(f"devices[{index}].tls.ca_file", device.tls.ca_file)
             for index, device in enumerate(inventory.devices)
             if isinstance(device, RealDevice) and device.tls.ca_file is not None]
    cloud = inventory.cloud
    if isinstance(cloud, ExportCloud) and cloud.smtp is not None and cloud.smtp.ca_file:
        files.append(("cloud.smtp.ca_file", cloud.smtp.ca_file))
    mailbox = inventory.mailbox
    if isinstance(mailbox, ImapConfig) and mailbox.ca_file is not None:
        files.append(("mailbox.ca_file", mailbox.ca_file))
    for field_name, ca_file in files:
        assert ca_file is not None
        where = f"{source}: {field_name}"
        relative = "" if ca_file.is_absolute() else f", relative to {Path.cwd()}"
        try:
            ssl.create_default_context(cafile=str(ca_file))
        except OSError as exc:
            # ssl.SSLError is an OSError too: the file is there but holds no certificate.
            if isinstance(exc, ssl.SSLError):
                problem = f"not a PEM CA bundle ({exc.reason or exc})"
            else:
                problem = exc.strerror or type(exc).__name__
            raise InventoryError(
                f"{where}: cannot load the CA file {str(ca_file)!r}{relative}: {problem}"
            ) from None


def load_inventory(path: Path | str = DEFAULT_INVENTORY) -> Inventory:
    """Load devices.yaml (or another inventory file); one-line `InventoryError` on mistakes.

    Relative paths inside (CA files, known_hosts files, lease directory) are taken from the
    working directory, not from the file's folder. CA and known_hosts files must exist and
    load.
    """
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > MAX_INVENTORY_BYTES:
            raise InventoryError(
                f"{file}: {size} bytes, more than an inventory may hold "
                f"({MAX_INVENTORY_BYTES}); is this the right file?"
            )
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise InventoryError(f"{file}: cannot read the inventory ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise InventoryError(
            f"{file}: cannot read the inventory (line {line}: not UTF-8 text, "
            f"byte 0x{exc.object[exc.start]:02x}); save it as UTF-8"
        ) from None
    inventory = parse_inventory(text, source=str(file))
    _check_ca_files(inventory, str(file))
    _check_known_hosts_files(inventory, str(file))
    return inventory


def inventory_schema() -> dict[str, Any]:
    """The JSON Schema of devices.yaml, for editors and for devices.schema.json."""
    schema = Inventory.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "HIL lab inventory (devices.yaml)"
    return schema


def schema_text() -> str:
    """devices.schema.json's exact contents."""
    return json.dumps(inventory_schema(), indent=2, sort_keys=True) + "\n"


def write_schema(path: Path = SCHEMA_FILE) -> None:
    """Regenerate devices.schema.json (`python -m harness.inventory.load`)."""
    path.write_text(schema_text(), encoding="utf-8")


if __name__ == "__main__":
    write_schema()
    print(f"wrote {SCHEMA_FILE}")
