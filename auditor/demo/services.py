"""Demo services: file systems, tables, queues, topics, secrets, functions, APIs and load balancers, each with a
careful and a hurried example, plus tags for the tagging and IaC checks.

Everything the web team deploys with Terraform carries the five required tags and managed-by=terraform; what was
clicked together in the console carries none.
"""
from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from auditor.demo import DemoContext, demo_step

R, EU = "us-east-1", "eu-west-1"
TF = {"org": "acme", "project": "shop", "stack": "prod", "stage": "prod", "role": "app", "managed-by": "terraform"}
VIS = {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "acme-api"}
_KEYS = {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
         "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"}


def _tags(d: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in d.items()]


def _allow(principal: Any, action: str, **extra: Any) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Open", "Effect": "Allow", "Principal": principal, "Action": action, "Resource": "*", **extra}]})


@demo_step("services")
def services(ctx: DemoContext) -> None:
    _stores(ctx)
    _messaging(ctx)
    _secrets_and_functions(ctx)
    _apis(ctx)
    _load_balancers(ctx)


def _stores(ctx: DemoContext) -> None:
    ctx.client("efs", R).create_file_system(CreationToken="acme-shared", Encrypted=True, Tags=_tags(
        {"Name": "acme-shared", **TF}))
    ctx.client("efs", EU).create_file_system(CreationToken="acme-scratch", Tags=[{"Key": "Name", "Value": "scratch"}])
    ddb = ctx.client("dynamodb", R)
    ddb.create_table(TableName="acme-orders", SSESpecification={"Enabled": True, "SSEType": "KMS"}, Tags=_tags(TF),
                     **_KEYS)
    ddb.create_table(TableName="acme-sessions", **_KEYS)
    ctx.notes.append("services: EFS acme-shared encrypted, scratch (eu-west-1) not; DynamoDB acme-orders KMS, "
                     "acme-sessions AWS-owned key")


def _messaging(ctx: DemoContext) -> None:
    sqs = ctx.client("sqs", R)
    sqs.create_queue(QueueName="acme-jobs", Attributes={"KmsMasterKeyId": "alias/aws/sqs"}, tags=TF)
    sqs.create_queue(QueueName="acme-jobs-dlq")
    sqs.create_queue(QueueName="acme-webhooks", Attributes={"SqsManagedSseEnabled": "false",
                                                            "Policy": _allow("*", "sqs:SendMessage")})
    sns = ctx.client("sns", R)
    sns.create_topic(Name="acme-deploys", Attributes={"KmsMasterKeyId": "alias/aws/sns"}, Tags=_tags(TF))
    sns.create_topic(Name="acme-newsletter", Attributes={"Policy": _allow({"AWS": "*"}, "sns:Subscribe")})
    ctx.client("kms", R).create_key(Description="shared with a partner", Policy=_allow({"AWS": "*"}, "kms:Decrypt"))
    ctx.notes.append("services: SQS acme-jobs KMS, acme-jobs-dlq SSE-SQS, acme-webhooks unencrypted and public; "
                     "SNS acme-deploys KMS, acme-newsletter plain and public; a KMS key open to every AWS account")


def _function(ctx: DemoContext, name: str, role: str) -> str:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("main.py", "def handler(event, context):\n    return None\n")
    return ctx.client("lambda", R).create_function(
        FunctionName=name, Runtime="python3.12", Role=role, Handler="main.handler", Code={"ZipFile": buf.getvalue()},
        Tags=TF)["FunctionArn"]


def _secrets_and_functions(ctx: DemoContext) -> None:
    role = ctx.client("iam", R).create_role(RoleName="acme-lambda", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    rotator = _function(ctx, "acme-secret-rotator", role)
    _function(ctx, "acme-thumbnailer", role)
    ctx.client("lambda", R).add_permission(FunctionName="acme-thumbnailer", StatementId="anyone",
                                           Action="lambda:InvokeFunction", Principal="*")
    sm = ctx.client("secretsmanager", R)
    sm.create_secret(Name="acme/orders-db", SecretString="demo-only", Tags=_tags(TF))
    sm.rotate_secret(SecretId="acme/orders-db", RotationLambdaARN=rotator,
                     RotationRules={"AutomaticallyAfterDays": 30}, RotateImmediately=False)
    sm.create_secret(Name="acme/stripe-key", SecretString="demo-only")
    sm.put_resource_policy(SecretId="acme/stripe-key", ResourcePolicy=_allow("*", "secretsmanager:GetSecretValue"))
    ctx.notes.append("services: secret acme/orders-db rotates every 30 days, acme/stripe-key never rotates and is "
                     "public; Lambda acme-thumbnailer invocable by anyone")


def _rest_api(ctx: DemoContext, name: str, auth: dict[str, str], endpoint: str = "REGIONAL",
              policy: str | None = None, tags: dict[str, str] | None = None) -> str:
    ag = ctx.client("apigateway", R)
    api = ag.create_rest_api(name=name, endpointConfiguration={"types": [endpoint]}, tags=tags or {},
                             **({"policy": policy} if policy else {}))["id"]
    root = ag.get_resources(restApiId=api)["items"][0]["id"]
    res = ag.create_resource(restApiId=api, parentId=root, pathPart="orders")["id"]
    for verb, kind in auth.items():
        ag.put_method(restApiId=api, resourceId=res, httpMethod=verb, authorizationType=kind)
        ag.put_integration(restApiId=api, resourceId=res, httpMethod=verb, type="HTTP_PROXY",
                           integrationHttpMethod=verb, uri="https://orders.internal.acme.example/orders")
    ag.create_deployment(restApiId=api, stageName="prod")
    return api


def _apis(ctx: DemoContext) -> None:
    ag = ctx.client("apigateway", R)
    shop = _rest_api(ctx, "acme-shop-api", {"GET": "NONE", "POST": "AWS_IAM"}, tags=TF)
    ag.update_stage(restApiId=shop, stageName="prod", patchOperations=[
        {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "200"},
        {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "100"},
        {"op": "replace", "path": "/accessLogSettings/destinationArn",
         "value": f"arn:aws:logs:{R}:123456789012:log-group:api-access"},
        {"op": "replace", "path": "/accessLogSettings/format", "value": "$context.requestId"}])
    ag.create_deployment(restApiId=shop, stageName="beta")
    waf = ctx.client("wafv2", R)
    acl = waf.create_web_acl(Name="acme-api", Scope="REGIONAL", DefaultAction={"Allow": {}}, VisibilityConfig=VIS,
                             Rules=[{"Name": "rate", "Priority": 0, "Action": {"Block": {}}, "VisibilityConfig": VIS,
                                     "Statement": {"RateBasedStatement": {"Limit": 1000,
                                                                          "AggregateKeyType": "IP"}}}])["Summary"]
    waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=f"arn:aws:apigateway:{R}::/restapis/{shop}/stages/prod")
    vpce_only = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*"},
        {"Sid": "OnlyFromVpce", "Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke",
         "Resource": "execute-api:/*", "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-0a1b2c3d"}}}]})
    _rest_api(ctx, "acme-ledger-private", {"GET": "NONE"}, endpoint="PRIVATE", policy=vpce_only)
    _rest_api(ctx, "acme-reports-private", {"GET": "NONE"}, endpoint="PRIVATE",
              policy=_allow("*", "execute-api:Invoke"))
    _rest_api(ctx, "acme-admin-api", {"GET": "AWS_IAM"}, tags={"exposure": "internal"})
    v2 = ctx.client("apigatewayv2", R)
    http = v2.create_api(Name="acme-mobile-http", ProtocolType="HTTP", Tags=TF)["ApiId"]
    v2.create_route(ApiId=http, RouteKey="GET /catalog", AuthorizationType="NONE")
    v2.create_route(ApiId=http, RouteKey="POST /cart", AuthorizationType="JWT")
    v2.create_stage(ApiId=http, StageName="$default")
    ctx.notes.append("services: REST acme-shop-api prod stage throttled, logged, WAF with a rate rule, beta stage "
                     "bare, GET /orders open; PRIVATE acme-ledger-private fenced to a VPC endpoint, "
                     "acme-reports-private open policy; internal-tagged acme-admin-api without source limits; "
                     "HTTP acme-mobile-http GET /catalog open, no throttling or logging")


def _load_balancers(ctx: DemoContext) -> None:
    subnets = [s["SubnetId"] for s in ctx.client("ec2", R).describe_subnets(
        Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]][:2]
    elb = ctx.client("elbv2", R)
    web = elb.create_load_balancer(Name="acme-web", Subnets=subnets, Scheme="internet-facing", Type="application",
                                   Tags=_tags(TF))["LoadBalancers"][0]["LoadBalancerArn"]
    elb.modify_load_balancer_attributes(LoadBalancerArn=web, Attributes=[
        {"Key": "access_logs.s3.enabled", "Value": "true"},
        {"Key": "access_logs.s3.bucket", "Value": "acme-access-logs"},
        {"Key": "access_logs.s3.prefix", "Value": "alb/acme-web"}])
    elb.create_listener(LoadBalancerArn=web, Protocol="HTTP", Port=80, DefaultActions=[
        {"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}])
    waf = ctx.client("wafv2", R)
    acl = waf.create_web_acl(Name="acme-web", Scope="REGIONAL", DefaultAction={"Allow": {}},
                             VisibilityConfig={**VIS, "MetricName": "acme-web"})["Summary"]["ARN"]
    waf.associate_web_acl(WebACLArn=acl, ResourceArn=web)
    legacy = elb.create_load_balancer(Name="acme-legacy", Subnets=subnets, Scheme="internet-facing",
                                      Type="application")["LoadBalancers"][0]["LoadBalancerArn"]
    elb.create_listener(LoadBalancerArn=legacy, Protocol="HTTP", Port=80, DefaultActions=[
        {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}])
    ctx.notes.append("services: ALB acme-web redirects HTTP to HTTPS, logs to S3 and has WAF; ALB acme-legacy serves "
                     "plain HTTP without logs or WAF")
