"""Evidence attached to the running test's Allure result: text, a screenshot, a
Playwright trace. Callers mask secrets first (harness/evidence.py); these only
attach. Used by every layer that holds evidence (gui, lab, fixtures), hence at
the bottom."""

from __future__ import annotations

import allure


def attach_text(name: str, text: str) -> None:
    """Attach text (already masked) to the running test."""
    if text:
        allure.attach(text, name=name, attachment_type=allure.attachment_type.TEXT)


def attach_png(name: str, png: bytes) -> None:
    """Attach a screenshot to the running test."""
    allure.attach(png, name=name, attachment_type=allure.attachment_type.PNG)


def attach_trace(name: str, masked_zip: bytes) -> None:
    """Attach a (masked) Playwright trace; open it with `playwright show-trace`."""
    allure.attach(masked_zip, name=name, extension="zip")
