"""Run profiles: which suites and markers `hil run --profile NAME` and `hil gate` run.

The profiles live in one readable file, `profiles.yaml` at the project root, so a release
manager can see what the gate runs without reading code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

PROJECT_ROOT: Final = Path(__file__).resolve().parents[2]
PROFILES_FILE: Final = PROJECT_ROOT / "profiles.yaml"
GATE_PROFILE: Final = "gate"


class ProfileError(Exception):
    """An unknown profile or a mistake in profiles.yaml, as one line."""


class Profile(BaseModel):
    """One run profile: the pytest selection and defaults it stands for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    description: str = ""
    suites: tuple[str, ...] = Field(min_length=1)
    markers: str | None = None
    keyword: str | None = None
    workers: int = Field(default=1, ge=0, le=64)
    timeout: int | None = Field(default=None, ge=1)
    args: tuple[str, ...] = ()

    def pytest_args(self, *, keyword: str | None = None, root: Path = PROJECT_ROOT) -> list[str]:
        """The pytest arguments selecting this profile's tests; `keyword` is and-ed with
        the profile's own -k expression. The run is told its profile (`--hil-profile`), so
        that its report keeps the profile's trend (harness.report.runinfo)."""
        args = [str(root / suite) for suite in self.suites]
        if self.markers:
            args += ["-m", self.markers]
        expressions = [f"({e})" for e in (self.keyword, keyword) if e]
        if expressions:
            args += ["-k", " and ".join(expressions)]
        if self.timeout is not None:
            args.append(f"--timeout={self.timeout}")
        if self.name:
            args.append(f"--hil-profile={self.name}")
        return args + list(self.args)


class _ProfilesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profiles: dict[str, Profile]


def load_profiles(path: Path | str = PROFILES_FILE) -> dict[str, Profile]:
    """All profiles of `path` by name; `ProfileError` with one line on any mistake."""
    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(f"{file}: cannot read the run profiles ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ProfileError(f"{file}: invalid YAML ({exc})".replace("\n", " ")) from None
    try:
        parsed = _ProfilesFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ProfileError(f"{file}: {where}: {first['msg']}") from None
    return {
        name: profile.model_copy(update={"name": name}) for name, profile in parsed.profiles.items()
    }


def get_profile(name: str, path: Path | str = PROFILES_FILE) -> Profile:
    """The profile called `name`; `ProfileError` naming the known ones otherwise."""
    profiles = load_profiles(path)
    try:
        return profiles[name]
    except KeyError:
        known = ", ".join(sorted(profiles))
        raise ProfileError(f"unknown profile {name!r} (known: {known}; see {path})") from None
