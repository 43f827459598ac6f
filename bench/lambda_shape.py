"""What a Lambda cold start looks like, rebuilt on this machine for bench/cold_start.py.

- the deployment zip unpacked into a task directory made read-only (Lambda's /var/task);
- Python 3.12 (the runtime's version), found by scripts/lambda_bytecode.find_python312
  (PYTHON312, else pyenv, else python3.12 on PATH; never another version);
- boto3 and botocore from a separate "runtime" directory after the task directory on
  sys.path, installed with Python 3.12 and compiled ahead, as the Lambda runtime ships
  them (cached in the system temp directory between runs);
- PYTHONDONTWRITEBYTECODE=1: nothing is compiled into the task directory during a run;
- Redis over TLS, as ElastiCache is deployed: a redis-server of the bench's own with a
  throw-away CA and server certificate made by openssl;
- the baseline: a minimal Lambda with the seed's design (module-level `import boto3,
  redis`, Scan with a filter on a miss), its redis-py in its own task directory WITHOUT
  byte code, as its zip would have been built.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import resource
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from lambda_bytecode import NoPython312Error, find_python312  # noqa: E402

__all__ = ["NoPython312Error", "find_python312"]

# What the Lambda runtime provides beside the task directory (serverless.yml's noDeploy).
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six")


def python_version(python: str) -> str:
    return subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def pinned(name: str) -> str | None:
    """The version requirements.txt pins for `name`, if any."""
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        match = re.match(rf"^{re.escape(name)}==([^\s#]+)", line.strip(), flags=re.I)
        if match:
            return match.group(1)
    return None


def _pip_target(python: str, target: Path, requirements: list[str], *extra: str) -> None:
    result = subprocess.run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
            "--only-binary=:all:",
            "--target",
            str(target),
            *extra,
            *requirements,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"pip install {' '.join(requirements)} failed:\n{result.stderr}")


def _cached_dir(kind: str, key: str, build) -> Path:
    """A directory built once by `build(path)` and kept in the temp dir under a content key."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    final = Path(tempfile.gettempdir()) / f"clinic-bench-{kind}-{digest}"
    if (final / ".complete").exists():
        return final
    staging = Path(tempfile.mkdtemp(prefix=f"clinic-bench-{kind}-"))
    try:
        build(staging)
        (staging / ".complete").write_text(key)
        if final.exists():
            shutil.rmtree(final)
        staging.rename(final)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return final


def runtime_dir(python: str, boto3_version: str | None = None) -> Path:
    """boto3/botocore for Python 3.12, compiled ahead like the Lambda runtime's copy.

    The runtime's exact boto3 depends on the region and the runtime release (read it from
    `boto3.__version__` in a deployed function); by default the version requirements.txt
    pins, which tests run against."""
    boto3_version = boto3_version or pinned("boto3")
    botocore_version = None if boto3_version != pinned("boto3") else pinned("botocore")
    requirements = [f"boto3=={boto3_version}"]
    if botocore_version:
        requirements.append(f"botocore=={botocore_version}")
    key = f"{python}|{requirements}"

    def build(path: Path) -> None:
        _pip_target(python, path, requirements, "--no-compile")
        result = subprocess.run(
            [python, "-m", "compileall", "-q", "-j", "0", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"compileall of the runtime directory failed:\n{result.stdout}")

    return _cached_dir("lambda-runtime", key, build)


BASELINE_HANDLER = '''\
"""The seed's design: GetBookingSlotLambda with its Redis cache (a minimal Lambda)."""
import json
import os

import boto3
import redis

TABLE_NAME = os.environ["TABLE_NAME"]
CACHE_KEY = os.environ.get("CACHE_KEY", "available_slots")
CACHE_TTL_SECONDS = int(os.environ.get("CACHE_TTL_SECONDS", "30"))

dynamodb = boto3.resource(
    "dynamodb",
    region_name=os.environ.get("AWS_REGION", "us-east-1"),
    # The bench's local DynamoDB; in AWS this variable is unset (the regional endpoint).
    endpoint_url=os.environ.get("DYNAMODB_ENDPOINT_URL") or None,
)
table = dynamodb.Table(TABLE_NAME)
cache = redis.Redis(
    host=os.environ["REDIS_HOST"],
    port=int(os.environ.get("REDIS_PORT", "6379")),
    ssl=os.environ.get("REDIS_TLS", "true") == "true",
    socket_connect_timeout=2,
    socket_timeout=2,
    decode_responses=True,
)

HEADERS = {"Content-Type": "application/json", "Access-Control-Allow-Origin": "*"}


def lambda_handler(event, context):
    cached = cache.get(CACHE_KEY)
    if cached is not None:
        return {"statusCode": 200, "headers": {**HEADERS, "X-Cache": "HIT"}, "body": cached}
    items, kwargs = [], {"FilterExpression": "#s = :available"}
    kwargs["ExpressionAttributeNames"] = {"#s": "status"}
    kwargs["ExpressionAttributeValues"] = {":available": "AVAILABLE"}
    while True:
        page = table.scan(**kwargs)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    slots = sorted(
        (
            {
                "appointmentId": item["appointmentId"],
                "appointmentDate": item["appointmentDate"],
                "appointmentTime": item["appointmentTime"],
                "status": item["status"],
            }
            for item in items
        ),
        key=lambda slot: (slot["appointmentDate"], slot["appointmentTime"]),
    )
    body = json.dumps(slots)
    cache.set(CACHE_KEY, body, ex=CACHE_TTL_SECONDS)
    return {"statusCode": 200, "headers": {**HEADERS, "X-Cache": "MISS"}, "body": body}
'''


def baseline_task_dir(python: str) -> Path:
    """lambda_function.py + redis-py (the version the app pins) without byte code."""
    redis_version = pinned("redis")
    key = f"{python}|redis=={redis_version}|{hashlib.sha256(BASELINE_HANDLER.encode()).hexdigest()}"

    def build(path: Path) -> None:
        _pip_target(python, path, [f"redis=={redis_version}"], "--no-compile", "--no-deps")
        (path / "lambda_function.py").write_text(BASELINE_HANDLER)

    task = _cached_dir("baseline-task", key, build)
    assert_no_bytecode(task)
    return task


def assert_no_bytecode(task: Path) -> None:
    found = [p for p in task.rglob("*.pyc")]
    if found:
        raise RuntimeError(f"{task} holds byte code ({found[0]}); the baseline ships none")


def unpack_task(zip_path: Path, into: Path) -> Path:
    into.mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(into)
    return into


def make_read_only(top: Path) -> None:
    """Files r--, folders r-x (Lambda's /var/task). Root ignores the modes, so the bench
    also runs with PYTHONDONTWRITEBYTECODE=1 and checks the tree after the runs."""
    for path in [top, *top.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def make_writable(top: Path) -> None:
    for path in [top, *top.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


def tree_listing(top: Path) -> set[str]:
    return {str(p.relative_to(top)) for p in top.rglob("*")}


# -- Lambda's CPU share -------------------------------------------------------------------------
# Lambda gives a function CPU in proportion to its memory: 1,769 MB is one vCPU's worth.
MB_PER_VCPU = 1769


@contextlib.contextmanager
def cpu_share(memory_mb: int | None) -> Iterator[Callable[[], None] | None]:
    """A CFS quota of memory_mb / 1769 of one CPU, as a cgroup the children join: yields a
    preexec_fn for subprocess (None when memory_mb is None). Needs root and the cgroup v1
    `cpu` controller or cgroup v2; raises RuntimeError otherwise (only a rough emulation:
    Lambda's vCPU is not this machine's core)."""
    if memory_mb is None:
        yield None
        return
    fraction = memory_mb / MB_PER_VCPU
    period = 100_000
    quota = max(1_000, round(period * fraction))
    v1 = Path("/sys/fs/cgroup/cpu")
    v2 = Path("/sys/fs/cgroup")
    name = f"clinic-bench-{os.getpid()}"
    try:
        if (v1 / "cpu.cfs_quota_us").exists():
            group = v1 / name
            group.mkdir()
            (group / "cpu.cfs_period_us").write_text(str(period))
            (group / "cpu.cfs_quota_us").write_text(str(quota))
        elif (v2 / "cgroup.controllers").exists():
            group = v2 / name
            group.mkdir()
            (group / "cpu.max").write_text(f"{quota} {period}")
        else:
            raise OSError("no cgroup cpu controller found")
    except OSError as error:
        raise RuntimeError(
            f"cannot limit the CPU share for --memory ({error}); run as root "
            "on a machine with the cgroup cpu controller"
        ) from None
    procs = str(group / "cgroup.procs")

    def join() -> None:
        with open(procs, "w") as f:
            f.write(str(os.getpid()))

    try:
        yield join
    finally:
        for _ in range(50):
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.1)


# -- Redis with TLS --------------------------------------------------------------------------
def _openssl(*args: str, cwd: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("openssl is required to make the bench's TLS certificate")
    result = subprocess.run([openssl, *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed:\n{result.stderr}")


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for 127.0.0.1 / localhost signed by it."""
    days = "2"
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", days,
        "-subj", "/CN=clinic bench CA", "-keyout", "ca.key", "-out", "ca.pem",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=folder,
    )  # fmt: skip
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", "server.key", "-out", "server.csr",
        cwd=folder,
    )  # fmt: skip
    (folder / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
    )
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", days, "-out", "server.pem", "-extfile", "server.ext",
        cwd=folder,
    )  # fmt: skip
    return folder / "ca.pem", folder / "server.pem", folder / "server.key"


@contextlib.contextmanager
def tls_redis() -> Iterator[tuple[int, Path]]:
    """A redis-server of our own that speaks only TLS, on a free port: yields (port, CA)."""
    from localdev.services import free_port, wait_for_port
    from localdev.stack import redis_server_binary

    with tempfile.TemporaryDirectory(prefix="clinic-bench-tls-") as tmp:
        folder = Path(tmp)
        ca, cert, key = make_certificates(folder)
        port = free_port()
        log = folder / "redis.log"
        process = subprocess.Popen(
            [
                redis_server_binary(),
                "--port", "0",
                "--tls-port", str(port),
                "--tls-cert-file", str(cert),
                "--tls-key-file", str(key),
                "--tls-ca-cert-file", str(ca),
                "--tls-auth-clients", "no",
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--logfile", str(log),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            try:
                wait_for_port("127.0.0.1", port, timeout=10)
            except RuntimeError:
                text = log.read_text() if log.exists() else ""
                raise RuntimeError(
                    "redis-server did not start with TLS (Debian's redis-server is built with "
                    f"TLS; a build without it rejects --tls-port):\n{text[-2000:]}"
                ) from None
            yield port, ca
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def tls_client(port: int, ca: Path):
    import redis

    return redis.Redis(
        host="127.0.0.1", port=port, ssl=True, ssl_ca_certs=str(ca), socket_timeout=5
    )


# -- the fresh process ---------------------------------------------------------------------
# Runs in each fresh Python 3.12 process (`python3.12 -S -c CHILD ...`): lays out sys.path as
# Lambda does (task directory, then the runtime's directory, then the standard library),
# imports the handler module (Lambda's init), calls the handler once with the event.
CHILD = r"""
import sys, time
started = time.monotonic()
preloaded = set(sys.modules)
import json, os
task, runtime, handler_spec, event_file = sys.argv[1:5]
sys.path[:] = [task, runtime] + [p for p in sys.path[1:] if p]
module_name, _, function_name = handler_spec.rpartition(".")
import importlib
module = importlib.import_module(module_name)
handler = getattr(module, function_name)
imported = time.monotonic()
with open(event_file) as f:
    event = json.load(f)


class LambdaContext:
    function_name = "clinic-web"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:clinic-web"
    memory_limit_in_mb = 1024
    aws_request_id = "c0ffee00-0000-4000-8000-000000000000"
    log_group_name = "/aws/lambda/clinic-web"
    log_stream_name = "2030/01/01/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self):
        return 10_000


response = handler(event, LambdaContext())
responded = time.monotonic()
headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
for k, v in (response.get("multiValueHeaders") or {}).items():
    headers[k.lower()] = v[0]
body = json.loads(response["body"]) if response.get("body") else None
new = sorted(set(sys.modules) - preloaded)
stdlib = set(sys.stdlib_module_names) | {"__mp_main__"}
stdlib |= {n for n in new if n.startswith("_sysconfigdata")}
print(json.dumps({
    "started": started,
    "responded": responded,
    "import_ms": (imported - started) * 1000,
    "request_ms": (responded - imported) * 1000,
    "status": response.get("statusCode"),
    "x_cache": headers.get("x-cache"),
    "slots": len(body) if isinstance(body, list) else None,
    "modules": len(new),
    "packages": sorted({n.split(".")[0] for n in new if n.split(".")[0] not in stdlib}),
    "stdlib_modules": sum(1 for n in new if n.split(".")[0] in stdlib),
    "botocore": "botocore" in sys.modules,
    "files": {n: getattr(sys.modules.get(n), "__file__", None) for n in ("redis", "botocore")},
}))
"""


def http_api_event(path: str = "/appointment-slot", query: str = "") -> dict:
    """An API Gateway HTTP API (payload format 2.0) event, as the $default stage sends it."""
    host = "abc123defg.execute-api.us-east-1.amazonaws.com"
    return {
        "version": "2.0",
        "routeKey": "ANY /{proxy+}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {
            "accept": "application/json",
            "accept-encoding": "gzip, deflate, br",
            "host": host,
            "origin": "https://d111111abcdef8.cloudfront.net",
            "user-agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
            "x-amzn-trace-id": "Root=1-66a1b2c3-0123456789abcdef01234567",
            "x-forwarded-for": "203.0.113.7",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123defg",
            "domainName": host,
            "domainPrefix": "abc123defg",
            "http": {
                "method": "GET",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
            },
            "requestId": "c0ffee00-0000-4000-8000-000000000001",
            "routeKey": "ANY /{proxy+}",
            "stage": "$default",
            "time": "01/Jan/2030:00:00:00 +0000",
            "timeEpoch": 1893456000000,
        },
        "isBase64Encoded": False,
    }


def write_event(folder: Path) -> Path:
    path = folder / "event.json"
    path.write_text(json.dumps(http_api_event()))
    return path


def run_cold_start(
    python: str,
    task: Path,
    runtime: Path,
    handler: str,
    event_file: Path,
    env: dict[str, str],
    *flags: str,
    preexec: Callable[[], None] | None = None,
) -> tuple[dict, str]:
    """One fresh process; returns (the child's figures + process_ms, its stderr).

    process_ms: from just before the spawn to the response (CLOCK_MONOTONIC, one clock
    for every process on the machine); cpu_ms: the CPU time (user + system) the whole
    process used, which other load on the machine inflates far less than wall time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    spawned = time.monotonic()
    process = subprocess.run(
        [python, "-S", *flags, "-c", CHILD, str(task), str(runtime), handler, str(event_file)],
        env=env,
        cwd=task,
        preexec_fn=preexec,  # only joins a cgroup
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if process.returncode != 0:
        raise RuntimeError(f"cold start of {handler} failed:\n{process.stderr[-4000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(process.stdout.strip().splitlines()[-1])
    result["process_ms"] = (result["responded"] - spawned) * 1000
    result["cpu_ms"] = 1000 * (
        (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    )
    return result, process.stderr


def base_env(ca: Path, task: Path) -> dict[str, str]:
    env = {key: os.environ[key] for key in ("LANG",) if key in os.environ}
    env.update(
        PATH="/usr/bin:/bin",
        TZ=":UTC",  # as Lambda sets it
        PYTHONDONTWRITEBYTECODE="1",
        # The bench's CA: Python's default SSL context (which redis-py uses when no CA is
        # configured) loads the file named here. ElastiCache's certificates chain to a
        # public CA, so the deployed function needs no such variable.
        SSL_CERT_FILE=str(ca),
        LAMBDA_TASK_ROOT=str(task),
        AWS_LAMBDA_FUNCTION_NAME="clinic-web",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="1024",
        AWS_EXECUTION_ENV="AWS_Lambda_python3.12",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",  # noqa: S106
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
    )
    return env
