"""Every test run of tests/ keeps lab state away from the user's: HIL_STATE_DIR (where the
harness keeps real devices' passwords and the transition log, harness/lab/statedir.py) points
at a fresh temporary folder unless the caller chose one; subprocesses inherit it."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("HIL_STATE_DIR", tempfile.mkdtemp(prefix="hil-state-tests-"))
