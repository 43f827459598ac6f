"""Add byte code compiled by Python 3.12 (the Lambda runtime's version) to a deployment zip.

    python scripts/lambda_bytecode.py .serverless/clinic-appointments.zip

Run by the local serverless plugin `scripts/serverless-bytecode.js` after the zip is built
(app code, serverless-wsgi's handler and the vendored requirements are all in it by then),
so `serverless package` and `serverless deploy` ship the same zip. Any Python can start
this script; the compiling is always done by a Python 3.12 found by `find_python312()`,
and the build fails when there is none: it never compiles with another version.

Why: Lambda's /var/task is read-only, so without byte code in the zip every cold start
compiles every module it imports from source. Each `x.py` gets
`__pycache__/x.cpython-312.pyc` next to it, with hash-based invalidation in the
UNCHECKED_HASH mode:
- timestamp pycs cannot work: a zip keeps file times to 2 s and Lambda unpacks with its
  own times, so the recorded source mtime would not match and the pyc would be ignored;
- CHECKED_HASH would read and hash every source file on each import, which is work a
  cold start does not need: the code in /var/task only changes through a new deployment,
  which brings its own freshly compiled files. UNCHECKED_HASH means the importer trusts
  the pyc without looking at the source (a source edited in place, e.g. in the Lambda
  console editor, would not take effect until the next build; deploy through this build).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

WANTED = (3, 12)
# The CPython 3.12 magic number (importlib.util.MAGIC_NUMBER), the same for every 3.12.x.
MAGIC_312 = (3531).to_bytes(2, "little") + b"\r\n"
PYC_SUFFIX = ".cpython-312.pyc"
# Where Lambda unpacks the zip: the file name recorded in code objects for tracebacks.
TASK_ROOT = "/var/task"
# Zip entries get one fixed time: the pycs are hash-based, so it carries no meaning, and
# the same input always gives the same zip.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class NoPython312Error(RuntimeError):
    pass


def _reports_312(python: str) -> bool:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print('{}.{}'.format(*sys.version_info[:2]))"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except OSError:
        return False
    return out.returncode == 0 and out.stdout.strip() == "{}.{}".format(*WANTED)


def find_python312() -> str:
    """A Python 3.12 interpreter: $PYTHON312, else pyenv's newest 3.12.x, else a working
    `python3.12` on PATH. Raises NoPython312Error (never returns another version)."""
    tried = []
    explicit = os.environ.get("PYTHON312")
    if explicit:
        if _reports_312(explicit):
            return explicit
        raise NoPython312Error(f"PYTHON312={explicit} is not a working Python 3.12")
    pyenv = shutil.which("pyenv")
    if pyenv:
        listed = subprocess.run(
            [pyenv, "versions", "--bare"], capture_output=True, text=True, check=False
        ).stdout.split()
        versions = sorted(
            (v for v in listed if v.count(".") == 2 and v.startswith("3.12.")),
            key=lambda v: int(v.split(".")[2]) if v.split(".")[2].isdigit() else -1,
        )
        for version in reversed(versions):
            prefix = subprocess.run(
                [pyenv, "prefix", version], capture_output=True, text=True, check=False
            ).stdout.strip()
            candidate = str(Path(prefix) / "bin" / "python3.12")
            if prefix and _reports_312(candidate):
                return candidate
            tried.append(f"pyenv {version}")
        if not versions:
            tried.append("pyenv (no 3.12.x installed)")
    on_path = shutil.which("python3.12")
    if on_path and _reports_312(on_path):
        return on_path
    tried.append("python3.12 on PATH" + (" (does not start)" if on_path else " (absent)"))
    raise NoPython312Error(
        "Python 3.12 (the Lambda runtime's version) is required and was not found; tried "
        + ", ".join(tried)
        + ". Install it (e.g. `pyenv install 3.12`) or set PYTHON312=/path/to/python3.12."
    )


def _compile_all(task: Path, sources: list[str]) -> dict[str, bytes]:
    """{zip name of the pyc: its bytes} for every source, compiled by this interpreter."""
    import py_compile

    mode = py_compile.PycInvalidationMode.UNCHECKED_HASH
    compiled = {}
    for name in sources:
        source = PurePosixPath(name)
        pyc_name = str(source.parent / "__pycache__" / (source.stem + PYC_SUFFIX))
        target = task / "__out__" / pyc_name
        py_compile.compile(
            str(task / name),
            cfile=str(target),
            dfile=f"{TASK_ROOT}/{name}",
            doraise=True,
            invalidation_mode=mode,
        )
        compiled[pyc_name.removeprefix("./")] = target.read_bytes()
    return compiled


def add_bytecode(zip_path: Path) -> int:
    """Rewrite zip_path with a 3.12 pyc beside each .py; returns how many were added.
    Must run under Python 3.12. Any byte code already in the zip is dropped first."""
    if sys.version_info[:2] != WANTED:
        raise NoPython312Error(f"add_bytecode runs under 3.12, not {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="bytecode-") as tmp:
        task = Path(tmp)
        with zipfile.ZipFile(zip_path) as archive:
            infos = [
                info
                for info in archive.infolist()
                if "__pycache__/" not in info.filename
                and not info.filename.endswith((".pyc", ".pyo"))
            ]
            sources = [i.filename for i in infos if i.filename.endswith(".py")]
            for name in sources:
                archive.extract(name, task)
            compiled = _compile_all(task, sources)
            rebuilt = zip_path.with_name(zip_path.name + ".tmp")
            with zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED) as out:
                for info in infos:
                    out.writestr(info, archive.read(info))
                for name in sorted(compiled):
                    entry = zipfile.ZipInfo(name, ZIP_TIME)
                    entry.compress_type = zipfile.ZIP_DEFLATED
                    entry.external_attr = 0o644 << 16
                    out.writestr(entry, compiled[name])
        os.replace(rebuilt, zip_path)
    return len(compiled)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("zips", nargs="+", type=Path, help="deployment zip(s) to rewrite")
    args = parser.parse_args(argv)
    if sys.version_info[:2] != WANTED:
        try:
            python = find_python312()
        except NoPython312Error as error:
            sys.stderr.write(f"error: {error}\n")
            return 2
        return subprocess.run([python, __file__, *map(str, args.zips)], check=False).returncode
    for zip_path in args.zips:
        count = add_bytecode(zip_path)
        size = zip_path.stat().st_size
        print(
            f"{zip_path.name}: {count} modules compiled by Python {sys.version.split()[0]}, "
            f"unchecked-hash pycs; zip {size / 2**20:.2f} MiB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
