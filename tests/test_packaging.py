"""Installs are reproducible: the lock files pin every dependency by hash, and every
installer (make run, make test, the Docker image) installs from them."""

from __future__ import annotations

import re
import subprocess
import tomllib

import pytest

from tests.helpers import ROOT

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\]+)", re.M)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    found = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert found, requirement
    return canonical(found.group(0))


def pins(lock: str) -> dict[str, str]:
    text = (ROOT / lock).read_text(encoding="utf-8")
    return {canonical(name): version for name, version in PIN.findall(text)}


def project() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        data = tomllib.load(f)
    project: dict[str, object] = data["project"]
    return project


@pytest.mark.parametrize(
    ("lock", "extras"),
    [("requirements.lock", ["postgres"]), ("requirements-dev.lock", ["postgres", "dev"])],
)
def test_lock_file_pins_every_declared_dependency_with_hashes(lock: str, extras: list[str]) -> None:
    data = project()
    optional = data["optional-dependencies"]
    assert isinstance(optional, dict)
    dependencies = data["dependencies"]
    assert isinstance(dependencies, list)
    declared = [*dependencies, *(r for extra in extras for r in optional[extra])]
    pinned = pins(lock)
    missing = sorted({requirement_name(r) for r in declared} - set(pinned))
    assert missing == [], f"{lock} lacks {missing}: run `make lock`"
    assert "setuptools" in pinned  # the build backend: newsmon installs without isolation
    text = (ROOT / lock).read_text(encoding="utf-8")
    for block in re.split(r"\n(?=[A-Za-z0-9])", text.split("\n\n", 1)[-1]):
        if PIN.match(block):
            assert "--hash=sha256:" in block, block.splitlines()[0]


def test_make_run_and_make_test_install_the_same_versions_of_what_they_share() -> None:
    run, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    differ = {name: (run[name], dev[name]) for name in run if dev.get(name) != run[name]}
    assert differ == {}


def test_make_run_installs_the_runtime_lock_without_the_dev_tools() -> None:
    plan = subprocess.run(
        ["make", "-n", "-B", "-f", "Makefile", ".venv/.installed-run"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout
    assert "pip install -q --require-hashes -r requirements.lock" in plan
    assert "--no-deps --no-build-isolation -e ." in plan
    assert "requirements-dev.lock" not in plan
    assert "[dev]" not in plan


def test_make_test_installs_the_dev_lock() -> None:
    plan = subprocess.run(
        ["make", "-n", "-B", "-f", "Makefile", ".venv/.installed-dev"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout
    assert "pip install -q --require-hashes -r requirements-dev.lock" in plan


def test_docker_image_installs_from_the_lock_with_hashes() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "COPY requirements.lock ./" in dockerfile
    assert "pip install --require-hashes -r requirements.lock" in dockerfile
    assert "pip install --no-deps --no-build-isolation ." in dockerfile
    # The build context is an allow-list: without this line the COPY above fails.
    assert "!requirements.lock" in (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
