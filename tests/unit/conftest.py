"""Fixtures for unit tests that talk to real external tools."""

import os
import shutil

import pytest


def _require(program: str, package: str) -> str:
    """Path of `program`; skip when missing locally, fail when missing in CI."""
    path = shutil.which(program)
    if path is not None:
        return path
    message = f"{program} is not installed (apt-get install -y {package})"
    if "CI" in os.environ:
        pytest.fail(f"{message}; it is required when CI is set")
    pytest.skip(f"{message}; set CI to turn this skip into a failure")


@pytest.fixture
def oathtool() -> str:
    """Path of Debian's oathtool (package oathtool)."""
    return _require("oathtool", "oathtool")


@pytest.fixture
def zbarimg() -> str:
    """Path of zbarimg (package zbar-tools)."""
    return _require("zbarimg", "zbar-tools")
