"""Thin: registers the harness's fixture modules (see fixtures/), nothing else."""

pytest_plugins = [
    "fixtures.lab",
    "fixtures.matrix",
    "fixtures.devices",
    "fixtures.browser",
    "fixtures.reporting",
    "fixtures.records",
]
