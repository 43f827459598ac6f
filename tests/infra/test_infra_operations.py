"""Running the stack: email events, alarms, deploy-time options, asset upload order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NO_VALUE = {"Ref": "AWS::NoValue"}
ALARM_TOPIC = [{"Ref": "AlarmTopic"}]


def of_type(resources: dict, cfn_type: str) -> dict:
    return {name: r for name, r in resources.items() if r["Type"] == cfn_type}


# -- SES: configuration set, bounce/complaint events, the bounces function --------------
def test_configuration_set_sends_bounces_and_complaints_to_the_topic(resources):
    config_set = resources["EmailConfigurationSet"]["Properties"]
    assert config_set["Name"] == "clinic-appointments-ci"
    assert config_set["ReputationOptions"]["ReputationMetricsEnabled"] is True
    destination = resources["EmailEventsDestination"]["Properties"]
    assert destination["ConfigurationSetName"] == {"Ref": "EmailConfigurationSet"}
    event_destination = destination["EventDestination"]
    assert event_destination["Enabled"] is True
    assert sorted(event_destination["MatchingEventTypes"]) == ["bounce", "complaint"]
    assert event_destination["SnsDestination"] == {"TopicARN": {"Ref": "EmailEventsTopic"}}


def test_only_ses_for_this_configuration_set_may_publish_email_events(resources):
    policy = resources["EmailEventsTopicPolicy"]["Properties"]
    assert policy["Topics"] == [{"Ref": "EmailEventsTopic"}]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "ses.amazonaws.com"}
    assert statement["Action"] == "sns:Publish"
    assert statement["Condition"]["StringEquals"] == {
        "AWS:SourceAccount": {"Ref": "AWS::AccountId"}
    }
    source = statement["Condition"]["ArnLike"]["AWS:SourceArn"]["Fn::Sub"]
    assert source.endswith(":configuration-set/${EmailConfigurationSet}")
    # The event destination is created only once SES may publish (else creation fails).
    assert resources["EmailEventsDestination"]["DependsOn"] == ["EmailEventsTopicPolicy"]


def test_email_events_topic_invokes_the_bounces_function(resources):
    (subscription,) = [
        r
        for r in of_type(resources, "AWS::SNS::Subscription").values()
        if r["Properties"]["Protocol"] == "lambda"
    ]
    props = subscription["Properties"]
    assert props["TopicArn"] == {"Ref": "EmailEventsTopic"}
    assert props["Endpoint"] == {"Fn::GetAtt": ["BouncesLambdaFunction", "Arn"]}
    (permission,) = [
        p["Properties"]
        for p in of_type(resources, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "sns.amazonaws.com"
    ]
    assert permission["FunctionName"] == {"Fn::GetAtt": ["BouncesLambdaFunction", "Arn"]}
    assert permission["SourceArn"] == {"Ref": "EmailEventsTopic"}


# -- alarms ------------------------------------------------------------------------------
def test_alarm_topic_always_exists_and_emails_only_when_asked(resources, template):
    assert "Condition" not in resources["AlarmTopic"]
    subscription = resources["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": "AlarmTopic"},
        "Protocol": "email",
        "Endpoint": {"Ref": "AlarmEmail"},
    }
    assert template["Conditions"]["HasAlarmEmail"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]
    }
    assert template["Parameters"]["AlarmEmail"]["Default"] == ""


def metric_keys(alarm: dict) -> set[tuple[str, str, str]]:
    """(namespace, metric, dimension value as JSON) of a plain or metric-math alarm."""
    if "MetricName" in alarm:
        stats = [
            {
                "Namespace": alarm["Namespace"],
                "MetricName": alarm["MetricName"],
                "Dimensions": alarm.get("Dimensions", []),
            }
        ]
    else:
        stats = [m["MetricStat"]["Metric"] for m in alarm["Metrics"] if "MetricStat" in m]
    return {
        (
            s["Namespace"],
            s["MetricName"],
            json.dumps([d["Value"] for d in s.get("Dimensions", [])], sort_keys=True),
        )
        for s in stats
    }


def ref(name: str) -> str:
    return json.dumps([{"Ref": name}])


EXPECTED_ALARMS = {
    "DeadLetterQueueAlarm": {
        (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            json.dumps([{"Fn::GetAtt": ["NotificationDeadLetterQueue", "QueueName"]}]),
        )
    },
    "NotifierErrorsAlarm": {("AWS/Lambda", "Errors", ref("NotifierLambdaFunction"))},
    "NotifierIteratorAgeAlarm": {("AWS/Lambda", "IteratorAge", ref("NotifierLambdaFunction"))},
    "WebErrorsAlarm": {("AWS/Lambda", "Errors", ref("WebLambdaFunction"))},
    "Api5xxAlarm": {("AWS/ApiGateway", "5xx", json.dumps([{"Ref": "HttpApi"}, "$default"]))},
    "LambdaThrottlesAlarm": {
        ("AWS/Lambda", "Throttles", ref(f"{f}LambdaFunction"))
        for f in ("Web", "Notifier", "Reminders", "Bounces", "Schedule", "Retention")
    },
    "TableThrottlesAlarm": {
        ("AWS/DynamoDB", "ReadThrottleEvents", ref("AppointmentsTable")),
        ("AWS/DynamoDB", "WriteThrottleEvents", ref("AppointmentsTable")),
    },
    "RemindersErrorsAlarm": {("AWS/Lambda", "Errors", ref("RemindersLambdaFunction"))},
    "ScheduleErrorsAlarm": {("AWS/Lambda", "Errors", ref("ScheduleLambdaFunction"))},
    "RetentionErrorsAlarm": {("AWS/Lambda", "Errors", ref("RetentionLambdaFunction"))},
    "SesBounceRateAlarm": {("AWS/SES", "Reputation.BounceRate", "[]")},
    "SesComplaintRateAlarm": {("AWS/SES", "Reputation.ComplaintRate", "[]")},
}


def test_every_alarm_watches_what_the_runbook_says_and_notifies_the_topic(resources):
    alarms = of_type(resources, "AWS::CloudWatch::Alarm")
    assert set(alarms) == set(EXPECTED_ALARMS)
    runbook = (ROOT / "docs" / "deploy.md").read_text()
    for name, alarm in alarms.items():
        props = alarm["Properties"]
        assert metric_keys(props) == EXPECTED_ALARMS[name], name
        assert props["AlarmActions"] == ALARM_TOPIC, name
        assert props["OKActions"] == ALARM_TOPIC, name
        # Quiet when there is no traffic: no data is not a failure.
        assert props["TreatMissingData"] == "notBreaching", name
        # Each description names its runbook entry, and that entry exists.
        entry = props["AlarmDescription"].rsplit("runbook - ", 1)[1].rstrip(")")
        assert f"#### {entry}" in runbook, entry


def test_iterator_age_alarm_fires_well_before_records_are_dropped(resources):
    (mapping,) = of_type(resources, "AWS::Lambda::EventSourceMapping").values()
    max_age_ms = mapping["Properties"]["MaximumRecordAgeInSeconds"] * 1000
    assert resources["NotifierIteratorAgeAlarm"]["Properties"]["Threshold"] <= max_age_ms / 4


def test_ses_reputation_alarms_fire_before_ses_reviews_the_account(resources):
    assert resources["SesBounceRateAlarm"]["Properties"]["Threshold"] < 0.05
    assert resources["SesComplaintRateAlarm"]["Properties"]["Threshold"] < 0.001


# -- deploy-time options -----------------------------------------------------------------
VPC_RESOURCES = {
    "Vpc",
    "PrivateSubnetA",
    "PrivateSubnetB",
    "PrivateRouteTable",
    "PrivateSubnetARouteTableAssociation",
    "PrivateSubnetBRouteTableAssociation",
    "DynamoDbEndpoint",
    "WebSecurityGroup",
    "WebToDynamoDbEgress",
    "WebToCacheEgress",
    "CacheSecurityGroup",
    "CacheFromWebIngress",
    "SlotCache",
}


def test_cache_false_drops_the_cache_and_the_whole_vpc(resources, template):
    assert template["Parameters"]["Cache"]["Default"] == "true"  # the design's default
    assert template["Parameters"]["Cache"]["AllowedValues"] == ["true", "false"]
    assert template["Conditions"]["UseCache"] == {"Fn::Equals": [{"Ref": "Cache"}, "true"]}
    network = {
        name
        for name, r in resources.items()
        if r["Type"].startswith(("AWS::EC2::", "AWS::ElastiCache::"))
    }
    assert network == VPC_RESOURCES
    for name in VPC_RESOURCES:
        assert resources[name]["Condition"] == "UseCache", name
    # Every reference to them elsewhere sits under the same condition (cfn-lint checks
    # that too); the web role's network-interface grant goes with the VPC.
    (statement,) = [
        s
        for s in resources["WebRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        if "Fn::If" in s
    ]
    condition, granted, otherwise = statement["Fn::If"]
    assert (condition, granted["Sid"], otherwise) == ("UseCache", "VpcNetworkInterfaces", NO_VALUE)


def test_availability_zone_ids_default_per_region(template, service_state):
    assert template["Parameters"]["AvailabilityZoneIds"]["Type"] == "CommaDelimitedList"
    assert template["Parameters"]["AvailabilityZoneIds"]["Default"] == "use1-az1,use1-az2"
    for region, ids in service_state["custom"]["availabilityZoneIds"].items():
        first, second = ids.split(",")
        assert first != second, region
        assert "use1-az3" not in (first, second)  # no Lambda VPC networking there


def test_public_base_url_parameter_accepts_only_an_https_origin(template):
    import re

    pattern = re.compile(template["Parameters"]["PublicBaseUrl"]["AllowedPattern"])
    for good in ("", "https://clinic.example", "https://book.clinic.example"):
        assert pattern.fullmatch(good), good
    for bad in ("http://clinic.example", "https://clinic.example/", "clinic.example"):
        assert not pattern.fullmatch(bad), bad


def test_waf_is_off_by_default_and_fronts_the_whole_site_when_on(resources, template):
    # A string, as CloudFormation passes every parameter value (moto compares types).
    assert template["Parameters"]["WafRateLimit"]["Default"] == "0"
    assert template["Conditions"]["UseWaf"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "WafRateLimit"}, "0"]}]
    }
    acl = resources["SiteWebAcl"]
    assert acl["Condition"] == "UseWaf"
    assert acl["Properties"]["Scope"] == "CLOUDFRONT"  # HTTP APIs cannot take a web ACL
    (rule,) = acl["Properties"]["Rules"]
    assert rule["Action"] == {"Block": {}}
    rate = rule["Statement"]["RateBasedStatement"]
    assert rate["Limit"] == {"Ref": "WafRateLimit"} and rate["AggregateKeyType"] == "IP"
    site = resources["SiteDistribution"]
    assert site["Condition"] == "UseWaf"
    config = site["Properties"]["DistributionConfig"]
    assert config["WebACLId"] == {"Fn::GetAtt": ["SiteWebAcl", "Arn"]}
    (origin,) = config["Origins"]
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    (header,) = origin["OriginCustomHeaders"]
    assert header["HeaderName"] == "X-Origin-Verify"
    assert "${OriginVerifySecret}" in header["HeaderValue"]["Fn::Sub"]
    # The web function gets the same value, so it can refuse requests that bypass WAF.
    web_env = resources["WebLambdaFunction"]["Properties"]["Environment"]["Variables"]
    assert web_env["ORIGIN_VERIFY_SECRET"] == {
        "Fn::If": [
            "UseWaf",
            {"Fn::Sub": "{{resolve:secretsmanager:${OriginVerifySecret}:SecretString:value}}"},
            NO_VALUE,
        ]
    }
    assert resources["OriginVerifySecret"]["Condition"] == "UseWaf"
    # A CloudFront web ACL can only be created in us-east-1: say so before creating.
    (assertion,) = template["Rules"]["WafOnlyInUsEast1"]["Assertions"]
    assert assertion["Assert"] == {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}


# -- static assets: uploaded before the code that links them goes live --------------------
def test_npm_deploy_uploads_static_before_the_stack_update_and_again_after():
    scripts = json.loads((ROOT / "package.json").read_text())["scripts"]
    deploy = scripts["deploy"]
    assert deploy.index("serverless s3sync") < deploy.index("serverless deploy")


def test_static_sync_never_deletes_what_live_pages_link_to(service_state):
    (sync,) = service_state["custom"]["s3Sync"]
    assert sync["deleteRemoved"] is False
    assert "serverless-s3-sync" in service_state["plugins"]  # its own sync: after deploy


@pytest.mark.parametrize("name", ["Cache", "AlarmEmail", "PublicBaseUrl", "WafRateLimit"])
def test_parameters_are_documented(name, template):
    docs = (ROOT / "docs" / "deploy.md").read_text()
    param = name[0].lower() + name[1:]
    assert f'--param="{param}=' in docs, param


def test_behind_the_waf_the_client_address_comes_from_cloudfront(resources):
    env = resources["WebLambdaFunction"]["Properties"]["Environment"]["Variables"]
    assert env["TRUSTED_CLIENT_IP_HEADER"] == {
        "Fn::If": ["UseWaf", "CloudFront-Viewer-Address", {"Ref": "AWS::NoValue"}]
    }


# -- the kept SECRET_KEY secret, found again by name on deploy ------------------------------

KEPT_SECRET_HARNESS = r"""
const [pluginPath, templatePath, mode] = process.argv.slice(1);
const KeptSecret = require(pluginPath);
const template = JSON.parse(require('fs').readFileSync(templatePath, 'utf8'));
if (mode === 'explicit') template.Parameters.ExistingSecretArn.Default = 'arn:given';
const calls = [];
const serverless = {
  service: { provider: { compiledCloudFormationTemplate: template } },
  classes: { Error },
  cli: { log: () => {} },
  getProvider: () => ({
    // Shaped like the framework's provider.request: an AWS error carries providerError.
    request: async (service, method, params) => {
      calls.push([service, method, params]);
      if (mode === 'missing') {
        throw Object.assign(new Error('not found'), {
          providerError: { code: 'ResourceNotFoundException' },
        });
      }
      const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:kept-AbCdEf';
      return mode === 'deleted' ? { ARN: arn, DeletedDate: new Date() } : { ARN: arn };
    },
  }),
};
const plugin = new KeptSecret(serverless);
plugin.hooks['before:aws:deploy:deploy:checkForChanges']().then(
  () => console.log(JSON.stringify({
    hooks: Object.keys(plugin.hooks), calls,
    default: template.Parameters.ExistingSecretArn.Default,
  })),
  (error) => console.log(JSON.stringify({ error: error.message, calls })),
);
"""


def kept_secret(packaged, mode: str) -> dict:
    import subprocess

    result = subprocess.run(
        [
            "node",
            "-e",
            KEPT_SECRET_HARNESS,
            str(ROOT / "scripts" / "serverless-kept-secret.js"),
            str(packaged / "cloudformation-template-update-stack.json"),
            mode,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def test_a_deploy_reuses_the_secret_kept_from_an_earlier_stack(packaged, resources):
    name = resources["AppSecret"]["Properties"]["Name"]
    kept = kept_secret(packaged, "kept")
    # Only on deploy: packaging stays offline.
    assert kept["hooks"] == ["before:aws:deploy:deploy:checkForChanges"]
    assert kept["calls"] == [["SecretsManager", "describeSecret", {"SecretId": name}]]
    assert kept["default"].endswith(":secret:kept-AbCdEf")


def test_a_first_deploy_creates_the_secret(packaged):
    first = kept_secret(packaged, "missing")
    assert len(first["calls"]) == 1 and first["default"] == ""


def test_a_secret_scheduled_for_deletion_stops_the_deploy(packaged):
    deleted = kept_secret(packaged, "deleted")
    assert "restore-secret" in deleted["error"] and "default" not in deleted


def test_an_explicit_existing_secret_is_used_as_given(packaged):
    explicit = kept_secret(packaged, "explicit")
    assert explicit["calls"] == [] and explicit["default"] == "arn:given"
