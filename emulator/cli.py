"""`python -m emulator`: serve one device, run a fleet, or list the named defects."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from .config import ConfigError, load_config, validate_config
from .defects import REGISTRY, DefectError, load_defect_module

if TYPE_CHECKING:
    from .fleet import Fleet

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m emulator",
        description="Emulated Hikvision-style recorders and IP cameras (ISAPI over HTTP, web "
                    "GUI, reserved-e-mail password reset), their vendor cloud and a lab "
                    "controller. Everything listens on loopback unless told otherwise.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    serve = sub.add_parser(
        "serve", help="serve one device (and its cloud) in the foreground",
        description="Serve one emulated device and the vendor cloud until Ctrl-C, and print "
                    "where to point a browser.")
    serve.add_argument("--model", required=True, help="model, e.g. DS-2CD2143G2-I, DS-7608NI-K2")
    serve.add_argument("--firmware", required=True,
                       help="firmware, e.g. V5.6.3 or 'V5.7.10 build 240120'")
    serve.add_argument("--name", default=None, help="device name (default: from the model)")
    serve.add_argument("--http-port", type=int, default=8080,
                       help="HTTP port for ISAPI and the GUI (0 = any free port; default 8080)")
    serve.add_argument("--ssh-port", type=int, default=0,
                       help="SSH port, listening while SSH is enabled (default: any free port)")
    serve.add_argument("--state", type=Path, default=Path(".lab/state"),
                       help="folder for the device's flash file (default .lab/state)")
    serve.add_argument("--defect", action="append", default=[], metavar="NAME",
                       help="play a named firmware defect (repeatable; see `defects`)")
    serve.add_argument("--defect-module", action="append", default=[], metavar="PATH_OR_MODULE",
                       help="load user defects from a .py file or module (repeatable)")
    serve.add_argument("--boot-seconds", type=float, default=0.0,
                       help="seconds a reboot keeps the device unreachable (default 0)")
    serve.add_argument("--digest-algorithm", default="MD5", choices=["MD5", "SHA-256"],
                       help="the Digest algorithm the device offers (default MD5)")
    serve.add_argument("--session-id-version", default="2", choices=["2", "2.1"],
                       help="session-login hash version; 2.1 adds salt2 (default 2)")
    serve.add_argument("--session-timeout-s", type=float, default=120.0,
                       help="seconds a session lives without a heartbeat or request "
                            "(default 120)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1, loopback)")
    serve.add_argument("--smtp-relay", default="127.0.0.1:2525", metavar="HOST:PORT",
                       help="SMTP server the cloud sends code mails through "
                            "(default 127.0.0.1:2525)")
    serve.add_argument("--cloud-http-port", type=int, default=0,
                       help="cloud HTTP port (default: any free port)")
    serve.add_argument("--cloud-smtp-port", type=int, default=0,
                       help="cloud SMTP port for the recovery address (default: any free port)")
    serve.add_argument("--tls-dir", type=Path, default=None, metavar="DIR",
                       help="serve HTTPS with DIR/<name>.crt/.key (made once, self-signed); "
                            "prints the certificate's SPKI pin")
    serve.add_argument("--tls-ca", action="store_true",
                       help="with --tls-dir: sign the certificate by DIR/lab-ca.crt (made once)")

    fleet = sub.add_parser(
        "fleet", help="run the devices, cloud and lab controller of a config file",
        description="Run a fleet from a YAML or JSON config; print one JSON line "
                    "{\"ready\": true, ...} when everything listens; stop on SIGTERM/SIGINT.")
    fleet.add_argument("config", type=Path, help="fleet config file (.yaml, .yml or .json)")
    fleet.add_argument("--defect-module", action="append", default=[], metavar="PATH_OR_MODULE",
                       help="load user defects from a .py file or module (repeatable)")

    rehearsal = sub.add_parser(
        "rehearsal", help="a lab on loopback that looks real to the harness (docs/real-lab.md)",
        description="up: start devices over HTTPS, the lab controller, the cloud's submission "
                    "server, Dovecot and the mail relay in the background and write "
                    "DIR/devices.yaml and DIR/secrets.env; down: stop them; serve: the "
                    "lab's process in the foreground (what up starts).")
    rehearsal.add_argument("action", choices=["up", "down", "serve"])
    rehearsal.add_argument("dir", type=Path, metavar="DIR",
                           help="the lab's folder: inventory, secrets, certificates, state, logs")
    rehearsal.add_argument("--timeout", type=float, default=60.0,
                           help="seconds up waits for the lab to listen (default 60)")

    defects = sub.add_parser("defects", help="list the named defects with their one-liners",
                             description="List the named firmware defects.")
    defects.add_argument("--defect-module", action="append", default=[],
                         metavar="PATH_OR_MODULE", help="also list defects of this module")
    return parser


def _fail(message: str) -> NoReturn:
    print(f"emulator: error: {message}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)


def _load_modules(modules: list[str]) -> None:
    for module in modules:
        try:
            load_defect_module(module)
        except DefectError as exc:
            _fail(str(exc))


def _ensure_state_folder(path: Path, option: str = "--state") -> None:
    """Create `path` if needed and prove it takes files; otherwise a usage error naming
    the option, before any port is opened (an OSError from flash would read as a port
    error)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        # A real write, not os.access: permission bits say nothing when run as root.
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        _fail(f"{option} {path}: not a writable folder ({exc.strerror or exc})")


def _serve_config(args: argparse.Namespace) -> dict[str, Any]:
    host, _, port = args.smtp_relay.rpartition(":")
    if not host or not port.isdigit():
        _fail(f"--smtp-relay {args.smtp_relay!r}: expected HOST:PORT")
    name = args.name or args.model.lower().replace("/", "-")
    return {
        "host": args.host, "state_dir": str(args.state),
        "mail_relay": {"host": host, "port": int(port)},
        "cloud": {"http_port": args.cloud_http_port, "smtp_port": args.cloud_smtp_port},
        "lab_controller": None,
        "tls": {"dir": str(args.tls_dir), "ca": args.tls_ca} if args.tls_dir else None,
        "defect_modules": list(args.defect_module),
        "devices": [{"name": name, "model": args.model, "firmware": args.firmware,
                     "http_port": args.http_port, "ssh_port": args.ssh_port,
                     "defects": list(args.defect), "boot_seconds": args.boot_seconds,
                     "digest_algorithm": args.digest_algorithm,
                     "session_id_version": args.session_id_version,
                     "session_timeout_s": args.session_timeout_s}],
    }


def _run(fleet: Fleet, on_ready: Any) -> int:
    from .fleet import run_until_signal

    try:
        asyncio.run(run_until_signal(fleet, on_ready))
    except OSError as exc:
        _fail(f"cannot listen: {exc.strerror or exc} "
              "(is the port in use, or the address not local?)")
    return 0


def _print_serve(info: dict[str, Any]) -> None:
    dev = info["devices"][0]
    lines = [f"{dev['name']}: {dev['model']} firmware {dev['firmware']} ({dev['generation']} GUI)",
             f"  browser: {dev['http']}/", f"  serial:  {dev['serial']}",
             f"  ssh:     port {dev['ssh_port']} (listening once SSH is enabled), "
             f"host key {dev['ssh_host_key']}"]
    tls = dev.get("tls")
    if tls:
        lines.append(f"  tls:     {tls['cert']}, SPKI pin {tls['spki_sha256']}"
                     + (f", CA {tls['ca_file']}" if tls["ca_file"] else " (self-signed)"))
    if info.get("cloud"):
        cloud = info["cloud"]
        lines.append(f"  cloud:   {cloud['http']}  smtp {cloud['smtp_host']}:{cloud['smtp_port']}")
    lines.append("Ctrl-C to stop.")
    print("\n".join(lines), flush=True)


def _ready_printer(fleet: Fleet) -> Any:
    def on_ready(info: dict[str, Any]) -> None:
        print(json.dumps(info), flush=True)
        print(f"emulator: {len(info['devices'])} devices up in {fleet.devices_up_seconds:.3f} s, "
              f"everything listening after {fleet.start_seconds:.3f} s", file=sys.stderr,
              flush=True)

    return on_ready


def _rehearsal(args: argparse.Namespace) -> int:
    from . import rehearsal

    folder: Path = args.dir
    if args.action == "serve":
        return rehearsal.serve(folder)
    if folder.exists() and not folder.is_dir():
        _fail(f"rehearsal {args.action} {folder}: not a folder")
    if args.action == "down":
        stopped = rehearsal.down(folder)
        print(f"rehearsal lab in {folder}: {'stopped' if stopped else 'was not running'}")
        return 0
    if not 1 <= args.timeout <= 600:
        _fail("--timeout: expected seconds between 1 and 600")
    if folder.exists():
        _ensure_state_folder(folder, "DIR")
    try:
        inventory = rehearsal.up(folder, timeout=args.timeout)
    except rehearsal.RehearsalError as exc:
        _fail(f"rehearsal lab: {exc}")
    secrets_file = inventory.parent / rehearsal.SECRETS_FILE
    print(f"rehearsal lab up: inventory {inventory}\n"
          f"  source {secrets_file}\n"
          f"  hil devices probe --devices {inventory}\n"
          f"  hil run --profile rehearsal --devices {inventory}\n"
          f"  python -m emulator rehearsal down {folder}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m emulator`."""
    args = build_parser().parse_args(argv)
    if args.command == "defects":
        _load_modules(args.defect_module)
        width = max(len(n) for n in REGISTRY)
        for name in sorted(REGISTRY):
            print(f"{name:<{width}}  {REGISTRY[name].description}")
        return 0
    if args.command == "rehearsal":
        return _rehearsal(args)
    if args.command == "serve":
        for port_arg in ("http_port", "ssh_port", "cloud_http_port", "cloud_smtp_port"):
            if not 0 <= getattr(args, port_arg) <= 65535:
                _fail(f"--{port_arg.replace('_', '-')}: expected a port 0-65535")
        _ensure_state_folder(args.state)
        if args.tls_ca and args.tls_dir is None:
            _fail("--tls-ca: needs --tls-dir (where the CA and certificate are kept)")
        if args.tls_dir is not None:
            _ensure_state_folder(args.tls_dir, "--tls-dir")
        try:
            config = validate_config(_serve_config(args), "command line")
        except ConfigError as exc:
            _fail(str(exc).replace("command line: devices[0].", "--").replace("_", "-"))
        from .fleet import Fleet

        return _run(Fleet(config), _print_serve)
    _load_modules(args.defect_module)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        _fail(str(exc))
    if config.tls is not None:
        _ensure_state_folder(config.tls.dir, f"{args.config}: tls.dir")
    from .fleet import Fleet

    fleet_obj = Fleet(config)
    return _run(fleet_obj, _ready_printer(fleet_obj))
