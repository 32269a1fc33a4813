# Sourced (from the project root) by bin/* and bench/*: how the project's Python runs.
#
# Compiled modules are cached under .venv/pycache, even where the environment asks Python
# not to write bytecode (PYTHONDONTWRITEBYTECODE=1 is set on this machine): without a
# cache every pytest process and every xdist worker compiles the harness from source and
# redoes pytest's assertion rewriting of its plugins, about 0.5 s of CPU each
# (docs/performance.md). The prefix keeps the source tree free of __pycache__ folders,
# which is what that variable is usually set for.
export PYTHONPYCACHEPREFIX="$PWD/.venv/pycache"
unset PYTHONDONTWRITEBYTECODE
