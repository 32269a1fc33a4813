"""fixtures.browser.chromium_path: HIL_CHROMIUM names the browser a lab runner brings, an
empty one means Debian's, and a wrong one is one line naming it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from fixtures.browser import CHROMIUM, CHROMIUM_ENV, chromium_path


def test_an_executable_hil_chromium_is_the_browser(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    browser = tmp_path / "chrome"
    browser.write_text("#!/bin/sh\n")
    browser.chmod(stat.S_IRWXU)
    monkeypatch.setenv(CHROMIUM_ENV, str(browser))
    assert chromium_path() == str(browser)


def test_an_empty_hil_chromium_means_debians(monkeypatch: pytest.MonkeyPatch) -> None:
    # What a CI variable left empty gives (docs/ci/github-actions.yml's vars.HIL_CHROMIUM).
    monkeypatch.setenv(CHROMIUM_ENV, "")
    if Path(CHROMIUM).is_file():
        assert chromium_path() == CHROMIUM
    else:
        with pytest.raises(ValueError, match=f"^no Chromium at {CHROMIUM}: install it"):
            chromium_path()


def test_a_missing_hil_chromium_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CHROMIUM_ENV, str(tmp_path / "nope"))
    with pytest.raises(ValueError) as caught:
        chromium_path()
    assert str(caught.value) == (
        f"no Chromium at {tmp_path / 'nope'} (HIL_CHROMIUM): install it with `apt-get install "
        "-y chromium` (or set HIL_CHROMIUM to a Chromium binary, or pass --browser-channel)")


def test_a_hil_chromium_that_is_not_executable_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = tmp_path / "chrome"
    browser.write_text("not a program\n")
    browser.chmod(stat.S_IRUSR | stat.S_IWUSR)
    monkeypatch.setenv(CHROMIUM_ENV, str(browser))
    with pytest.raises(ValueError, match=r"^Chromium at .*/chrome \(HIL_CHROMIUM\) is not "
                                         r"executable: `chmod \+x` it"):
        chromium_path()
