"""Run one deployed function's handler from the unpacked zip, in a fresh interpreter.

    python -I -S -B invoke_rehearsal.py TASK_DIR DEV_SITE HANDLER  < plan.json

TASK_DIR is the unpacked zip (/var/task); DEV_SITE is appended after it only for what the
Lambda runtime provides (boto3/botocore). The environment is the function's own, with
AWS_ENDPOINT_URL pointing at the rehearsal's moto server. The plan (JSON on stdin) holds
`cli`: [[args, input], ...] operator commands run through the packaged app first (web
function only), and `events`: handler events. Prints one JSON line: the CLI results
([exit code, output] each) followed by the handler's return values.
"""

from __future__ import annotations

import importlib
import json
import sys

task_dir, dev_site, handler_name = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, task_dir)
sys.path.append(dev_site)


class Context:
    """The bits of the Lambda context object handlers use."""

    function_name = "rehearsal"
    aws_request_id = "rehearsal-request"
    memory_limit_in_mb = 256

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


plan = json.loads(sys.stdin.read())
results = []
if plan.get("cli"):
    from webapp.wsgi import app

    runner = app.test_cli_runner()
    for args, stdin in plan["cli"]:
        outcome = runner.invoke(args=args, input=stdin)
        results.append([outcome.exit_code, outcome.output[-2000:]])

module_name, _, function_name = handler_name.rpartition(".")
handler = getattr(importlib.import_module(module_name), function_name)
for event in plan.get("events", []):
    results.append(handler(event, Context()))
print(json.dumps(results, default=str))
