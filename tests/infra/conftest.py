"""Fixtures for the deployment checks: the offline package and the scanners' venv.

Nothing here skips: without Node.js/npm or network to the package registries the
fixtures fail with the command's output, because an unverified deployment is a failure.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import package_offline  # noqa: E402

INFRA_VENV = ROOT / ".infra-venv"
INFRA_REQUIREMENTS = ROOT / "requirements-infra.txt"


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.infra)


@pytest.fixture(scope="session")
def packaged() -> Path:
    """Run `serverless package --stage ci` offline if .serverless/ is missing or stale."""
    try:
        package_offline.package()
    except subprocess.CalledProcessError as error:
        pytest.fail(f"serverless package failed:\n{error.stdout}\n{error.stderr}")
    return package_offline.OUT_DIR


@pytest.fixture(scope="session")
def snapstart_resources(tmp_path_factory) -> dict:
    """The template packaged with --param="snapStart=true" (a second, separate package)."""
    out_dir = tmp_path_factory.mktemp("snapstart-package")
    try:
        template = package_offline.package_into(out_dir, "--param=snapStart=true")
    except subprocess.CalledProcessError as error:
        pytest.fail(f"packaging with snapStart=true failed:\n{error.stdout}\n{error.stderr}")
    return json.loads(template.read_text())["Resources"]


@pytest.fixture(scope="session")
def template(packaged) -> dict:
    return json.loads(package_offline.TEMPLATE.read_text())


@pytest.fixture(scope="session")
def resources(template) -> dict:
    return template["Resources"]


@pytest.fixture(scope="session")
def service_state(packaged) -> dict:
    """The resolved serverless.yml as the framework saw it (plugin settings included)."""
    return json.loads((packaged / "serverless-state.json").read_text())["service"]


@pytest.fixture(scope="session")
def zip_path(packaged) -> Path:
    return package_offline.ZIP


@pytest.fixture(scope="session")
def unpacked(zip_path, tmp_path_factory) -> Path:
    """The zip unpacked, as Lambda lays it out in /var/task."""
    task = tmp_path_factory.mktemp("var-task")
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(task)
    return task


@pytest.fixture(scope="session")
def infra_bin() -> Path:
    """A venv with checkov and cfn-lint (their pins clash with the app's boto3 pin)."""
    wanted = hashlib.sha256(INFRA_REQUIREMENTS.read_bytes()).hexdigest()
    stamp = INFRA_VENV / ".requirements.sha256"
    bin_dir = INFRA_VENV / "bin"
    if not stamp.exists() or stamp.read_text().strip() != wanted:
        venv.EnvBuilder(with_pip=True, clear=True).create(INFRA_VENV)
        result = subprocess.run(
            [
                str(bin_dir / "python"),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "-q",
                "-r",
                str(INFRA_REQUIREMENTS),
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            pytest.fail(f"installing {INFRA_REQUIREMENTS.name} failed:\n{result.stderr}")
        stamp.write_text(wanted)
    return bin_dir
