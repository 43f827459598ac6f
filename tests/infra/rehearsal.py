"""The packaged template made creatable on moto's CloudFormation.

moto implements CloudFormation for some resource types only; an unknown type is skipped
with a warning and the stack still says CREATE_COMPLETE, which would hide wiring errors.
So every type moto lacks is listed here with the reason, and `stand_in()` replaces each such
resource by an SSM parameter (a harmless resource moto does create) and every Ref/GetAtt/
${...} to it by a fixed value. Everything else is created for real by moto.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"
FAKE_API_ID = "rehearsal1"
FAKE_API_ENDPOINT = f"https://{FAKE_API_ID}.execute-api.{REGION}.amazonaws.com"
FAKE_CLOUDFRONT = "d111111abcdef8.cloudfront.net"

# Resource types of the template that moto 5.2's CloudFormation does not create.
STAND_INS = {
    "AWS::ApiGatewayV2::Api": "no API Gateway v2 in moto's CloudFormation",
    "AWS::ApiGatewayV2::Stage": "no API Gateway v2 in moto's CloudFormation",
    "AWS::ApiGatewayV2::Integration": "no API Gateway v2 in moto's CloudFormation",
    "AWS::ApiGatewayV2::Route": "no API Gateway v2 in moto's CloudFormation",
    "AWS::CloudFront::Distribution": "no CloudFront in moto's CloudFormation",
    "AWS::CloudFront::CachePolicy": "no CloudFront in moto's CloudFormation",
    "AWS::CloudFront::OriginAccessControl": "no CloudFront in moto's CloudFormation",
    "AWS::ElastiCache::ServerlessCache": "no ElastiCache in moto's CloudFormation",
    "AWS::SecretsManager::Secret": "no Secrets Manager in moto's CloudFormation",
    "AWS::WAFv2::WebACL": "no WAF in moto's CloudFormation",
    "AWS::SES::ConfigurationSet": "no SES in moto's CloudFormation",
    "AWS::SES::ConfigurationSetEventDestination": "no SES in moto's CloudFormation",
    "AWS::CloudWatch::Alarm": "moto's CloudFormation creates dashboards, not alarms",
    "AWS::SNS::Subscription": "moto's CloudFormation subscribes only inline on a topic",
    "AWS::SNS::TopicPolicy": "resource policy types are not in moto's CloudFormation",
    "AWS::S3::BucketPolicy": "resource policy types are not in moto's CloudFormation",
    "AWS::SQS::QueuePolicy": "resource policy types are not in moto's CloudFormation",
    "AWS::Lambda::EventInvokeConfig": "not in moto's CloudFormation",
    "AWS::EC2::SecurityGroupEgress": "moto's CloudFormation has ingress rules only",
}


def moto_supported_types() -> set[str]:
    from moto.cloudformation.parsing import get_model_map

    return set(get_model_map())


def fake_ref(logical_id: str, resource: dict) -> str:
    props = resource.get("Properties", {})
    cfn_type = resource["Type"]
    if cfn_type == "AWS::ApiGatewayV2::Api":
        return FAKE_API_ID
    if isinstance(props.get("Name"), str):
        return props["Name"]
    if cfn_type == "AWS::SecretsManager::Secret":
        return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rehearsal-{logical_id}-AbCdEf"
    return f"rehearsal-{logical_id}"


def fake_attribute(logical_id: str, attribute: str) -> str:
    if attribute == "ApiEndpoint":
        return FAKE_API_ENDPOINT
    if attribute == "DomainName":
        return FAKE_CLOUDFRONT
    if attribute == "Endpoint.Address":
        return "rehearsal-cache.invalid"
    if attribute == "Endpoint.Port":
        return "6379"
    if attribute == "Arn":
        return f"arn:aws:rehearsal:{REGION}:{ACCOUNT}:{logical_id}"
    return f"rehearsal-{logical_id}-{attribute.replace('.', '-')}"


def stand_in(template: dict) -> tuple[dict, dict[str, str]]:
    """(a copy of template with stand-ins, {logical id: original type})."""
    out = copy.deepcopy(template)
    resources = out["Resources"]
    replaced = {lid: r["Type"] for lid, r in resources.items() if r["Type"] in STAND_INS}
    refs = {lid: fake_ref(lid, resources[lid]) for lid in replaced}

    def sub_string(text: str) -> str:
        def one(match: re.Match) -> str:
            name = match.group(1)
            logical_id, _, attribute = name.partition(".")
            if logical_id not in replaced:
                return match.group(0)
            return fake_attribute(logical_id, attribute) if attribute else refs[logical_id]

        return re.sub(r"\$\{([A-Za-z0-9.:]+)\}", one, text)

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(v) for v in node]
        if not isinstance(node, dict):
            return node
        if set(node) == {"Ref"} and node["Ref"] in replaced:
            return refs[node["Ref"]]
        if set(node) == {"Fn::GetAtt"} and node["Fn::GetAtt"][0] in replaced:
            return fake_attribute(*node["Fn::GetAtt"])
        if set(node) == {"Fn::Sub"}:
            value = node["Fn::Sub"]
            if isinstance(value, str):
                return {"Fn::Sub": sub_string(value)}
            return {"Fn::Sub": [sub_string(value[0]), walk(value[1])]}
        return {k: walk(v) for k, v in node.items()}

    for logical_id, resource in list(resources.items()):
        if logical_id in replaced:
            stand = {
                "Type": "AWS::SSM::Parameter",
                "Properties": {
                    "Name": f"/rehearsal/stand-in/{logical_id}",
                    "Type": "String",
                    "Value": f"stand-in for {resource['Type']}",
                },
            }
            for key in ("Condition", "DependsOn"):
                if key in resource:
                    stand[key] = resource[key]
            resources[logical_id] = stand
        else:
            resources[logical_id] = walk(resource)
    out["Outputs"] = walk(out.get("Outputs", {}))
    return out, replaced


def moto_quirks(template: dict) -> dict:
    """CloudFormation passes every parameter value as a string, so `Fn::Equals [Ref, "0"]`
    holds for a Number parameter set to 0; moto casts Number parameters to int and the
    comparison with "0" fails. The rehearsal declares them String (same values)."""
    for parameter in template.get("Parameters", {}).values():
        if parameter["Type"] == "Number":
            parameter["Type"] = "String"
            parameter.pop("MinValue", None)
            parameter.pop("MaxValue", None)
    return template


# -- the stream filter, as Lambda applies it (literal values, as this template uses) -------
def matches(pattern: Any, value: Any) -> bool:
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            k in value and matches(p, value[k]) for k, p in pattern.items()
        )
    if isinstance(pattern, list):
        if any(isinstance(p, (dict, list)) for p in pattern):
            raise NotImplementedError(f"filter operator not modelled: {pattern}")
        return value in pattern
    raise NotImplementedError(f"filter pattern not modelled: {pattern}")


def passes_filters(filter_criteria: dict, record: dict) -> bool:
    patterns = [json.loads(f["Pattern"]) for f in filter_criteria.get("Filters", [])]
    return not patterns or any(matches(p, record) for p in patterns)
