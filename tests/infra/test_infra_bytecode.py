"""The zip ships byte code compiled by Python 3.12 for every module, and Lambda uses it.

/var/task is read-only, so byte code that is not in the zip is compiled again on every
cold start. scripts/lambda_bytecode.py (run by the serverless-bytecode plugin) adds an
unchecked-hash pyc beside each source; these tests read them back with Python 3.12, which
the build requires anyway.
"""

from __future__ import annotations

import json
import subprocess
import zipfile

import lambda_bytecode
import pytest
from test_infra_package import resolved_web_env

# CPython 3.12's magic number (3531), the same for every 3.12.x; 3.11 and 3.13 differ.
MAGIC_312 = (3531).to_bytes(2, "little") + b"\r\n"
FLAG_HASH_BASED = 0b01
REQUIRED_SOURCES = ("wsgi_handler.py", "webapp/__init__.py", "flask/app.py", "redis/client.py")

VERIFY = """
import importlib.util, json, marshal, sys, zipfile
archive = zipfile.ZipFile(sys.argv[1])
names = set(archive.namelist())
problems = []
for name in sorted(n for n in names if n.endswith(".py")):
    folder, _, file_name = name.rpartition("/")
    pyc = (folder + "/" if folder else "") + "__pycache__/" + file_name[:-3] + ".cpython-312.pyc"
    if pyc not in names:
        problems.append(f"{name}: no {pyc}")
        continue
    data = archive.read(pyc)
    if data[16:] and not isinstance(marshal.loads(data[16:]), type(compile("", "", "exec"))):
        problems.append(f"{pyc}: not a code object")
    if data[8:16] != importlib.util.source_hash(archive.read(name)):
        problems.append(f"{pyc}: compiled from another source than {name}")
print(json.dumps({"problems": problems, "magic": importlib.util.MAGIC_NUMBER.hex()}))
"""

# Imports the packaged handler (building the app, as Lambda's init does) and records every
# module that had to be compiled from source instead of loaded from the zip's byte code.
IMPORT_PROBE = """
import json, sys
import importlib._bootstrap_external as external
task = sys.argv[1]
sys.path.insert(0, task)
compiled = []
source_to_code = external.SourceLoader.source_to_code
def spy(self, data, path, *, _optimize=-1):
    compiled.append(path)
    return source_to_code(self, data, path, _optimize=_optimize)
external.SourceLoader.source_to_code = spy
import wsgi_handler
assert not isinstance(wsgi_handler.wsgi_app, Exception), wsgi_handler.wsgi_app
loaded = [getattr(m, "__file__", None) or "" for m in list(sys.modules.values())]
print(json.dumps({
    "compiled_from_task": [p for p in compiled if p.startswith(task)],
    "loaded_from_task": sum(1 for f in loaded if f.startswith(task)),
}))
"""


@pytest.fixture(scope="session")
def python312() -> str:
    try:
        return lambda_bytecode.find_python312()
    except lambda_bytecode.NoPython312Error as error:
        pytest.fail(str(error))


def test_every_module_has_unchecked_hash_python312_bytecode(zip_path):
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
        sources = sorted(n for n in names if n.endswith(".py"))
        assert len(sources) > 300  # the app, serverless-wsgi and the vendored requirements
        for required in REQUIRED_SOURCES:
            assert required in sources, required
        for name in sources:
            folder, _, file_name = name.rpartition("/")
            prefix = f"{folder}/" if folder else ""
            pyc = f"{prefix}__pycache__/{file_name.removesuffix('.py')}.cpython-312.pyc"
            assert pyc in names, f"{name} has no {pyc}"
            header = archive.read(pyc)[:16]
            assert header[:4] == MAGIC_312, (pyc, header[:4])
            flags = int.from_bytes(header[4:8], "little")
            assert flags == FLAG_HASH_BASED, (pyc, flags)  # hash-based, source never checked


def test_bytecode_matches_the_shipped_sources_under_python312(zip_path, python312):
    result = subprocess.run(
        [python312, "-I", "-c", VERIFY, str(zip_path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["magic"] == MAGIC_312.hex()
    assert out["problems"] == []


def test_packaged_handler_imports_without_compiling_anything(unpacked, resources, python312):
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_REGION": "us-east-1",
        "LAMBDA_TASK_ROOT": str(unpacked),
        "TZ": ":UTC",  # as Lambda sets it
        **resolved_web_env(resources),
    }
    # -I -S: only the standard library and the unpacked zip; -B: no byte code written.
    result = subprocess.run(
        [python312, "-I", "-S", "-B", "-c", IMPORT_PROBE, str(unpacked)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["loaded_from_task"] > 100
    assert out["compiled_from_task"] == []
