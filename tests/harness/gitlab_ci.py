"""A static check of a .gitlab-ci.yml against GitLab's documented keywords, for the CI
template's test (GitLab's own linter needs a GitLab server).

The keyword lists are those of GitLab's "CI/CD YAML syntax reference",
https://docs.gitlab.com/ci/yaml/ (source: doc/ci/yaml/_index.md of gitlab-org/gitlab, as
mirrored in gitlabhq/gitlabhq), and of "GitLab CI/CD artifacts reports types",
https://docs.gitlab.com/ci/yaml/artifacts_reports/ (doc/ci/yaml/artifacts_reports.md),
read in December 2026. `only` and `except` are on the deprecated-keywords page and are
refused here. What is checked: top-level keys, every job's keys (after `extends`), the keys
of `artifacts`, `artifacts:reports`, `cache`, `cache:key`, `rules`, `needs`, `default`,
`workflow`, `variables`, the documented values of every `when` and `cache:policy`, that
every job's stage is declared, and that `needs`, `dependencies` and `extends` name jobs of
the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

# "Global keywords" and "Header keywords" of the reference.
GLOBAL_KEYWORDS: Final = frozenset({"default", "include", "stages", "variables", "workflow"})
HEADER_KEYWORDS: Final = frozenset({"spec"})

# "Job keywords": the reference's table, plus `hooks` and `id_tokens`, which have their own
# sections as job keywords there (and are listed among `default`'s keywords).
JOB_KEYWORDS: Final = frozenset({
    "after_script", "allow_failure", "artifacts", "before_script", "cache", "coverage",
    "dast_configuration", "dependencies", "environment", "extends", "hooks", "identity",
    "id_tokens", "image", "inherit", "interruptible", "manual_confirmation", "needs", "pages",
    "parallel", "release", "resource_group", "retry", "rules", "run", "script", "secrets",
    "services", "stage", "start_in", "tags", "timeout", "trigger", "variables", "when",
})
# `default`: "These keywords can have custom defaults".
DEFAULT_KEYWORDS: Final = frozenset({
    "after_script", "artifacts", "before_script", "cache", "hooks", "id_tokens", "image",
    "interruptible", "retry", "services", "tags", "timeout",
})
WORKFLOW_KEYWORDS: Final = frozenset({"name", "rules", "auto_cancel"})
ARTIFACTS_KEYWORDS: Final = frozenset({
    "paths", "exclude", "expire_in", "expose_as", "name", "public", "access", "reports",
    "untracked", "when",
})
ARTIFACTS_REPORTS: Final = frozenset({
    "accessibility", "annotations", "api_fuzzing", "browser_performance", "coverage_report",
    "codequality", "container_scanning", "coverage_fuzzing", "cyclonedx", "dast",
    "dependency_scanning", "dotenv", "junit", "load_performance", "metrics", "requirements",
    "repository_xray", "sast", "secret_detection", "terraform",
})
CACHE_KEYWORDS: Final = frozenset({
    "paths", "key", "untracked", "unprotect", "when", "policy", "fallback_keys",
})
CACHE_KEY_KEYWORDS: Final = frozenset({"files", "files_commits", "prefix"})
# `rules`: "at least one of if, changes, exists, when", optionally allow_failure, needs,
# variables, interruptible; `start_in` belongs in the rule when a job has rules.
RULE_KEYWORDS: Final = frozenset({
    "if", "changes", "exists", "when", "allow_failure", "needs", "variables", "interruptible",
    "start_in",
})
RULE_CONDITIONS: Final = frozenset({"if", "changes", "exists", "when"})
WORKFLOW_RULE_KEYWORDS: Final = frozenset({"if", "changes", "exists", "when", "variables",
                                           "auto_cancel"})
NEEDS_KEYWORDS: Final = frozenset({"job", "artifacts", "optional", "project", "ref",
                                   "pipeline", "parallel"})
VARIABLE_KEYWORDS: Final = frozenset({"value", "description", "options", "expand"})
DEPRECATED_JOB_KEYWORDS: Final = frozenset({"only", "except"})

JOB_WHEN: Final = frozenset({"on_success", "on_failure", "never", "always", "manual", "delayed"})
UPLOAD_WHEN: Final = frozenset({"on_success", "on_failure", "always"})  # artifacts, cache
CACHE_POLICIES: Final = frozenset({"pull", "push", "pull-push"})
# "If stages is not defined ... the default pipeline stages are"; .pre and .post always exist.
DEFAULT_STAGES: Final = (".pre", "build", "test", "deploy", ".post")
IMPLICIT_STAGES: Final = frozenset({".pre", ".post"})
VARIABLE_NAME: Final = re.compile(r"^[A-Za-z0-9_]+$")


def findings(config: Mapping[str, Any]) -> list[str]:
    """Every mistake in a parsed .gitlab-ci.yml, one line each (`where: what`); [] when none."""
    out: list[str] = []
    jobs = {name: body for name, body in config.items()
            if name not in GLOBAL_KEYWORDS | HEADER_KEYWORDS}
    out += _check_globals(config)
    stages = _stages(config, out)
    for name, body in jobs.items():
        if not isinstance(body, Mapping):
            out.append(f"{name}: not a global keyword, and a job must be a mapping of job "
                       f"keywords (got {type(body).__name__})")
            continue
        out += _check_job(name, body)
    for name, job in _effective_jobs(jobs, out):
        if name.startswith("."):
            continue  # a hidden job: a template for `extends`, never run
        out += _check_runnable(name, job, stages, jobs)
    return out


def _check_globals(config: Mapping[str, Any]) -> Iterator[str]:
    for keyword in ("default", "workflow", "variables"):
        if keyword in config and not isinstance(config[keyword], Mapping):
            yield f"{keyword}: must be a mapping"
    default = config.get("default")
    if isinstance(default, Mapping):
        yield from _unknown("default", default, DEFAULT_KEYWORDS)
        yield from _check_nested("default", default)
    workflow = config.get("workflow")
    if isinstance(workflow, Mapping):
        yield from _unknown("workflow", workflow, WORKFLOW_KEYWORDS)
        yield from _check_rules("workflow", workflow.get("rules"), WORKFLOW_RULE_KEYWORDS,
                                frozenset({"always", "never"}))
    variables = config.get("variables")
    if isinstance(variables, Mapping):
        yield from _check_variables("variables", variables, VARIABLE_KEYWORDS)


def _stages(config: Mapping[str, Any], out: list[str]) -> set[str]:
    stages = config.get("stages", list(DEFAULT_STAGES))
    if not isinstance(stages, list) or not all(isinstance(s, str) for s in stages):
        out.append("stages: must be a list of stage names")
        return set(DEFAULT_STAGES)
    return set(stages) | IMPLICIT_STAGES


def _check_job(name: str, job: Mapping[str, Any]) -> Iterator[str]:
    for key in job:
        if key in DEPRECATED_JOB_KEYWORDS:
            yield f"{name}: {key!r} is deprecated (use rules)"
        elif key not in JOB_KEYWORDS:
            yield f"{name}: unknown job keyword {key!r}"
    yield from _check_nested(name, job)
    if "when" in job:
        yield from _value(f"{name}: when", job["when"], JOB_WHEN - {"never"})
    yield from _check_rules(f"{name}: rules", job.get("rules"), RULE_KEYWORDS, JOB_WHEN)
    if isinstance(job.get("variables"), Mapping):
        yield from _check_variables(f"{name}: variables", job["variables"],
                                    frozenset({"value", "expand"}))


def _check_nested(where: str, body: Mapping[str, Any]) -> Iterator[str]:
    """artifacts (and its reports) and cache, in a job or in `default`."""
    artifacts = body.get("artifacts")
    if artifacts is not None:
        if not isinstance(artifacts, Mapping):
            yield f"{where}: artifacts: must be a mapping"
        else:
            yield from _unknown(f"{where}: artifacts", artifacts, ARTIFACTS_KEYWORDS)
            if "when" in artifacts:
                yield from _value(f"{where}: artifacts: when", artifacts["when"], UPLOAD_WHEN)
            reports = artifacts.get("reports")
            if reports is not None:
                if isinstance(reports, Mapping):
                    yield from _unknown(f"{where}: artifacts: reports", reports,
                                        ARTIFACTS_REPORTS)
                else:
                    yield f"{where}: artifacts: reports: must be a mapping of report types"
    cache = body.get("cache")
    caches = cache if isinstance(cache, list) else [cache] if cache is not None else []
    for index, one in enumerate(caches):
        place = f"{where}: cache" + (f"[{index}]" if isinstance(cache, list) else "")
        if not isinstance(one, Mapping):
            yield f"{place}: must be a mapping"
            continue
        yield from _unknown(place, one, CACHE_KEYWORDS)
        if "when" in one:
            yield from _value(f"{place}: when", one["when"], UPLOAD_WHEN)
        if "policy" in one and not str(one["policy"]).startswith("$"):
            yield from _value(f"{place}: policy", one["policy"], CACHE_POLICIES)
        key = one.get("key")
        if isinstance(key, Mapping):
            yield from _unknown(f"{place}: key", key, CACHE_KEY_KEYWORDS)
        elif isinstance(key, str) and "/" in key:
            yield f"{place}: key: {key!r} may not contain '/'"


def _check_rules(where: str, rules: Any, allowed: frozenset[str],
                 when: frozenset[str]) -> Iterator[str]:
    if rules is None:
        return
    if not isinstance(rules, list):
        yield f"{where}: must be a list of rules"
        return
    for index, rule in enumerate(rules):
        place = f"{where}[{index}]"
        if not isinstance(rule, Mapping):
            yield f"{place}: a rule must be a mapping"
            continue
        yield from _unknown(place, rule, allowed)
        if not RULE_CONDITIONS & set(rule):
            yield f"{place}: needs at least one of {', '.join(sorted(RULE_CONDITIONS))}"
        if "when" in rule:
            yield from _value(f"{place}: when", rule["when"], when)
        if isinstance(rule.get("variables"), Mapping):
            yield from _check_variables(f"{place}: variables", rule["variables"], frozenset())


def _check_variables(where: str, variables: Mapping[str, Any],
                     allowed: frozenset[str]) -> Iterator[str]:
    for name, value in variables.items():
        if not VARIABLE_NAME.match(str(name)):
            yield f"{where}: {name!r} is not a variable name (letters, digits, _)"
        if isinstance(value, Mapping):
            if not allowed:
                yield f"{where}: {name}: must be a string"
            else:
                yield from _unknown(f"{where}: {name}", value, allowed)
                options = value.get("options")
                if options is not None and value.get("value") not in options:
                    yield f"{where}: {name}: value must be one of its options"
        elif not isinstance(value, str | int | float) or isinstance(value, bool):
            yield f"{where}: {name}: must be a string"


def _effective_jobs(jobs: Mapping[str, Any],
                    out: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each job with its `extends` merged in, as GitLab does (a reverse deep merge)."""
    for name, body in jobs.items():
        if isinstance(body, Mapping):
            yield name, _resolve(name, jobs, out, seen=())


def _resolve(name: str, jobs: Mapping[str, Any], out: list[str],
             seen: tuple[str, ...]) -> dict[str, Any]:
    body = jobs[name]
    parents = body.get("extends", [])
    merged: dict[str, Any] = {}
    for parent in [parents] if isinstance(parents, str) else parents:
        if parent in seen or parent == name:
            out.append(f"{name}: extends {parent!r} in a loop")
        elif not isinstance(jobs.get(parent), Mapping):
            out.append(f"{name}: extends {parent!r}, which is no job of the file")
        else:
            merged = _deep_merge(merged, _resolve(parent, jobs, out, (*seen, name)))
    own = {key: value for key, value in body.items() if key != "extends"}
    return _deep_merge(merged, own)


def _deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        below = merged.get(key)
        both_maps = isinstance(below, Mapping) and isinstance(value, Mapping)
        merged[key] = _deep_merge(below, value) if both_maps else value  # type: ignore[arg-type]
    return merged


def _check_runnable(name: str, job: Mapping[str, Any], stages: set[str],
                    jobs: Mapping[str, Any]) -> Iterator[str]:
    if not {"script", "run", "trigger"} & set(job):
        yield f"{name}: has none of script, run, trigger"
    stage = job.get("stage", "test")
    if stage not in stages:
        yield f"{name}: stage {stage!r} is not declared in stages"
    runnable = {other for other, body in jobs.items()
                if isinstance(body, Mapping) and not other.startswith(".")}
    for need in job.get("needs", []) or []:
        if isinstance(need, Mapping):
            yield from _unknown(f"{name}: needs", need, NEEDS_KEYWORDS)
            target = need.get("job")
            if "project" in need or "pipeline" in need:
                continue  # another project's or pipeline's job
        else:
            target = need
        if target not in runnable or target == name:
            yield f"{name}: needs {target!r}, which is no other job of the file"
    for dependency in job.get("dependencies", []) or []:
        if dependency not in runnable:
            yield f"{name}: dependencies names {dependency!r}, which is no job of the file"


def _unknown(where: str, body: Mapping[str, Any], allowed: frozenset[str]) -> Iterator[str]:
    for key in body:
        if key not in allowed:
            yield f"{where}: unknown keyword {key!r}"


def _value(where: str, value: Any, allowed: frozenset[str]) -> Iterator[str]:
    if value not in allowed:
        yield f"{where}: {value!r} is not one of {', '.join(sorted(allowed))}"
