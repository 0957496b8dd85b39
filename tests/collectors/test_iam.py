from __future__ import annotations

import json

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from auditor.collectors import COLLECTORS, CollectContext
from auditor.collectors import iam as iam_collector
from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.runner import collect, select_checks
from auditor.session import AuditSession
from tests.conftest import deny

ADMIN = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def recorded(session: AuditSession, operation: str, response: dict | None = None, error: str = "") -> list[dict]:
    """Answer 'service.Operation' with a recorded response (or error code) where moto lacks the API.

    Returning (http_response, parsed) from a before-call handler makes botocore skip the request. Returns the
    list of request params seen, so tests can count calls.
    """
    service, op = operation.split(".")
    seen: list[dict] = []

    def answer(params: dict, **_: object) -> tuple[AWSResponse, dict]:
        seen.append(params)
        if error:
            return AWSResponse("https://recorded", 400, {}, None), {
                "Error": {"Code": error, "Message": "recorded"}, "ResponseMetadata": {"HTTPStatusCode": 400}}
        return AWSResponse("https://recorded", 200, {}, None), {**(response or {}),
                                                                "ResponseMetadata": {"HTTPStatusCode": 200}}
    session.boto._session.register(f"before-call.{service}.{op}", answer)
    session._clients.clear()
    return seen


FEATURES = {"OrganizationId": "o-abc123", "EnabledFeatures": ["RootSessions", "RootCredentialsManagement"]}


def _inventory(session: AuditSession) -> Inventory:
    inv = collect(session, select_checks(["iam.*"]), ["us-east-1"], AuditConfig(workers=4))
    # iam.* checks also pull in other collectors (organizations, access analyzer...): only the iam one is tested here
    return inv.model_copy(update={"gaps": [g for g in inv.gaps if g.dataset.startswith("iam.")]})


def _account() -> None:
    iam = boto3.client("iam")
    arn = iam.create_policy(PolicyName="Everything", PolicyDocument=ADMIN)["Policy"]["Arn"]
    iam.create_policy(PolicyName="Unused", PolicyDocument=ADMIN)
    iam.create_group(GroupName="admins")
    iam.attach_group_policy(GroupName="admins", PolicyArn=arn)
    iam.put_group_policy(GroupName="admins", PolicyName="g-inline", PolicyDocument=ADMIN)
    iam.create_user(UserName="alice")
    iam.add_user_to_group(GroupName="admins", UserName="alice")
    iam.put_user_policy(UserName="alice", PolicyName="u-inline", PolicyDocument=ADMIN)
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=TRUST)
    iam.attach_role_policy(RoleName="app", PolicyArn=arn)


def test_collects_every_dataset_with_one_call_each(session):
    _account()
    asked = recorded(session, "iam.ListOrganizationsFeatures", FEATURES)
    inv = _inventory(session)
    sec = inv.iam
    assert inv.gaps == []
    assert [u.name for u in sec.users] == ["alice"] and sec.users[0].groups == ["admins"]
    assert [p.name for p in sec.users[0].inline_policies] == ["u-inline"]
    assert sec.users[0].inline_policies[0].document["Statement"][0]["Action"] == "*"
    assert [g.name for g in sec.groups] == ["admins"] and sec.groups[0].attached_policies[0].name == "Everything"
    assert sec.roles[0].name == "app" and sec.roles[0].trust_policy["Statement"][0]["Principal"]
    assert sorted(p.name for p in sec.policies) == ["Everything", "Unused"]
    assert all(not p.aws_managed and p.document for p in sec.policies)
    assert [r.user for r in sec.user_rows()] == ["alice"] and sec.root_row() is None  # moto has no root row
    assert sec.account_summary["AccountMFAEnabled"] == 0
    assert sec.password_policy.exists is False  # NoSuchEntity is data
    assert sec.virtual_mfa_devices == [] and sec.support_access.roles == []
    ours = {a.split(":")[1] for a in COLLECTORS.get("iam").permissions}  # other collectors read iam too
    calls = {k.split(":")[2]: n for k, n in inv.api_calls.items() if k.startswith("iam:")}
    iam_calls = {op: n for op, n in calls.items() if op in ours}
    assert iam_calls == {"GenerateCredentialReport": 1, "GetCredentialReport": 1, "GetAccountSummary": 1,
                         "GetAccountPasswordPolicy": 1, "GetAccountAuthorizationDetails": 1,
                         "ListVirtualMFADevices": 1, "ListEntitiesForPolicy": 1, "ListServerCertificates": 1,
                         "ListSAMLProviders": 1, "ListOpenIDConnectProviders": 1}
    assert len(asked) == 1  # the recorded answer short-circuits before the call counter
    assert sec.server_certificates == [] and sec.saml_providers == [] and sec.oidc_providers == []
    assert sec.organizations_features.enabled_features == ["RootCredentialsManagement", "RootSessions"]


def test_password_policy_fields(session):
    boto3.client("iam").update_account_password_policy(MinimumPasswordLength=15, PasswordReusePrevention=24,
                                                       RequireSymbols=True, MaxPasswordAge=90)
    pp = _inventory(session).iam.password_policy
    assert (pp.exists, pp.minimum_length, pp.reuse_prevention, pp.require_symbols, pp.require_numbers,
            pp.max_age_days) == (True, 15, 24, True, False, 90)


def test_mfa_devices_keep_no_seed(session):
    iam = boto3.client("iam")
    iam.create_user(UserName="alice")
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(UserName="alice", SerialNumber=serial, AuthenticationCode1="123456",
                          AuthenticationCode2="654321")
    inv = _inventory(session)
    [dev] = inv.iam.virtual_mfa_devices
    assert dev.serial == serial and dev.user_name == "alice" and dev.enable_date
    assert "Base32StringSeed" not in inv.model_dump_json() and "QRCode" not in inv.model_dump_json()
    assert inv.iam.user_rows()[0].mfa_active is True


def test_one_denial_blinds_only_its_dataset(session):
    _account()
    recorded(session, "iam.ListOrganizationsFeatures", FEATURES)
    deny(session, "iam.GetAccountAuthorizationDetails")
    inv = _inventory(session)
    assert [(g.dataset, g.iam_action, g.error_code) for g in inv.gaps] == [
        ("iam.authorization", "iam:GetAccountAuthorizationDetails", "AccessDenied")]
    assert inv.iam.users is None and inv.iam.policies is None  # never an empty list
    assert inv.iam.credential_report is not None and inv.iam.account_summary is not None


def test_report_generation_denied_is_a_gap(session):
    deny(session, "iam.GenerateCredentialReport")
    inv = _inventory(session)
    assert [g.dataset for g in inv.gaps if g.dataset.startswith("iam.credential")] == ["iam.credential_report"]
    assert inv.iam.credential_report is None


def test_report_polled_until_ready(session, monkeypatch):
    monkeypatch.setattr(iam_collector.time, "sleep", lambda s: None)
    attempts = []

    def not_yet(model, **_):
        if model.name == "GetCredentialReport" and len(attempts) < 2:
            attempts.append(1)
            raise ClientError({"Error": {"Code": "ReportInProgress", "Message": "wait"},
                               "ResponseMetadata": {"HTTPStatusCode": 404}}, model.name)
    session.boto._session.register("before-call", not_yet)
    session._clients.clear()
    boto3.client("iam").create_user(UserName="alice")
    recorded(session, "iam.ListOrganizationsFeatures", FEATURES)
    inv = _inventory(session)
    assert inv.gaps == [] and len(attempts) == 2 and [r.user for r in inv.iam.credential_report] == ["alice"]


def test_report_deadline_is_a_gap(session, monkeypatch):
    monkeypatch.setattr(iam_collector, "_REPORT_DEADLINE_SECONDS", 0.0)
    recorded(session, "iam.ListOrganizationsFeatures", FEATURES)
    deny(session, "iam.GetCredentialReport", code="ReportInProgress")
    inv = _inventory(session)
    [gap] = inv.gaps
    assert (gap.dataset, gap.operation, gap.error_code) == ("iam.credential_report", "GetCredentialReport",
                                                            "ReportInProgress")
    assert inv.iam.credential_report is None


def test_unparseable_report_is_a_gap(session, monkeypatch):
    monkeypatch.setattr(iam_collector, "parse_credential_report",
                        lambda c: (_ for _ in ()).throw(iam_collector.CredentialReportError("bad csv")))
    recorded(session, "iam.ListOrganizationsFeatures", FEATURES)
    inv = _inventory(session)
    assert [g.dataset for g in inv.gaps] == ["iam.credential_report"] and inv.iam.credential_report is None


def test_pages_follow_the_marker_across_all_keys(session):
    spec = COLLECTORS.get("iam")
    ctx = CollectContext(session, spec, "global", "123456789012", "aws")
    client = session.client("iam")
    with Stubber(client) as stub:
        stub.add_response("get_account_authorization_details",
                          {"UserDetailList": [{"UserName": "a"}], "RoleDetailList": [], "IsTruncated": True,
                           "Marker": "m1"}, {})
        stub.add_response("get_account_authorization_details",
                          {"UserDetailList": [{"UserName": "b"}], "RoleDetailList": [{"RoleName": "r"}],
                           "IsTruncated": False}, {"Marker": "m1"})
        got = ctx.paginate_many("iam.authorization", client, "get_account_authorization_details",
                                ("UserDetailList", "RoleDetailList"))
    assert got == {"UserDetailList": [{"UserName": "a"}, {"UserName": "b"}], "RoleDetailList": [{"RoleName": "r"}]}


@pytest.fixture
def managed_session(aws_managed_policies) -> AuditSession:
    return AuditSession(region="us-east-1", workers=4, max_attempts=2)


def test_only_attached_aws_managed_policies_are_kept(managed_session):
    iam = boto3.client("iam")
    iam.create_role(RoleName="support", AssumeRolePolicyDocument=TRUST)
    iam.attach_role_policy(RoleName="support", PolicyArn="arn:aws:iam::aws:policy/AWSSupportAccess")
    iam.create_user(UserName="boot")
    iam.attach_user_policy(UserName="boot", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    sec = _inventory(managed_session).iam
    assert [(p.name, p.aws_managed) for p in sec.policies] == [("AWSSupportAccess", True),
                                                                ("AdministratorAccess", True)]
    assert sec.policies[1].document["Statement"][0]["Action"] == "*"
    assert sec.support_access.roles == ["support"] and sec.support_access.users == []


def test_snapshot_round_trips(session):
    _account()
    inv = _inventory(session)
    again = Inventory.model_validate(json.loads(inv.model_dump_json()))
    assert again.iam == inv.iam and again.iam.user_rows()[0].resource_type == "AWS::IAM::User"


CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"


def test_user_tags_certificates_and_identity_providers(session):
    iam = boto3.client("iam")
    iam.create_user(UserName="deployer", Tags=[{"Key": "identity-type", "Value": "service"}])
    iam.upload_server_certificate(ServerCertificateName="web", CertificateBody=CERT, PrivateKey="not-a-key")
    iam.create_saml_provider(Name="okta", SAMLMetadataDocument="x" * 1000)
    iam.create_open_id_connect_provider(Url="https://token.actions.githubusercontent.com", ThumbprintList=["a" * 40],
                                        ClientIDList=["sts.amazonaws.com"])
    sec = _inventory(session).iam
    assert sec.users[0].tags == {"identity-type": "service"}
    [cert] = sec.server_certificates
    assert (cert.name, cert.resource_type, cert.expiration.year) == ("web", "AWS::IAM::ServerCertificate", 2012)
    assert "not-a-key" not in sec.model_dump_json()
    assert [(p.kind, p.name) for p in sec.saml_providers] == [("saml", "okta")]
    assert sec.saml_providers[0].valid_until is not None
    assert [(p.kind, p.name) for p in sec.oidc_providers] == [("oidc", "token.actions.githubusercontent.com")]


def test_identity_provider_denial_is_a_gap_never_an_empty_list(session):
    deny(session, "iam.ListOpenIDConnectProviders")
    inv = _inventory(session)
    assert ("iam.identity_providers", "iam:ListOpenIDConnectProviders") in {(g.dataset, g.iam_action)
                                                                             for g in inv.gaps}
    assert inv.iam.oidc_providers is None and inv.iam.saml_providers == []


@pytest.mark.parametrize("code", iam_collector.ORG_FEATURE_REFUSALS)
def test_organizations_feature_refusals_are_data(session, code):
    recorded(session, "iam.ListOrganizationsFeatures", error=code)
    inv = _inventory(session)
    assert not [g for g in inv.gaps if g.dataset == "iam.organizations_features"]
    feats = inv.iam.organizations_features
    assert (feats.refused, feats.enabled_features) == (code, None)


def test_organizations_features_other_failures_are_gaps(session):
    inv = _inventory(session)  # moto: not implemented
    [gap] = [g for g in inv.gaps if g.dataset == "iam.organizations_features"]
    assert (gap.error_code, gap.iam_action) == ("Unsupported", "iam:ListOrganizationsFeatures")
    assert inv.iam.organizations_features is None
    recorded(session, "iam.ListOrganizationsFeatures", error="ServiceFailure")
    [gap] = [g for g in _inventory(session).gaps if g.dataset == "iam.organizations_features"]
    assert gap.error_code == "ServiceFailure"
