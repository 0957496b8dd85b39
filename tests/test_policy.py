"""auditor.policy: the one place policy documents are read. Table-driven: each row is one policy shape."""
from __future__ import annotations

import json
import urllib.parse

import pytest

from auditor.policy import (
    Statement,
    action_matches,
    denied_outright,
    denies_without_mfa,
    expand,
    grants_full_admin,
    known_actions,
    labelled,
    mfa_requirement,
    on_all_resources,
    parse_document,
    partial_wildcard,
    principal_account,
    principal_kinds,
    resource_matches,
    restricting_conditions,
    service_wildcards,
    statements,
    unbounded_resource,
    whole_service,
)

SENSITIVE = ("iam", "kms", "s3")


def one(**raw) -> Statement:
    [s] = statements({"Statement": {"Effect": "Allow", **raw}})
    return s


# --- parsing -------------------------------------------------------------------------------------------------

def test_parse_document_shapes():
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    text = json.dumps(doc)
    assert parse_document(doc) is doc
    assert parse_document(text) == doc
    assert parse_document(urllib.parse.quote(text)) == doc  # IAM returns URL-encoded JSON
    assert parse_document(None) == {}


def test_single_statement_and_string_values_become_tuples():
    s = one(Action="s3:GetObject", Resource="arn:aws:s3:::b/*", Principal={"AWS": "111111111111"},
            NotPrincipal={"AWS": ["arn:aws:iam::222222222222:root"]}, Condition={"Bool": {"aws:SecureTransport": True}})
    assert s.actions == ("s3:GetObject",) and s.resources == ("arn:aws:s3:::b/*",)
    assert s.principals == {"AWS": ("111111111111",)} and not s.principal_star
    assert s.not_principals == {"AWS": ("arn:aws:iam::222222222222:root",)}
    assert s.conditions == {"Bool": {"aws:SecureTransport": ("True",)}}


def test_labelled_uses_sid_or_index():
    doc = {"Statement": [{"Sid": "Named", "Effect": "Allow", "Action": "*", "Resource": "*"},
                         {"Effect": "Deny", "Action": "*", "Resource": "*"}]}
    assert [label for label, _ in labelled(doc)] == ["Named", "#1"]


@pytest.mark.parametrize("principal, star, aws, kinds", [
    ("*", True, ("*",), {"AWS"}),
    ({"AWS": "*"}, True, ("*",), {"AWS"}),
    ({"AWS": ["111111111111", "arn:aws:iam::222222222222:role/x"]}, False,
     ("111111111111", "arn:aws:iam::222222222222:role/x"), {"AWS"}),
    ({"Service": "ec2.amazonaws.com"}, False, (), {"Service"}),
    ({"Federated": "arn:aws:iam::111111111111:saml-provider/okta"}, False, (), {"Federated"}),
    (None, False, (), set()),
])
def test_principals(principal, star, aws, kinds):
    raw = {"Action": "sts:AssumeRole"} | ({"Principal": principal} if principal else {})
    s = one(**raw)
    assert (s.principal_star, s.aws_principals(), principal_kinds(s)) == (star, aws, kinds)


# --- actions -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("pattern, action, expected", [
    ("s3:*", "s3:GetObject", True),
    ("S3:get*", "s3:GetObject", True),  # actions are case-insensitive
    ("s3:Put*", "s3:GetObject", False),
    ("iam:*Policy", "iam:PutUserPolicy", True),
    ("kms:?ecrypt", "kms:Decrypt", True),
    ("*", "ec2:RunInstances", True),
    ("s3:GetObject", "s3:GetObjectAcl", False),
])
def test_action_matches(pattern, action, expected):
    assert action_matches(pattern, action) is expected


@pytest.mark.parametrize("raw, action, expected", [
    ({"Action": "iam:*"}, "iam:PutRolePolicy", True),
    ({"NotAction": "iam:*"}, "iam:PutRolePolicy", False),  # everything except IAM
    ({"NotAction": "iam:*"}, "s3:DeleteBucket", True),
    ({"NotAction": ["iam:Get*", "iam:List*"]}, "iam:AttachUserPolicy", True),
    ({"Action": ["sts:AssumeRole", "sts:TagSession"]}, "sts:AssumeRole", True),
])
def test_matches_action_with_not_action(raw, action, expected):
    assert one(Resource="*", **raw).matches_action(action) is expected


@pytest.mark.parametrize("pattern, whole, partial", [
    ("s3:*", True, False),
    ("S3:**", True, False),
    ("s3:Put*", False, True),
    ("iam:*Policy", False, True),
    ("kms:?ecrypt", False, True),
    ("s3:GetObject", False, False),
    ("*", False, False),  # every service: full admin, judged by iam.policy-no-full-admin
    ("*:*", False, False),
    ("s*:Get*", False, False),  # a wildcard in the service part names no one service
])
def test_wildcard_kinds(pattern, whole, partial):
    assert (whole_service(pattern), partial_wildcard(pattern)) == (whole, partial)


def test_known_actions_and_expand():
    iam = known_actions("iam")
    assert iam and "iam:PutUserPolicy" in iam and "iam:PassRole" in iam  # PassRole has no API of its name
    assert known_actions("IAM") == iam
    assert known_actions("ec2") is None  # API and action names differ too often to enumerate
    assert expand("iam:Put*Policy") == {"iam:PutUserPolicy", "iam:PutGroupPolicy", "iam:PutRolePolicy"}
    assert expand("iam:CreatePolicy*") == {"iam:CreatePolicy", "iam:CreatePolicyVersion"}
    assert "cloudtrail:StopLogging" in expand("cloudtrail:Stop*") and "cloudtrail:StartLogging" not in \
        expand("cloudtrail:Stop*")
    assert expand("s3:GetObject") == {"s3:GetObject"}  # exact names expand to themselves
    assert expand("ec2:Describe*") is None and expand("*") is None and expand("*:Get*") is None


@pytest.mark.parametrize("raw, action, expected", [
    ({"Effect": "Deny", "Action": "iam:*", "Resource": "*"}, "iam:PutUserPolicy", True),
    ({"Effect": "Deny", "NotAction": "s3:*", "Resource": "*"}, "iam:PutUserPolicy", True),
    ({"Effect": "Deny", "Action": "iam:*", "Resource": "arn:aws:iam::*:role/x"}, "iam:PutUserPolicy", False),
    ({"Effect": "Deny", "Action": "iam:*", "Resource": "*",
      "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}, "iam:PutUserPolicy", False),
    ({"Effect": "Allow", "Action": "iam:*", "Resource": "*"}, "iam:PutUserPolicy", False),
])
def test_denied_outright(raw, action, expected):
    [s] = statements({"Statement": raw})
    assert denied_outright(s, action) is expected


def test_grants_full_admin_unchanged():
    assert grants_full_admin(one(Action="*", Resource="*"))
    assert grants_full_admin(one(Action=["s3:GetObject", "*:*"], Resource=["*"]))
    assert not grants_full_admin(one(NotAction="iam:*", Resource="*"))
    assert not grants_full_admin(one(Action="*", Resource="arn:aws:s3:::b/*"))


# --- resources -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("pattern, arn, expected", [
    ("*", "arn:aws:iam::111111111111:role/admin", True),
    ("arn:aws:iam::*:role/*", "arn:aws:iam::111111111111:role/path/admin", True),
    ("arn:aws:iam::111111111111:role/Admin", "arn:aws:iam::111111111111:role/admin", False),  # case-sensitive
    ("arn:aws:iam::111111111111:role/adm?n", "arn:aws:iam::111111111111:role/admin", True),
    ("arn:aws:iam::*:user/${aws:username}", "arn:aws:iam::111111111111:user/alice", True),
    ("arn:aws:s3:::b[1]", "arn:aws:s3:::b[1]", True),  # no character classes in IAM
])
def test_resource_matches(pattern, arn, expected):
    assert resource_matches(pattern, arn) is expected


def test_matches_resource_with_not_resource():
    assert one(Action="*", NotResource="arn:aws:iam::*:role/admin").matches_resource("arn:aws:iam::1:role/dev")
    assert not one(Action="*", NotResource="arn:aws:iam::*:role/admin").matches_resource("arn:aws:iam::1:role/admin")
    assert one(Action="*", Resource=["arn:aws:iam::1:role/a", "arn:aws:iam::1:role/b"]).matches_resource(
        "arn:aws:iam::1:role/b")


@pytest.mark.parametrize("resource, expected", [
    ("*", True),
    ("arn:aws:s3:::*", True),
    ("arn:aws:kms:*:*:key/*", True),
    ("arn:aws:kms:us-east-1:111111111111:*", True),
    ("arn:aws:iam::111111111111:role/*", True),
    ("arn:aws:s3:::logs/*", False),  # one bucket's objects
    ("arn:aws:kms:us-east-1:111111111111:key/1234", False),
    ("arn:aws:iam::111111111111:role/app-*", False),
])
def test_unbounded_resource(resource, expected):
    assert unbounded_resource(resource) is expected


@pytest.mark.parametrize("raw, expected", [
    ({"Action": "kms:*", "Resource": "*"}, ["kms:*"]),
    ({"Action": ["s3:GetObject", "S3:*", "kms:Decrypt"], "Resource": ["*"]}, ["S3:*"]),
    ({"Action": "iam:Put*", "Resource": "*"}, ["iam:Put*"]),  # verb wildcard of a sensitive service
    ({"Action": "ec2:Describe*", "Resource": "*"}, []),  # verb wildcard of an ordinary service
    ({"Action": "s3:*", "Resource": "arn:aws:s3:::logs/*"}, []),  # scoped
    ({"Action": "s3:*", "Resource": "arn:aws:s3:::*"}, ["s3:*"]),
    ({"Action": "s3:*", "NotResource": "arn:aws:s3:::secret/*"}, ["s3:*"]),  # everything but one bucket
    ({"NotAction": "iam:*", "Resource": "*"}, ["NotAction iam:*"]),  # every other service
    ({"Action": "*", "Resource": "*"}, []),  # full admin: another check
    ({"Effect": "Deny", "Action": "s3:*", "Resource": "*"}, []),
])
def test_service_wildcards(raw, expected):
    [s] = statements({"Statement": {"Effect": "Allow", **raw}})
    assert service_wildcards(s, SENSITIVE) == expected


def test_on_all_resources():
    assert on_all_resources(one(Action="s3:*", Resource="*"))
    assert on_all_resources(one(Action="s3:*", NotResource="arn:aws:s3:::x"))
    assert not on_all_resources(one(Action="s3:*", Resource="arn:aws:s3:::x"))


# --- conditions ----------------------------------------------------------------------------------------------

ORG_KEYS = ("aws:PrincipalOrgID", "aws:PrincipalAccount", "sts:ExternalId")


@pytest.mark.parametrize("condition, expected", [
    ({"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}, ["StringEquals:aws:PrincipalOrgID"]),
    ({"StringEquals": {"AWS:principalorgid": ["o-abc123"]}}, ["StringEquals:AWS:principalorgid"]),  # keys: any case
    ({"StringLike": {"aws:PrincipalOrgID": "o-abc*"}}, ["StringLike:aws:PrincipalOrgID"]),
    ({"StringLike": {"aws:PrincipalOrgID": "*"}}, []),  # wildcard value: decorative
    ({"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-abc123"}}, []),  # true when the key is absent
    ({"ForAllValues:StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}, []),  # true for an empty set
    ({"ForAnyValue:StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}, ["ForAnyValue:StringEquals:aws:PrincipalOrgID"]),
    ({"StringNotEquals": {"aws:PrincipalAccount": "111111111111"}}, []),  # negated: everyone else gets in
    ({"StringEquals": {"sts:ExternalId": ""}}, []),
    ({"StringEquals": {"sts:ExternalId": "vendor-7f3a"}}, ["StringEquals:sts:ExternalId"]),
    ({"Bool": {"aws:SecureTransport": "true"}}, []),  # not about who calls
    ({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/x"}}, []),  # any account
    ({"StringEquals": {"aws:SourceIp": "10.0.0.0/8"}}, []),  # not one of the keys asked about
])
def test_restricting_conditions(condition, expected):
    s = one(Action="sts:AssumeRole", Principal="*", Condition=condition)
    assert restricting_conditions(s, (*ORG_KEYS, "aws:PrincipalArn")) == expected


@pytest.mark.parametrize("condition, expected", [
    ({"Bool": {"aws:MultiFactorAuthPresent": "true"}}, "Bool"),
    ({"Bool": {"aws:MultiFactorAuthPresent": True}}, "Bool"),
    ({"Bool": {"AWS:MultiFactorAuthPresent": "TRUE"}}, "Bool"),
    ({"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}, "BoolIfExists"),  # decorative for access keys
    ({"Bool": {"aws:MultiFactorAuthPresent": "false"}}, None),
    ({"Bool": {"aws:MultiFactorAuthPresent": ["true", "false"]}}, None),
    ({"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}, "MultiFactorAuthAge"),
    ({"NumericLessThanEquals": {"aws:MultiFactorAuthAge": "3600"}}, "MultiFactorAuthAge"),
    ({"NumericGreaterThan": {"aws:MultiFactorAuthAge": "3600"}}, None),
    ({"NumericLessThanIfExists": {"aws:MultiFactorAuthAge": "3600"}}, None),
    ({"Null": {"aws:MultiFactorAuthAge": "false"}}, None),
    ({"StringEquals": {"sts:ExternalId": "x"}}, None),
    ({}, None),
])
def test_mfa_requirement(condition, expected):
    raw = {"Action": "sts:AssumeRole", "Principal": {"AWS": "111111111111"}}
    assert mfa_requirement(one(**raw, **({"Condition": condition} if condition else {}))) == expected


NO_MFA = {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}


@pytest.mark.parametrize("raw, expected", [
    ({"Effect": "Deny", "Action": "sts:AssumeRole", "Condition": NO_MFA}, True),
    ({"Effect": "Deny", "Action": "*", "Condition": {"Null": {"aws:MultiFactorAuthPresent": "true"}}}, True),
    ({"Effect": "Deny", "Action": "sts:AssumeRole", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}},
     False),  # plain Bool: absent key (access keys) is not denied
    ({"Effect": "Deny", "Action": "sts:AssumeRole", "Condition": {
        "BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}, "StringEquals": {"aws:PrincipalAccount": "1"}}},
     False),  # narrowed by another condition
    ({"Effect": "Deny", "Action": "s3:*", "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}},
     False),
    ({"Effect": "Allow", "Action": "sts:AssumeRole", "Condition": {
        "BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}, False),
])
def test_denies_without_mfa(raw, expected):
    [s] = statements({"Statement": {"Principal": "*", **raw}})
    assert denies_without_mfa(s, "sts:AssumeRole") is expected


# --- principals ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("principal, account", [
    ("*", "*"),
    ("111111111111", "111111111111"),
    ("arn:aws:iam::111111111111:root", "111111111111"),
    ("arn:aws:iam::111111111111:user/team/alice", "111111111111"),
    ("arn:aws:sts::111111111111:assumed-role/r/session", "111111111111"),
    ("arn:aws:iam::*:root", "*"),
    ("arn:aws:iam::1111*:role/x", "*"),
    ("AROAEXAMPLEDELETEDROLE", None),  # what IAM shows once the trusted principal is deleted
    ("arn:aws-cn:iam::111111111111:root", "111111111111"),
])
def test_principal_account(principal, account):
    assert principal_account(principal) == account
