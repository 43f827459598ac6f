"""Reproducible builds: the zip ships exactly the pinned set of requirements-lambda.txt."""

from __future__ import annotations

import re
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements-lambda.txt"
# What the Lambda Python runtime provides; shipping any of them would shadow its copy.
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "jmespath", "urllib3"}
# The Lambda runtime the zip is built for (serverless.yml: python3.12, arm64).
LAMBDA_MARKERS = {
    "python_version": "3.12",
    "python_full_version": "3.12.0",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "aarch64",
    "os_name": "posix",
    "extra": "",
}


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        assert match, f"{path.name}: not an exact pin: {line!r}"
        found[canonicalize_name(match.group(1))] = match.group(2)
    return found


@pytest.fixture(scope="session")
def shipped(zip_path) -> dict[str, dict]:
    """Every distribution in the zip: name -> {version, requires}."""
    found = {}
    with zipfile.ZipFile(zip_path) as archive:
        for name in archive.namelist():
            if re.fullmatch(r"[^/]+\.dist-info/METADATA", name):
                meta = Parser().parsestr(archive.read(name).decode())
                found[canonicalize_name(meta["Name"])] = {
                    "version": meta["Version"],
                    "requires": meta.get_all("Requires-Dist") or [],
                }
    return found


def test_every_shipped_distribution_is_pinned_at_its_version(shipped):
    lock = pins(LOCK)
    assert shipped, "no *.dist-info in the zip"
    for name, dist in shipped.items():
        assert name in lock, f"{name} {dist['version']} ships but is not pinned"
        assert Version(dist["version"]) == Version(lock[name]), (name, dist["version"])
    # ... and nothing pinned is missing from the zip.
    assert set(lock) == set(shipped)


def test_python_dateutil_is_the_pinned_2x_botocore_accepts(shipped):
    assert shipped["python-dateutil"]["version"] == "2.9.0.post0"


def test_nothing_the_runtime_provides_ships(shipped, zip_path):
    assert not RUNTIME_PROVIDED & set(shipped)
    with zipfile.ZipFile(zip_path) as archive:
        tops = {name.split("/", 1)[0] for name in archive.namelist()}
    assert not RUNTIME_PROVIDED & tops


def test_the_lock_is_closed_under_its_dependencies(shipped):
    """Each shipped distribution's requirements (for Python 3.12 on Linux arm64) are met by
    the zip itself or by the runtime, at versions its specifiers accept."""
    for name, dist in shipped.items():
        for raw in dist["requires"]:
            requirement = Requirement(raw)
            if requirement.marker and not requirement.marker.evaluate(LAMBDA_MARKERS):
                continue
            dependency = canonicalize_name(requirement.name)
            if dependency in RUNTIME_PROVIDED:
                continue
            assert dependency in shipped, f"{name} needs {raw}, which does not ship"
            version = shipped[dependency]["version"]
            assert requirement.specifier.contains(version, prereleases=True), (name, raw)


def test_lock_pins_equal_the_tested_requirements():
    """Tests and local runs use requirements.txt: the zip must hold the same versions."""
    tested = pins(ROOT / "requirements.txt")
    for name, version in pins(LOCK).items():
        assert tested.get(name) == version, (name, version, tested.get(name))


def test_the_build_installs_the_lock_without_resolving(service_state):
    config = service_state["custom"]["pythonRequirements"]
    assert config["fileName"] == "requirements-lambda.txt"
    assert "--no-deps" in config["pipCmdExtraArgs"]
    # The plugin's default noDeploy would drop python-dateutil and six from the lock.
    assert config["noDeploy"] == []
