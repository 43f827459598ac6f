"""Deploy rehearsal: the packaged stack created on moto's CloudFormation, then used.

The deploy is replayed the way `serverless deploy` does it: the core stack (the deployment
bucket) first, the zip uploaded into it, then the full template as a stack update. Types
moto lacks are replaced by stand-ins (rehearsal.STAND_INS, each with its reason); every
other resource must be created. moto runs as a local server (127.0.0.1) so the unpacked
zip's handlers, each in a fresh interpreter, work against the resources the stack made.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import sysconfig
import zipfile
from base64 import b64encode
from pathlib import Path

import pytest
import rehearsal

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
STACK = "clinic-appointments-ci"
SECRET_KEY = "rehearsal-secret-key-" + "k" * 40
STAFF_EMAIL = "frontdesk@example.com"
STAFF_PASSWORD = "rehearsal password 1"
PATIENT_EMAIL = "ada@example.com"
WAITING_EMAIL = "grace@example.com"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
# Not the defaults: the optional resources and the no-cache path.
VARIANT_PARAMETERS = {
    "Cache": "false",
    "AlarmEmail": "ops@example.com",
    "PublicBaseUrl": "https://book.clinic.example",
    "WafRateLimit": "500",
    "ExistingSecretArn": f"arn:aws:secretsmanager:us-east-1:{rehearsal.ACCOUNT}:secret:kept-AbCdEf",
}


@pytest.fixture(scope="module")
def moto_server():
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def aws(moto_server, monkeypatch):
    """boto3 clients against a freshly reset moto server."""
    import boto3
    import requests

    requests.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": rehearsal.REGION,
    }.items():
        monkeypatch.setenv(name, value)
    session = boto3.session.Session(region_name=rehearsal.REGION)

    def client(service: str):
        return session.client(service, endpoint_url=moto_server)

    return client


def deploy(aws, packaged_dir: Path, parameters: dict[str, str] | None = None) -> dict:
    """Replay `serverless deploy` on moto; returns the transformed template."""
    cfn, s3 = aws("cloudformation"), aws("s3")
    core = json.loads((packaged_dir / "cloudformation-template-create-stack.json").read_text())
    cfn.create_stack(StackName=STACK, TemplateBody=json.dumps(rehearsal.stand_in(core)[0]))
    (stack,) = cfn.describe_stacks(StackName=STACK)["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    bucket = outputs["ServerlessDeploymentBucketName"]

    template = json.loads((packaged_dir / "cloudformation-template-update-stack.json").read_text())
    code = template["Resources"]["WebLambdaFunction"]["Properties"]["Code"]
    s3.upload_file(str(packaged_dir / "clinic-appointments.zip"), bucket, code["S3Key"])
    transformed = rehearsal.moto_quirks(rehearsal.stand_in(template)[0])
    template_key = code["S3Key"].rsplit("/", 1)[0] + "/compiled-cloudformation-template.json"
    s3.put_object(Bucket=bucket, Key=template_key, Body=json.dumps(transformed).encode())
    cfn.update_stack(
        StackName=STACK,
        TemplateURL=f"https://{bucket}.s3.amazonaws.com/{template_key}",
        Capabilities=CAPABILITIES,
        Parameters=[
            {"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()
        ],
    )
    return transformed


def active(template: dict, parameters: dict[str, str]) -> set[str]:
    """Logical ids whose condition holds for these parameter values."""
    values = {k: str(p.get("Default", "")) for k, p in template["Parameters"].items()}
    values.update(parameters)
    conditions = {
        "UseCache": values["Cache"] == "true",
        "HasAlarmEmail": values["AlarmEmail"] != "",
        "HasPublicBaseUrl": values["PublicBaseUrl"] != "",
        "CreateAppSecret": values["ExistingSecretArn"] == "",
        "UseWaf": values["WafRateLimit"] != "0",
    }
    assert set(conditions) == set(template["Conditions"])
    return {
        lid for lid, r in template["Resources"].items() if conditions.get(r.get("Condition"), True)
    }


def test_stand_ins_are_exactly_the_types_moto_lacks(template):
    types = {r["Type"] for r in template["Resources"].values()}
    lacking = types - rehearsal.moto_supported_types()
    assert lacking == set(rehearsal.STAND_INS), (
        "update rehearsal.STAND_INS: "
        f"new {sorted(lacking - set(rehearsal.STAND_INS))}, "
        f"no longer needed {sorted(set(rehearsal.STAND_INS) - lacking)}"
    )


@pytest.mark.parametrize(
    "parameters", [{}, VARIANT_PARAMETERS], ids=["defaults", "no-cache-waf-alarm-email"]
)
def test_stack_creates_on_moto(aws, packaged, template, parameters):
    transformed = deploy(aws, packaged, parameters)
    cfn = aws("cloudformation")
    (stack,) = cfn.describe_stacks(StackName=STACK)["Stacks"]
    assert stack["StackStatus"] == "UPDATE_COMPLETE", stack.get("StackStatusReason")
    # moto's update path also lists one summary with empty ids; it stands for no resource.
    listed = [
        r
        for r in cfn.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
        if r["LogicalResourceId"]
    ]
    status = {r["LogicalResourceId"]: r["ResourceStatus"] for r in listed}
    expected = active(transformed, parameters)
    assert set(status) == expected, (
        f"missing {sorted(expected - set(status))}, unexpected {sorted(set(status) - expected)}"
    )
    failed = {
        lid: s for lid, s in status.items() if s not in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    }
    assert not failed, failed
    real = {
        lid for lid in expected if transformed["Resources"][lid]["Type"] != "AWS::SSM::Parameter"
    }
    print(
        f"rehearsal: {len(real)} resources created by moto, {len(expected) - len(real)} stand-ins"
    )

    # The resources behave as wired, not just exist.
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in listed}
    table = aws("dynamodb").describe_table(TableName=physical["AppointmentsTable"])["Table"]
    assert table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    awslambda = aws("lambda")
    functions = {f["FunctionName"]: f for f in awslambda.list_functions()["Functions"]}
    assert {f"{STACK}-{n}" for n in ("web", "notifier", "reminders", "bounces")} <= set(functions)
    web = functions[f"{STACK}-web"]
    if parameters.get("Cache") == "false":
        assert not web.get("VpcConfig", {}).get("SubnetIds")
        assert "REDIS_HOST" not in web["Environment"]["Variables"]
        assert web["Environment"]["Variables"]["PUBLIC_BASE_URL"] == "https://book.clinic.example"
    else:
        assert len(web["VpcConfig"]["SubnetIds"]) == 2
        assert web["Environment"]["Variables"]["PUBLIC_BASE_URL"] == rehearsal.FAKE_API_ENDPOINT
    (mapping,) = notifier_mappings(awslambda)
    assert mapping["EventSourceArn"] == table["LatestStreamArn"]
    assert mapping["FilterCriteria"]["Filters"]


def notifier_mappings(awslambda) -> list[dict]:
    return [
        m
        for m in awslambda.list_event_source_mappings()["EventSourceMappings"]
        if m["FunctionArn"].endswith(f":function:{STACK}-notifier")
    ]


# -- second part: the zip's handlers against what the stack created ----------------------
def api_event(method: str, path: str, body: dict | None = None, headers: dict | None = None):
    raw = json.dumps(body) if body is not None else ""
    return {
        "version": "2.0",
        "routeKey": "ANY /{proxy+}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "host": f"{rehearsal.FAKE_API_ID}.execute-api.us-east-1.amazonaws.com",
            "x-forwarded-proto": "https",
            "x-forwarded-port": "443",
            "user-agent": "deploy-rehearsal",
            **({"content-type": "application/json"} if body is not None else {}),
            **(headers or {}),
        },
        "requestContext": {
            "accountId": rehearsal.ACCOUNT,
            "apiId": rehearsal.FAKE_API_ID,
            "domainName": f"{rehearsal.FAKE_API_ID}.execute-api.us-east-1.amazonaws.com",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.9",
                "userAgent": "deploy-rehearsal",
            },
            "requestId": "rehearsal",
            "routeKey": "ANY /{proxy+}",
            "stage": "$default",
            "timeEpoch": 1795597200000,
        },
        "body": raw,
        "isBase64Encoded": False,
    }


class Functions:
    """Runs a deployed function's handler from the unpacked zip in a fresh interpreter,
    with the environment moto's Lambda holds for it (the stack's resolved values)."""

    def __init__(self, aws, endpoint: str, task_dir: Path):
        self.awslambda = aws("lambda")
        self.endpoint = endpoint
        self.task_dir = task_dir

    def run(self, name: str, plan: dict) -> list:
        config = self.awslambda.get_function_configuration(FunctionName=f"{STACK}-{name}")
        env = dict(config["Environment"]["Variables"])
        # Dynamic references are resolved by CloudFormation at deploy time, not by moto.
        assert env["SECRET_KEY"].startswith("{{resolve:secretsmanager:")
        env["SECRET_KEY"] = SECRET_KEY
        # The cache is a stand-in: no Redis here, the app bypasses it.
        for key in ("REDIS_HOST", "REDIS_PORT", "REDIS_TLS"):
            env.pop(key, None)
        env.update(
            PATH=os.environ.get("PATH", ""),
            AWS_REGION=rehearsal.REGION,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_ENDPOINT_URL=self.endpoint,
            LAMBDA_TASK_ROOT=str(self.task_dir),
            TZ=":UTC",  # as Lambda sets it
            AWS_LAMBDA_FUNCTION_NAME=config["FunctionName"],
        )
        result = subprocess.run(
            [
                sys.executable,
                "-I",
                "-S",
                "-B",
                str(HERE / "invoke_rehearsal.py"),
                str(self.task_dir),
                sysconfig.get_paths()["purelib"],
                config["Handler"],
            ],
            input=json.dumps(plan),
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, result.stderr[-4000:]
        return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def stream(monkeypatch):
    """Stands in for Lambda's stream poller: every record moto's table stream produces,
    with the source mapping it would be delivered to."""
    from moto.awslambda.models import LambdaFunction

    delivered: list[dict] = []

    def capture(self, body, request_headers, response_headers):
        delivered.extend(json.loads(body)["Records"])
        return "captured"

    monkeypatch.setattr(LambdaFunction, "invoke", capture)
    return delivered


def test_packaged_handlers_run_against_the_rehearsed_stack(
    aws, moto_server, packaged, stream, tmp_path
):
    for module in ("wsgi.py", "notifications/worker.py", "notifications/bounces.py"):
        assert (ROOT / "webapp" / module).exists(), (
            f"webapp/{module} (a handler the template names) comes with the webapp/ "
            "restructuring; until it lands the packaged handlers cannot run"
        )
    deploy(aws, packaged)
    task = tmp_path / "var-task"
    with zipfile.ZipFile(packaged / "clinic-appointments.zip") as archive:
        archive.extractall(task)
    functions = Functions(aws, moto_server, task)
    awslambda = aws("lambda")
    (mapping,) = notifier_mappings(awslambda)
    notifier_env = awslambda.get_function_configuration(FunctionName=f"{STACK}-notifier")[
        "Environment"
    ]["Variables"]
    # SES: the sender verified (as docs/deploy.md asks), the configuration set a stand-in.
    ses = aws("ses")
    ses.verify_email_identity(EmailAddress=notifier_env["MAIL_FROM"])
    ses.create_configuration_set(ConfigurationSet={"Name": notifier_env["SES_CONFIGURATION_SET"]})

    def deliver_to_notifier() -> list:
        """What the stream filter lets through since the last call, as one batch."""
        batch = [r for r in stream if rehearsal.passes_filters(mapping["FilterCriteria"], r)]
        stream.clear()
        if not batch:
            return []
        (response,) = functions.run("notifier", {"events": [{"Records": batch}]})
        assert response == {"batchItemFailures": []}, response
        return batch

    # Operator commands (docs/deploy.md) through the packaged app, then list and book.
    staff_auth = "Basic " + b64encode(f"{STAFF_EMAIL}:{STAFF_PASSWORD}".encode()).decode()
    web = functions.run(
        "web",
        {
            "cli": [
                [["populate-slots", "--days", "3", "--times", "09:00"], ""],
                [["create-staff", STAFF_EMAIL, "--password-stdin"], STAFF_PASSWORD + "\n"],
            ],
            "events": [api_event("GET", "/appointment-slot")],
        },
    )
    cli_results, (listing,) = web[:2], web[2:]
    assert all(code == 0 for code, _ in cli_results), cli_results
    assert listing["statusCode"] == 200, listing
    slots = json.loads(listing["body"])
    assert slots and all(s["status"] == "AVAILABLE" for s in slots)
    slot_id = slots[0]["appointmentId"]
    # New slots are INSERTs of open times: the filter lets them through (a waitlist may be
    # waiting for them; nobody is yet, so nothing is sent). The staff account's it keeps out.
    added = deliver_to_notifier()
    assert added and all(
        r["eventName"] == "INSERT" and r["dynamodb"]["NewImage"]["status"] == {"S": "AVAILABLE"}
        for r in added
    ), added
    from moto.ses.models import ses_backends

    sent = ses_backends[rehearsal.ACCOUNT][rehearsal.REGION].sent_messages
    assert sent == []

    # Someone joins the waitlist for that day: the new entry reaches the notifier, which
    # sends the one "you are on the waitlist" email.
    (joined,) = functions.run(
        "web",
        {
            "events": [
                api_event(
                    "POST",
                    "/join-waitlist",
                    {
                        "patientName": "Grace",
                        "patientEmail": WAITING_EMAIL,
                        "fromDate": slots[0]["appointmentDate"],
                        "toDate": slots[0]["appointmentDate"],
                    },
                )
            ]
        },
    )
    assert joined["statusCode"] == 201, joined
    (entry,) = deliver_to_notifier()
    assert entry["dynamodb"]["NewImage"]["status"] == {"S": "WAITLISTED"}
    assert [d for m in sent for d in m.destinations] == [WAITING_EMAIL]

    (booked,) = functions.run(
        "web",
        {
            "events": [
                api_event(
                    "POST",
                    "/book-appointment",
                    {"appointmentId": slot_id, "patientName": "Ada", "patientEmail": PATIENT_EMAIL},
                )
            ]
        },
    )
    assert booked["statusCode"] in (200, 201), booked
    assert json.loads(booked["body"])["status"] == "PENDING"
    (booking,) = deliver_to_notifier()
    assert booking["eventName"] == "MODIFY"

    (accepted,) = functions.run(
        "web",
        {
            "events": [
                api_event(
                    "POST",
                    f"/api/staff/appointments/{slot_id}/accept",
                    {},
                    {"authorization": staff_auth},
                )
            ]
        },
    )
    assert accepted["statusCode"] == 200, accepted
    (decision,) = deliver_to_notifier()
    assert decision["dynamodb"]["NewImage"]["status"] == {"S": "ACCEPTED"}

    recipients = sorted(d for m in sent for d in m.destinations)
    assert recipients == sorted(
        [WAITING_EMAIL, PATIENT_EMAIL, notifier_env["STAFF_NOTIFY_EMAIL"], PATIENT_EMAIL]
    ), recipients
    assert "text/calendar" in sent[-1].raw_data  # the confirmation carries the .ics

    # Redelivery of the same records (at least once): no second email.
    (again,) = functions.run("notifier", {"events": [{"Records": [booking, decision]}]})
    assert again == {"batchItemFailures": []}
    assert len(ses_backends[rehearsal.ACCOUNT][rehearsal.REGION].sent_messages) == 4
    # The dedup records the notifier wrote are INSERTs, filtered out again.
    assert deliver_to_notifier() == []

    # An SES bounce event as SNS delivers it reaches the bounces handler without error.
    bounce = {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bouncedRecipients": [{"emailAddress": PATIENT_EMAIL}],
        },
        "mail": {"destination": [PATIENT_EMAIL], "source": notifier_env["MAIL_FROM"]},
    }
    sns_event = {
        "Records": [
            {
                "EventSource": "aws:sns",
                "Sns": {
                    "Type": "Notification",
                    "TopicArn": f"arn:aws:sns:us-east-1:{rehearsal.ACCOUNT}:{STACK}-email-events",
                    "Message": json.dumps(bounce),
                },
            }
        ]
    }
    functions.run("bounces", {"events": [sns_event]})
