"""Password rules of DEVICE-SPEC §4, as the firmware applies them."""

from __future__ import annotations

import itertools
import re

USER_NAME = "admin"
MIN_LENGTH = 8
MAX_LENGTH = 16
LEVEL_NAMES = ("Risky", "Weak", "Fair", "Strong")


def _classes(password: str) -> tuple[bool, bool, bool, bool]:
    lower = any(c.islower() and c.isascii() for c in password)
    upper = any(c.isupper() and c.isascii() for c in password)
    digit = any(c.isdigit() and c.isascii() for c in password)
    special = any(c.isascii() and c.isprintable() and not c.isalnum() for c in password)
    return lower, upper, digit, special


def strength(password: str, user_name: str = USER_NAME) -> int:
    """The GUI's own level formula: 0 Risky, 1 Weak, 2 Fair, 3 Strong."""
    lower, upper, digit, special = _classes(password)
    n = 0
    if lower:
        n += 1
    if upper:
        n += 2 if n else 1
    if digit:
        n += 1
    if special:
        n += 2 if n else 1
    if len(password) < MIN_LENGTH or password in (user_name, user_name[::-1]):
        return 0
    return min(max(n - 1, 0), 3)


def length_ok(password: str, max_length: int = MAX_LENGTH) -> bool:
    """8-16 printable ASCII characters."""
    return (MIN_LENGTH <= len(password) <= max_length
            and all(c.isascii() and c.isprintable() for c in password))


def _ascending_or_descending_run(password: str, run: int = 4) -> bool:
    for i in range(len(password) - run + 1):
        chunk = password[i:i + run]
        if not chunk.isdigit():
            continue
        steps = {int(b) - int(a) for a, b in itertools.pairwise(chunk)}
        if steps in ({1}, {-1}):
            return True
    return False


def recorder_2020_violation(password: str, user_name: str = USER_NAME) -> bool:
    """The extra rules recorder firmware from 2020 applies (spec §4)."""
    lowered = password.lower()
    if user_name.lower() in lowered or "admin" in lowered or "123" in password:
        return True
    if _ascending_or_descending_run(password):
        return True
    return re.search(r"(.)\1{3}", password) is not None


def check_new_password(password: str, *, refuse_risky: bool, recorder_2020_rules: bool,
                       strength_offset: int = 0, max_length: int = MAX_LENGTH) -> str | None:
    """None when the password is acceptable, else the subStatusCode to answer with."""
    if not length_ok(password, max_length):
        return "badParameters"
    classes = sum(_classes(password))
    level = min(strength(password) + strength_offset, 3)
    if refuse_risky and (classes < 2 or level <= 0):
        return "riskPassword"
    if recorder_2020_rules and recorder_2020_violation(password):
        return "riskPassword"
    return None
