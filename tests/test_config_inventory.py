from __future__ import annotations

import pytest

from auditor.config import ConfigError, load_config
from auditor.inventory import Inventory
from auditor.runner import evaluate, select_checks
from tests.conftest import scan


def test_config_defaults_come_from_the_checklist():
    cfg = load_config(None)
    assert cfg.password_min_length == 14 and cfg.credential_max_unused_days == 45
    assert cfg.justification_tag == "public-ingress-justification" and cfg.min_justification_chars == 20


def test_config_file_overrides(tmp_path):
    p = tmp_path / "a.toml"
    p.write_text("[auditor]\npassword_min_length = 16\nadmin_ports = [22, 3389, 5985]\n")
    cfg = load_config(p)
    assert cfg.password_min_length == 16 and cfg.admin_ports == [22, 3389, 5985]


@pytest.mark.parametrize("text,match", [
    ("password_min_length = 2", "password_min_length"),
    ("no_such_option = 1", "no_such_option: Extra inputs"),
    ("this is not toml", "not valid TOML"),
    ("workers = 'many'", "workers"),
])
def test_config_errors_are_one_line(tmp_path, text, match):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=match) as exc:
        load_config(p)
    assert "\n" not in str(exc.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "nope.toml")


def test_inventory_round_trip_gives_identical_verdicts(session, tmp_path):
    import boto3

    kms = boto3.client("kms", region_name="us-east-1")
    kms.create_key()
    from auditor.config import AuditConfig
    from auditor.runner import collect

    specs = select_checks(["kms.*"])
    cfg = AuditConfig(workers=2)
    inv = collect(session, specs, ["us-east-1"], cfg)
    path = tmp_path / "inv.json"
    path.write_text(inv.model_dump_json())
    loaded = Inventory.model_validate_json(path.read_text())
    assert loaded == inv
    assert evaluate(loaded, specs, cfg) == evaluate(inv, specs, cfg)
    assert type(loaded.kms.keys[0]).__name__ == "KmsKey"


def test_two_scans_of_one_account_are_identical(session):
    import boto3

    for region in ("us-east-1", "eu-west-1"):
        boto3.client("kms", region_name=region).create_key()
    a = scan(session, ["kms.*"], regions=["us-east-1", "eu-west-1"])
    b = scan(session, ["kms.*"], regions=["us-east-1", "eu-west-1"])
    assert a.findings == b.findings


def test_network_errors_become_gaps_not_crashes(session):
    """botocore's connection errors carry response=None; they must be gaps with a network code, per region."""
    from botocore.exceptions import ConnectionClosedError, EndpointConnectionError

    def drop(model, params, **_):
        if "eu-west-1" in params.get("url", ""):
            raise ConnectionClosedError(endpoint_url=params["url"])
        if model.name == "ListAliases":
            raise EndpointConnectionError(endpoint_url=params["url"])
    session.boto._session.register("before-call", drop)
    session._clients.clear()
    result = scan(session, ["kms.*"], regions=["us-east-1", "eu-west-1"])
    codes = {(g.region, g.error_code) for g in result.gaps}
    assert codes == {("eu-west-1", "Unreachable"), ("us-east-1", "Unreachable")}
