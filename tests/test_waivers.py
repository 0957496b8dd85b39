from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import boto3
import pytest

from auditor.config import ConfigError, load_config
from auditor.models import Status
from auditor.waivers import Waiver, apply_waivers, load_waivers
from reports.sarif import SarifRenderer
from tests.conftest import scan
from tests.reports.conftest import ACCOUNT, complete_findings, make_result

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TODAY = date(2026, 3, 2)
GOOD = """
[[waiver]]
check = "kms.cmk-rotation"
resource = "arn:aws:kms:us-east-1:*:key/k-1"
owner = "alice@example.com"
reason = "key retired in Q3"
expires = 2026-09-30

[[waiver]]
check = "iam.*"
resource = "123456789012"
owner = "bob"
reason = "root MFA is being shipped"
expires = "2026-03-02"
account = "123456789012"
region = "global"
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "waivers.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_load_valid_file(tmp_path):
    first, second = load_waivers(write(tmp_path, GOOD))
    assert first.expires == date(2026, 9, 30) and first.account is None
    assert second.check == "iam.*" and second.expires == date(2026, 3, 2) and second.region == "global"


@pytest.mark.parametrize("text, message", [
    ("[[waiver]]\ncheck = ", "is not valid TOML"),
    ('[[waiver]]\ncheck = "kms.*"\nresource = "*"\nreason = "r"\nexpires = 2026-01-01\n',
     "waiver 1: owner: Field required"),
    (GOOD + '\n[[waiver]]\ncheck = "kms.*"\nresource = "*"\nowner = "o"\nreason = "r"\nexpires = "soon"\n',
     "waiver 3: expires: Input should be a valid date"),
    ('[[waiver]]\ncheck = "kms.*"\nresource = "*"\nowner = "o"\nreason = "r"\nexpires = 2026-01-01\ncolour = 1\n',
     "waiver 1: colour: Extra inputs are not permitted"),
    ('[[waiver]]\ncheck = "kms.*"\nresource = "*"\nowner = "o"\nreason = "r"\nexpires = 2026-01-01\naccount = "12"\n',
     "waiver 1: account: String should match pattern"),
    ('[[waiver]]\ncheck = "kms.cmk-rotaton"\nresource = "*"\nowner = "o"\nreason = "r"\nexpires = 2026-01-01\n',
     "waiver 1: check: 'kms.cmk-rotaton' matches no known check"),
    ('[[waiver]]\ncheck = "kms.*"\nresource = "*"\nowner = ""\nreason = "r"\nexpires = 2026-01-01\n',
     "waiver 1: owner: String should have at least 1 character"),
    ('waiver = "everything"\n', "'waiver' must be an array of tables"),
    ('[[waivers]]\ncheck = "x"\n', "unknown top-level key 'waivers'"),
])
def test_bad_input_is_a_one_line_config_error(tmp_path, text, message):
    with pytest.raises(ConfigError) as err:
        load_waivers(write(tmp_path, text))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read waivers file .*nope.toml"):
        load_waivers(tmp_path / "nope.toml")


def test_empty_file_means_no_waivers(tmp_path):
    assert load_waivers(write(tmp_path, "")) == []


def _waiver(**kw) -> Waiver:
    base = {"check": "kms.cmk-rotation", "resource": "*", "owner": "alice", "reason": "accepted",
            "expires": date(2026, 12, 31)}
    return Waiver(**{**base, **kw})


def test_live_waiver_turns_fail_into_waived_and_recomputes_summary():
    result = make_result(complete_findings())
    out = apply_waivers(result, [_waiver(resource="*:key/k-1")], TODAY)
    [waived] = [f for f in out.findings if f.resource.id == "k-1" and f.check_id == "kms.cmk-rotation"]
    assert waived.status is Status.WAIVED
    assert waived.waiver == {"owner": "alice", "reason": "accepted", "expires": "2026-12-31",
                             "matched_by": "waiver 1 (check kms.cmk-rotation, resource *:key/k-1)"}
    assert out.summary.by_status["FAIL"] == result.summary.by_status["FAIL"] - 1
    assert out.summary.by_status["WAIVED"] == result.summary.by_status["WAIVED"] + 1
    assert out.summary.score != result.summary.score
    passes = [f for f in out.findings if f.status is Status.PASS]
    assert passes == [f for f in result.findings if f.status is Status.PASS]  # a waiver never touches a PASS


def test_matching_by_id_account_region_and_first_wins():
    result = make_result(complete_findings())
    root = [_waiver(check="iam.root-mfa", resource=ACCOUNT, owner="first", region="global", account=ACCOUNT),
            _waiver(check="iam.*", resource="*", owner="second")]
    out = apply_waivers(result, root, TODAY)
    owners = {f.check_id: f.waiver["owner"] for f in out.findings if f.waiver and f.check_id.startswith("iam.")}
    assert owners == {"iam.root-mfa": "first", "iam.user-console-mfa": "second"}
    elsewhere = apply_waivers(result, [_waiver(check="iam.root-mfa", resource="*", region="us-east-1"),
                                       _waiver(check="iam.root-mfa", resource="*", account="999999999999")], TODAY)
    assert all(f.status is Status.FAIL for f in elsewhere.findings if f.check_id == "iam.root-mfa")


def test_expired_waiver_stops_applying_and_is_reported():
    result = make_result(complete_findings())
    last_day = apply_waivers(result, [_waiver(resource="*k-1", expires=TODAY)], TODAY)
    assert any(f.status is Status.WAIVED and f.resource.id == "k-1" for f in last_day.findings)
    out = apply_waivers(result, [_waiver(resource="*k-1", expires=date(2026, 3, 1))], TODAY)
    assert all(f.status is not Status.WAIVED or f.resource.id == "legacy-2" for f in out.findings)
    assert out.warnings[-1] == ("waiver 1 for kms.cmk-rotation on *k-1 expired on 2026-03-01 (owner alice); "
                                "1 failing finding no longer waived")


def test_waived_is_visible_in_json_and_sarif(session):
    kms = boto3.client("kms", region_name="us-east-1")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    result = apply_waivers(scan(session, ["kms.cmk-rotation"]), [_waiver(resource=f"*{key_id}")], TODAY)
    assert [f.status for f in result.findings] == [Status.WAIVED]
    assert json.loads(result.model_dump_json())["findings"][0]["status"] == "WAIVED"
    [run] = [r for r in json.loads(SarifRenderer().render(result))["runs"] if r["results"]]
    assert run["results"][0]["suppressions"][0]["kind"] == "external"


def test_examples_load():
    assert load_waivers(EXAMPLES / "waivers.toml")
    load_config(EXAMPLES / "auditor.toml")
