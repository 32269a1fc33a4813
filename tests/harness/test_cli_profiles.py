"""profiles.yaml: the run profiles `hil run` and `hil gate` use, and their mistakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.run.profiles import PROJECT_ROOT, ProfileError, get_profile, load_profiles


def test_the_three_profiles_exist_and_point_at_suites() -> None:
    profiles = load_profiles()
    assert {"regression", "nightly", "gate"} <= set(profiles)
    for profile in profiles.values():
        for suite in profile.suites:
            assert (PROJECT_ROOT / suite).exists(), f"{profile.name}: {suite} does not exist"


def test_gate_runs_the_security_suite_without_slow_tests() -> None:
    gate = get_profile("gate")
    assert "suites/test_security.py" in gate.suites
    assert gate.markers == "not slow"


def test_pytest_args_and_the_keyword_with_the_profile() -> None:
    args = get_profile("regression").pytest_args(keyword="reset or gating")
    assert args[0] == str(PROJECT_ROOT / "suites")
    assert args[args.index("-m") + 1] == "not slow"
    assert args[args.index("-k") + 1] == "(reset or gating)"
    assert "--timeout=300" in args


def test_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(ProfileError, match=r"unknown profile 'weekly' \(known: gate, nightly"):
        get_profile("weekly")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("profiles: {quick: {suites: []}}", "profiles.quick.suites: Tuple should have at least 1"),
        ("profiles: {quick: {suites: [suites], workers: many}}", "profiles.quick.workers"),
        ("profiles: {quick: {suites: [suites], colour: red}}", "profiles.quick.colour"),
        ("profiles: [", "invalid YAML"),
    ],
)
def test_mistakes_in_the_profiles_file_are_one_line(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "profiles.yaml"
    path.write_text(text)
    with pytest.raises(ProfileError) as caught:
        load_profiles(path)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_profiles_file(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot read the run profiles"):
        load_profiles(tmp_path / "nope.yaml")
