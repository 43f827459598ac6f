"""The generated CloudFormation template wires what the app and the docs promise."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from redis.crc import key_slot

from webapp.cache import SlotCache
from webapp.settings import load_settings
from webapp.store.table import (
    ATTRIBUTE_DEFINITIONS,
    GLOBAL_SECONDARY_INDEXES,
    KEY_SCHEMA,
    STATUS_INDEX,
)

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = {
    "web": "WebLambdaFunction",
    "notifier": "NotifierLambdaFunction",
    "reminders": "RemindersLambdaFunction",
    "bounces": "BouncesLambdaFunction",
    "schedule": "ScheduleLambdaFunction",
    "retention": "RetentionLambdaFunction",
}
MAIL_FUNCTIONS = ("notifier", "reminders", "bounces")
# Settings the template passes that the app reads only after the restructuring lands.
PENDING_APP_SETTINGS: set[str] = set()
NO_VALUE = {"Ref": "AWS::NoValue"}


def of_type(resources: dict, cfn_type: str) -> dict:
    return {name: r for name, r in resources.items() if r["Type"] == cfn_type}


def env_of(resources: dict, function: str) -> dict:
    return resources[FUNCTIONS[function]]["Properties"]["Environment"]["Variables"]


def when(condition: str, value) -> dict:
    """A value present only under a condition: Fn::If [condition, value, AWS::NoValue]."""
    return {"Fn::If": [condition, value, NO_VALUE]}


PUBLIC_BASE_URL = {
    "Fn::If": [
        "HasPublicBaseUrl",
        {"Ref": "PublicBaseUrl"},
        {
            "Fn::If": [
                "UseWaf",
                {"Fn::Sub": "https://${SiteDistribution.DomainName}"},
                {"Fn::GetAtt": ["HttpApi", "ApiEndpoint"]},
            ]
        },
    ]
}


def settings_env_names() -> set[str]:
    """Every environment variable webapp/settings.py reads."""
    source = (ROOT / "webapp" / "settings.py").read_text()
    return set(re.findall(r'_(?:str|int|float|bool|email)\(env, "([A-Z_]+)"', source))


# -- data ------------------------------------------------------------------------------
def test_table_matches_the_app_schema(resources):
    table = resources["AppointmentsTable"]["Properties"]
    assert table["KeySchema"] == KEY_SCHEMA
    assert sorted(table["AttributeDefinitions"], key=str) == sorted(ATTRIBUTE_DEFINITIONS, key=str)
    assert table["GlobalSecondaryIndexes"] == GLOBAL_SECONDARY_INDEXES
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    # The notifier's de-duplication records expire through this attribute.
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}


def test_table_is_durable_and_streams_both_images(resources):
    table = resources["AppointmentsTable"]
    props = table["Properties"]
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True


# -- web function ----------------------------------------------------------------------
def test_web_environment_points_at_the_stack_resources(resources):
    env = env_of(resources, "web")
    assert env["APP_ENV"] == "production"
    assert env["TABLE_NAME"] == {"Ref": "AppointmentsTable"}
    # No cache (cache=false): no REDIS_* at all, so the app reads DynamoDB.
    assert env["REDIS_HOST"] == when("UseCache", {"Fn::GetAtt": ["SlotCache", "Endpoint.Address"]})
    assert env["REDIS_PORT"] == when("UseCache", {"Fn::GetAtt": ["SlotCache", "Endpoint.Port"]})
    assert env["REDIS_TLS"] == when("UseCache", "true")
    assert "${StaticDistribution.DomainName}" in env["STATIC_URL"]["Fn::Sub"]
    assert env["STATIC_URL"]["Fn::Sub"].startswith("https://")
    # The seed's JSON API is cross-origin by design: "*" unless --param corsAllowedOrigins.
    assert env["CORS_ALLOWED_ORIGINS"] == "*"
    assert env["PUBLIC_BASE_URL"] == PUBLIC_BASE_URL
    assert int(env["CACHE_TTL_SECONDS"]) > 0
    assert env["STRIP_STAGE_PATH"] == "true"  # HTTP API $default stage: no path prefix


def test_web_environment_only_sets_what_the_app_reads(resources):
    known = settings_env_names() | {"STRIP_STAGE_PATH"}  # the last one is serverless-wsgi's
    assert set(env_of(resources, "web")) <= known | PENDING_APP_SETTINGS


def test_secret_key_is_a_deploy_time_reference_to_the_generated_secret(resources, template):
    for function in FUNCTIONS:
        ref = env_of(resources, function)["SECRET_KEY"]
        assert ref == {
            "Fn::Sub": [
                "{{resolve:secretsmanager:${SecretArn}:SecretString:secretKey}}",
                {
                    "SecretArn": {
                        "Fn::If": [
                            "CreateAppSecret",
                            {"Ref": "AppSecret"},
                            {"Ref": "ExistingSecretArn"},
                        ]
                    }
                },
            ]
        }
    secret = resources["AppSecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    # Manage links live for months: the key survives remove and replacement, under a fixed
    # name, and a redeploy reuses it through existingSecretArn instead of creating it.
    assert secret["DeletionPolicy"] == "Retain"
    assert secret["UpdateReplacePolicy"] == "Retain"
    assert secret["Properties"]["Name"] == "clinic-appointments/ci/secret-key"
    assert secret["Condition"] == "CreateAppSecret"
    assert template["Conditions"]["CreateAppSecret"] == {
        "Fn::Equals": [{"Ref": "ExistingSecretArn"}, ""]
    }
    assert template["Parameters"]["ExistingSecretArn"]["Default"] == ""
    generated = secret["Properties"]["GenerateSecretString"]
    assert generated["GenerateStringKey"] == "secretKey"
    assert generated["PasswordLength"] >= 32  # settings.py refuses shorter keys
    assert "SecretString" not in secret["Properties"]
    staff = resources["StaffBootstrapSecret"]["Properties"]
    assert "GenerateSecretString" in staff and "SecretString" not in staff


def test_cache_keys_share_one_hash_slot(resources):
    """The serverless cache is cluster-mode: the fill script and the invalidation
    transaction touch two keys, which must hash to the same slot (CROSSSLOT otherwise)."""
    prefix = env_of(resources, "web")["CACHE_KEY_PREFIX"]
    cache = SlotCache(load_settings({"APP_ENV": "test", "CACHE_KEY_PREFIX": prefix}))
    assert key_slot(cache.slots_key.encode()) == key_slot(cache.epoch_key.encode())


def test_runtime_and_architecture(resources):
    for logical_id in FUNCTIONS.values():
        props = resources[logical_id]["Properties"]
        assert props["Architectures"] == ["arm64"]
        major, minor = props["Runtime"].removeprefix("python").split(".")
        assert (int(major), int(minor)) >= (3, 12)
    web = resources["WebLambdaFunction"]["Properties"]
    assert web["Handler"] == "wsgi_handler.handler"
    # Up to one full vCPU (1769 MB); beyond it a second vCPU one Python thread cannot use.
    assert 256 <= web["MemorySize"] <= 1769
    assert web["Timeout"] < 30  # below the HTTP API's 30 s integration limit


# -- network ---------------------------------------------------------------------------
def test_web_function_runs_in_the_private_subnets(resources):
    condition, with_cache, without = resources["WebLambdaFunction"]["Properties"]["VpcConfig"][
        "Fn::If"
    ]
    assert condition == "UseCache"
    assert with_cache["SubnetIds"] == [{"Ref": "PrivateSubnetA"}, {"Ref": "PrivateSubnetB"}]
    assert with_cache["SecurityGroupIds"] == [{"Ref": "WebSecurityGroup"}]
    # cache=false: no VPC (empty lists also detach an existing function on update).
    assert without == {"SecurityGroupIds": [], "SubnetIds": []}
    subnets = of_type(resources, "AWS::EC2::Subnet")
    assert set(subnets) == {"PrivateSubnetA", "PrivateSubnetB"}
    zones = [s["Properties"]["AvailabilityZoneId"]["Fn::Select"] for s in subnets.values()]
    # Two different zones, by ID from the AvailabilityZoneIds parameter.
    assert sorted(z[0] for z in zones) == [0, 1]
    assert all(z[1] == {"Ref": "AvailabilityZoneIds"} for z in zones)
    for subnet in subnets.values():
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False


def test_private_subnets_have_no_route_out_but_dynamodb(resources):
    for forbidden in ("AWS::EC2::InternetGateway", "AWS::EC2::NatGateway", "AWS::EC2::Route"):
        assert not of_type(resources, forbidden), forbidden
    associations = of_type(resources, "AWS::EC2::SubnetRouteTableAssociation").values()
    assert {a["Properties"]["SubnetId"]["Ref"] for a in associations} == {
        "PrivateSubnetA",
        "PrivateSubnetB",
    }
    assert {a["Properties"]["RouteTableId"]["Ref"] for a in associations} == {"PrivateRouteTable"}
    endpoint = resources["DynamoDbEndpoint"]["Properties"]
    assert endpoint["VpcEndpointType"] == "Gateway"
    assert endpoint["ServiceName"] == {"Fn::Sub": "com.amazonaws.${AWS::Region}.dynamodb"}
    assert endpoint["RouteTableIds"] == [{"Ref": "PrivateRouteTable"}]


def test_only_the_web_function_reaches_the_cache(resources):
    ingress = of_type(resources, "AWS::EC2::SecurityGroupIngress")
    assert list(ingress) == ["CacheFromWebIngress"]
    rule = ingress["CacheFromWebIngress"]["Properties"]
    assert rule["GroupId"] == {"Ref": "CacheSecurityGroup"}
    assert rule["SourceSecurityGroupId"] == {"Ref": "WebSecurityGroup"}
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 6379, 6379)
    for group in of_type(resources, "AWS::EC2::SecurityGroup").values():
        assert "SecurityGroupIngress" not in group["Properties"]
    # The cache's own group replaces the default allow-all egress with a match-nothing rule.
    (cache_egress,) = resources["CacheSecurityGroup"]["Properties"]["SecurityGroupEgress"]
    assert cache_egress["CidrIp"] == "255.255.255.255/32"
    egress = [e["Properties"] for e in of_type(resources, "AWS::EC2::SecurityGroupEgress").values()]
    assert all(e["GroupId"] == {"Ref": "WebSecurityGroup"} for e in egress)
    assert sorted((e["FromPort"], e["ToPort"]) for e in egress) == [(443, 443), (6379, 6379)]
    to_cache = next(e for e in egress if e["FromPort"] == 6379)
    assert to_cache["DestinationSecurityGroupId"] == {"Ref": "CacheSecurityGroup"}


def test_cache_is_encrypted_valkey_in_the_private_subnets(resources):
    cache = resources["SlotCache"]
    assert cache["Type"] == "AWS::ElastiCache::ServerlessCache"  # TLS + at-rest always on
    props = cache["Properties"]
    assert props["Engine"] == "valkey"
    assert props["SubnetIds"] == [{"Ref": "PrivateSubnetA"}, {"Ref": "PrivateSubnetB"}]
    assert props["SecurityGroupIds"] == [{"Ref": "CacheSecurityGroup"}]
    assert props["CacheUsageLimits"]["DataStorage"]["Maximum"] >= 1


# -- notifications ---------------------------------------------------------------------
def test_stream_feeds_the_notifier_with_dlq_bisect_and_bounded_retries(resources):
    (mapping,) = of_type(resources, "AWS::Lambda::EventSourceMapping").values()
    props = mapping["Properties"]
    assert props["EventSourceArn"] == {"Fn::GetAtt": ["AppointmentsTable", "StreamArn"]}
    assert props["FunctionName"] == {"Fn::GetAtt": ["NotifierLambdaFunction", "Arn"]}
    assert props["BisectBatchOnFunctionError"] is True
    assert 0 <= props["MaximumRetryAttempts"] <= 5
    assert props["MaximumRecordAgeInSeconds"] <= 6 * 3600
    destination = props["DestinationConfig"]["OnFailure"]["Destination"]
    assert destination == {"Fn::GetAtt": ["NotificationDeadLetterQueue", "Arn"]}
    pattern, new_times, opened, rejoined = [
        json.loads(f["Pattern"]) for f in props["FilterCriteria"]["Filters"]
    ]
    # A rejoin overwrites an ended entry's place: a MODIFY to WAITLISTED.
    assert rejoined == {
        "eventName": ["MODIFY"],
        "dynamodb": {"NewImage": {"status": {"S": ["WAITLISTED"]}}},
    }
    # The waitlist: new entries and new open slots, and slots that become open again.
    assert new_times["eventName"] == ["INSERT"]
    assert set(new_times["dynamodb"]["NewImage"]["status"]["S"]) == {"WAITLISTED", "AVAILABLE"}
    assert opened["eventName"] == ["MODIFY"]
    assert opened["dynamodb"]["NewImage"]["status"]["S"] == ["AVAILABLE"]
    assert opened["dynamodb"]["OldImage"]["status"]["S"] == [{"anything-but": ["AVAILABLE"]}]
    assert pattern["eventName"] == ["MODIFY"]
    # Every status change decide() turns into an email, and no other.
    assert set(pattern["dynamodb"]["NewImage"]["status"]["S"]) == {
        "PENDING",
        "ACCEPTED",
        "DECLINED",
        "CANCELLED",
        "UNCONFIRMED",
        "RESCHEDULED",
    }


def test_notification_functions_are_outside_the_vpc_with_mail_settings(resources):
    for function in MAIL_FUNCTIONS:
        props = resources[FUNCTIONS[function]]["Properties"]
        assert "VpcConfig" not in props
        env = env_of(resources, function)
        assert env["EMAIL_BACKEND"] == "ses"
        assert "@" in env["MAIL_FROM"] and "@" in env["STAFF_NOTIFY_EMAIL"]
        assert env["PUBLIC_BASE_URL"] == PUBLIC_BASE_URL
        assert int(env["REMINDER_HOURS_BEFORE"]) > 0
        assert env["TABLE_NAME"] == {"Ref": "AppointmentsTable"}
        # Every message goes out with the configuration set (bounce/complaint events).
        assert env["SES_CONFIGURATION_SET"] == {"Ref": "EmailConfigurationSet"}
    handlers = {f: resources[FUNCTIONS[f]]["Properties"]["Handler"] for f in MAIL_FUNCTIONS}
    assert handlers == {
        "notifier": "webapp.notifications.worker.handle_stream",
        "reminders": "webapp.notifications.worker.send_reminders",
        "bounces": "webapp.notifications.bounces.handle_ses_event",
    }


def test_reminders_run_on_a_schedule_and_dead_letter_their_failures(resources):
    rules = of_type(resources, "AWS::Events::Rule").values()
    schedules = {
        rule["Properties"]["Targets"][0]["Arn"]["Fn::GetAtt"][0]: rule["Properties"]
        for rule in rules
    }
    assert set(schedules) == {
        "RemindersLambdaFunction",
        "ScheduleLambdaFunction",
        "RetentionLambdaFunction",
    }
    assert schedules["RemindersLambdaFunction"]["ScheduleExpression"] == "rate(1 hour)"
    # The roll: once a day (cron fields: minute hour day-of-month month day-of-week year).
    assert schedules["ScheduleLambdaFunction"]["ScheduleExpression"] == "cron(15 3 * * ? *)"
    assert schedules["RetentionLambdaFunction"]["ScheduleExpression"] == "cron(45 3 * * ? *)"
    configs = of_type(resources, "AWS::Lambda::EventInvokeConfig").values()
    by_function = {c["Properties"]["FunctionName"]["Ref"]: c["Properties"] for c in configs}
    assert set(by_function) == {
        "RemindersLambdaFunction",
        "BouncesLambdaFunction",
        "ScheduleLambdaFunction",
        "RetentionLambdaFunction",
    }
    for props in by_function.values():
        destination = props["DestinationConfig"]["OnFailure"]["Destination"]
        assert destination == {"Fn::GetAtt": ["NotificationDeadLetterQueue", "Arn"]}


# -- IAM -------------------------------------------------------------------------------
def statements(role: dict) -> list[dict]:
    """Every statement, including those present only under a condition (Fn::If)."""
    found = []
    for policy in role["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if "Fn::If" in statement:
                found += [s for s in statement["Fn::If"][1:] if s != NO_VALUE]
            else:
                found.append(statement)
    return found


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def test_one_role_per_function(resources):
    assert "IamRoleLambdaExecution" not in resources  # no shared framework role
    roles = [resources[f]["Properties"]["Role"]["Fn::GetAtt"][0] for f in FUNCTIONS.values()]
    assert roles == [
        "WebRole",
        "NotifierRole",
        "RemindersRole",
        "BouncesRole",
        "ScheduleRole",
        "RetentionRole",
    ]
    assert set(of_type(resources, "AWS::IAM::Role")) == set(roles)


ENI_ACTIONS = {
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
}


def test_iam_has_no_wildcard_actions_and_star_resources_only_for_eni_actions(resources):
    for name, role in of_type(resources, "AWS::IAM::Role").items():
        for statement in statements(role):
            assert statement["Effect"] == "Allow"
            for action in as_list(statement["Action"]):
                assert "*" not in action, (name, action)
            if "*" in as_list(statement["Resource"]):
                # Lambda manages a VPC function's ENIs through its role; EC2 offers no
                # narrower resource for these (AWSLambdaVPCAccessExecutionRole's actions).
                assert name == "WebRole", name
                assert set(as_list(statement["Action"])) <= ENI_ACTIONS, statement


def actions_by_resource(role: dict) -> dict[str, set[str]]:
    granted: dict[str, set[str]] = {}
    for statement in statements(role):
        for resource in as_list(statement["Resource"]):
            key = json.dumps(resource, sort_keys=True)
            granted.setdefault(key, set()).update(as_list(statement["Action"]))
    return granted


TABLE = json.dumps({"Fn::GetAtt": ["AppointmentsTable", "Arn"]}, sort_keys=True)
INDEX = json.dumps({"Fn::Sub": "${AppointmentsTable.Arn}/index/" + STATUS_INDEX}, sort_keys=True)
STREAM = json.dumps({"Fn::GetAtt": ["AppointmentsTable", "StreamArn"]}, sort_keys=True)
DLQ = json.dumps({"Fn::GetAtt": ["NotificationDeadLetterQueue", "Arn"]}, sort_keys=True)


def test_web_role_only_touches_its_table_and_indexes(resources):
    granted = actions_by_resource(resources["WebRole"])
    assert granted[TABLE] == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:Query",
    }
    for index in GLOBAL_SECONDARY_INDEXES:
        arn = {"Fn::Sub": "${AppointmentsTable.Arn}/index/" + index["IndexName"]}
        assert granted[json.dumps(arn, sort_keys=True)] == {"dynamodb:Query"}
    everything = set().union(*granted.values())
    assert not any(a.startswith(("ses:", "sqs:", "secretsmanager:")) for a in everything)


def test_notifier_role_reads_its_stream_mails_and_dead_letters(resources):
    granted = actions_by_resource(resources["NotifierRole"])
    assert granted[STREAM] == {
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
    }
    # GetItem: the recipient's suppression record (bounced or complaining address).
    assert granted[TABLE] == {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"}
    assert granted[INDEX] == {"dynamodb:Query"}  # the waitlist entries of a freed time's day
    assert granted[DLQ] == {"sqs:SendMessage"}
    assert_sends_only_as_mail_from(resources, "NotifierRole", "notifier")
    assert not any(a.startswith("ec2:") for a in set().union(*granted.values()))


SES_RESOURCES = [
    # In the SES sandbox SES also authorises against each (verified) recipient identity,
    # so the grant covers the region's identities; the condition pins the sender.
    {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*"},
    {
        "Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}"
        ":configuration-set/${EmailConfigurationSet}"
    },
]


def assert_sends_only_as_mail_from(resources: dict, role: str, function: str) -> None:
    (ses,) = [s for s in statements(resources[role]) if "ses:SendRawEmail" in as_list(s["Action"])]
    assert as_list(ses["Action"]) == ["ses:SendRawEmail"]
    assert ses["Resource"] == SES_RESOURCES
    assert ses["Condition"] == {
        "StringEquals": {"ses:FromAddress": env_of(resources, function)["MAIL_FROM"]}
    }


def test_reminders_role_queries_the_index_and_writes_dedup_records(resources):
    granted = actions_by_resource(resources["RemindersRole"])
    assert granted[INDEX] == {"dynamodb:Query"}
    # GetItem: the recipient's suppression record (bounced or complaining address);
    # UpdateItem: the hourly run also expires unconfirmed requests (conditional writes).
    assert granted[TABLE] == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        "dynamodb:UpdateItem",
    }
    assert granted[DLQ] == {"sqs:SendMessage"}
    assert_sends_only_as_mail_from(resources, "RemindersRole", "reminders")


def test_schedule_role_reads_the_directory_and_creates_slots_only(resources):
    granted = actions_by_resource(resources["ScheduleRole"])
    assert granted[TABLE] == {"dynamodb:GetItem", "dynamodb:PutItem"}
    assert granted[DLQ] == {"sqs:SendMessage"}
    everything = set().union(*granted.values())
    assert everything == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "sqs:SendMessage",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
    assert resources["ScheduleLambdaFunction"]["Properties"]["Handler"] == (
        "webapp.schedule.handle_roll"
    )


def test_retention_role_queries_the_status_index_and_erases_only(resources):
    granted = actions_by_resource(resources["RetentionRole"])
    assert granted[TABLE] == {"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    status_index = {"Fn::Sub": "${AppointmentsTable.Arn}/index/status-slotStart-index"}
    assert granted[json.dumps(status_index, sort_keys=True)] == {"dynamodb:Query"}
    assert granted[DLQ] == {"sqs:SendMessage"}
    everything = set().union(*granted.values())
    assert not any(a.startswith(("ses:", "ec2:")) for a in everything)
    assert not {"dynamodb:Scan", "dynamodb:PutItem"} & everything
    assert resources["RetentionLambdaFunction"]["Properties"]["Handler"] == (
        "webapp.retention.handle_purge"
    )


def test_bounces_role_writes_suppressions_and_sends_nothing(resources):
    granted = actions_by_resource(resources["BouncesRole"])
    assert granted[TABLE] == {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}
    email_index = {"Fn::Sub": "${AppointmentsTable.Arn}/index/emailKey-slotStart-index"}
    assert granted[json.dumps(email_index, sort_keys=True)] == {"dynamodb:Query"}
    assert granted[DLQ] == {"sqs:SendMessage"}
    everything = set().union(*granted.values())
    assert not any(a.startswith(("ses:", "ec2:", "dynamodb:Delete")) for a in everything)


def test_log_permissions_are_per_function_log_group(resources):
    for function, role in (
        ("Web", "WebRole"),
        ("Notifier", "NotifierRole"),
        ("Reminders", "RemindersRole"),
        ("Bounces", "BouncesRole"),
        ("Schedule", "ScheduleRole"),
        ("Retention", "RetentionRole"),
    ):
        (logs,) = [s for s in statements(resources[role]) if s["Sid"] == "Logs"]
        assert logs["Resource"] == {"Fn::GetAtt": [f"{function}LogGroup", "Arn"]}


# -- API and static assets -------------------------------------------------------------
def test_http_api_routes_everything_to_the_web_function_with_a_throttle(resources):
    routes = of_type(resources, "AWS::ApiGatewayV2::Route")
    assert sorted(r["Properties"]["RouteKey"] for r in routes.values()) == [
        "ANY /",
        "ANY /{proxy+}",
    ]
    (integration,) = of_type(resources, "AWS::ApiGatewayV2::Integration").values()
    assert integration["Properties"]["IntegrationUri"] == {
        "Fn::GetAtt": ["WebLambdaFunction", "Arn"]
    }
    stage = resources["HttpApiStage"]["Properties"]
    throttle = stage["DefaultRouteSettings"]
    assert 0 < throttle["ThrottlingRateLimit"] <= throttle["ThrottlingBurstLimit"] <= 5000
    assert "AccessLogSettings" in stage
    # CORS is answered by the app (flask-cors), not by API Gateway.
    assert "CorsConfiguration" not in resources["HttpApi"]["Properties"]


def test_static_bucket_is_private_behind_cloudfront_oac(resources):
    bucket = resources["StaticBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert "WebsiteConfiguration" not in bucket
    policy = resources["StaticBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    (allow,) = [s for s in policy if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    assert "StaticDistribution" in allow["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    config = resources["StaticDistribution"]["Properties"]["DistributionConfig"]
    (origin,) = config["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["StaticOriginAccessControl", "Id"]}
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    cache_policy = resources["StaticCachePolicy"]["Properties"]["CachePolicyConfig"]
    query = cache_policy["ParametersInCacheKeyAndForwardedToOrigin"]["QueryStringsConfig"]
    assert query["QueryStrings"] == ["v"]  # asset_url() versions files with ?v=<hash>


def test_static_folder_is_uploaded_where_static_url_points(service_state, resources):
    (sync,) = service_state["custom"]["s3Sync"]
    assert sync["localDir"] == "static"
    assert sync["bucketNameKey"] == "StaticBucketName"
    static_url = env_of(resources, "web")["STATIC_URL"]["Fn::Sub"]
    assert static_url.endswith("/" + sync["bucketPrefix"].strip("/"))


def test_outputs(template):
    outputs = template["Outputs"]
    for name in ("SiteUrl", "ApiBaseUrl", "StaticUrl", "TableName"):
        assert name in outputs, name
    assert outputs["TableName"]["Value"] == {"Ref": "AppointmentsTable"}
    assert outputs["SiteUrl"]["Value"] == PUBLIC_BASE_URL
    for name in ("AppSecretArn", "AlarmTopicArn", "EmailConfigurationSetName"):
        assert name in outputs, name


@pytest.mark.parametrize("needle", ["dev-only-secret-key", "BEGIN RSA", "aws_secret_access_key"])
def test_template_holds_no_secret_material(template, needle):
    assert needle.lower() not in json.dumps(template).lower()


# -- SnapStart (deployment parameter) -----------------------------------------------------
def test_snapstart_is_off_by_default(resources):
    assert "SnapStart" not in resources["WebLambdaFunction"]["Properties"]
    assert not of_type(resources, "AWS::Lambda::Alias")
    assert not of_type(resources, "AWS::Lambda::Version")


def test_snapstart_parameter_publishes_a_version_behind_an_alias(snapstart_resources):
    """snapStart=true: only the web function, a version, and the HTTP API calls the alias
    (SnapStart only applies to published versions, never to $LATEST)."""
    resources = snapstart_resources
    web = resources["WebLambdaFunction"]["Properties"]
    assert web["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    for function in ("NotifierLambdaFunction", "RemindersLambdaFunction"):
        assert "SnapStart" not in resources[function]["Properties"]
    (version,) = of_type(resources, "AWS::Lambda::Version").values()
    assert version["Properties"]["FunctionName"] == {"Ref": "WebLambdaFunction"}
    assert "DeletionPolicy" not in version  # a replaced version goes, with its snapshot
    ((alias_id, alias),) = of_type(resources, "AWS::Lambda::Alias").items()
    assert alias["Properties"]["FunctionName"] == {"Ref": "WebLambdaFunction"}
    assert alias["Properties"]["FunctionVersion"]["Fn::GetAtt"][1] == "Version"
    aliased = {"Fn::Join": [":", [{"Fn::GetAtt": ["WebLambdaFunction", "Arn"]}, "snapstart"]]}
    (integration,) = of_type(resources, "AWS::ApiGatewayV2::Integration").values()
    assert integration["Properties"]["IntegrationUri"] == aliased
    permission = resources["WebLambdaPermissionHttpApi"]
    assert permission["Properties"]["FunctionName"] == aliased
    depends = permission.get("DependsOn") or []
    assert alias_id in ([depends] if isinstance(depends, str) else depends)


def test_the_stream_filter_lets_through_every_change_that_means_an_email(resources):
    from webapp.notifications.decide import decide
    from webapp.store.appointments import REMOVED, STATUSES
    from webapp.store.moves import RESCHEDULED

    statuses = (*STATUSES, RESCHEDULED, REMOVED)
    booking = {
        "appointmentId": "20300604-0900",
        "appointmentDate": "2030-06-04",
        "appointmentTime": "09:00",
        "slotStart": "2030-06-04T09:00",
        "requestedAt": "2030-06-01T10:00:00Z",
        "patientEmail": "ada@example.com",
        "patientName": "Ada",
        "rescheduledTo": "20300605-0900",
        "rescheduledToDate": "2030-06-05",
        "rescheduledToTime": "09:00",
        "rescheduledToStart": "2030-06-05T09:00",
        "rescheduledAt": "2030-06-02T10:00:00Z",
    }
    emailing = {
        new
        for old in (None, *statuses)
        for new in statuses
        if decide({**booking, "status": old} if old else None, {**booking, "status": new})
    }
    (mapping,) = of_type(resources, "AWS::Lambda::EventSourceMapping").values()
    filters = mapping["Properties"]["FilterCriteria"]["Filters"]
    pattern = json.loads(filters[0]["Pattern"])  # the bookings' (the others: the waitlist's)
    assert emailing <= set(pattern["dynamodb"]["NewImage"]["status"]["S"])


def test_the_stream_filter_lets_a_rejoin_through(resources):
    """A join on the place of an ended entry is a MODIFY of a WAITLISTED item; the join
    email is sent from the stream, so the filter must pass it."""
    from tests.infra import rehearsal
    from tests.notification_helpers import stream_record

    ended = {
        "appointmentId": "waitlist#abc#1",
        "kind": "waitlist",
        "status": "WAITLISTED",
        "entryId": "old-entry",
        "fromDate": "2030-06-01",
        "toDate": "2030-06-02",
        "slotStart": "2030-06-02T23:59",
    }
    rejoined = {
        **ended,
        "entryId": "new-entry",
        "fromDate": "2030-06-05",
        "toDate": "2030-06-12",
        "slotStart": "2030-06-12T23:59",
    }
    (mapping,) = of_type(resources, "AWS::Lambda::EventSourceMapping").values()
    criteria = mapping["Properties"]["FilterCriteria"]
    assert rehearsal.passes_filters(criteria, stream_record("MODIFY", ended, rejoined))
    assert rehearsal.passes_filters(criteria, stream_record("INSERT", None, rejoined))
