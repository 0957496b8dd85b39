"""The session's memory economies: slim service models, and clients (with their models) released when done."""
from __future__ import annotations

import os

import boto3

from auditor.config import AuditConfig
from auditor.session import AuditSession
from auditor.slim_models import ForgetfulLoader, SlimJSONFileLoader
from tests.conftest import new_session, scan


def _models(session: AuditSession) -> set[str]:
    loader = session.boto._session.get_component("data_loader")
    return {key[1] for key in loader._cache if key[0] == "load_service_model"}


def test_models_load_without_documentation_and_clients_still_work(aws):
    session = AuditSession(region="us-east-1")
    loader = session.boto._session.get_component("data_loader")
    assert isinstance(loader, ForgetfulLoader)
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="bucket-one")
    client = session.client("s3")
    assert [b["Name"] for b in client.list_buckets()["Buckets"]] == ["bucket-one"]
    model = loader.load_service_model("s3", "service-2")
    assert type(model) is dict and type(model["shapes"]) is dict  # not botocore's OrderedDicts
    assert model["operations"]["ListBuckets"]["documentation"] == ""
    assert client.meta.service_model.operation_model("ListBuckets").documentation == ""


def test_release_drops_the_client_and_with_the_last_one_the_model(aws):
    session = AuditSession(region="us-east-1")
    first = session.client("kms", "us-east-1")
    session.client("kms", "eu-west-1")
    session.release("kms", "us-east-1")
    assert "kms" in _models(session)  # eu-west-1 still reads kms
    session.release("kms", "eu-west-1")
    assert "kms" not in _models(session)
    again = session.client("kms", "us-east-1")
    assert again is not first and again.list_keys()["Keys"] == []
    session.release("kms", "us-east-1", keep_model=True)  # a kms client for another region is still to come
    assert "kms" in _models(session)


def test_a_scan_loads_each_model_once(aws, monkeypatch):
    loads: list[str] = []
    real = SlimJSONFileLoader._load_file

    def counting(self, full_path, open_method):
        model = real(self, full_path, open_method)
        if model is not None and os.path.basename(full_path).startswith("service-2.json"):
            loads.append(full_path.split(os.sep)[-3])
        return model

    monkeypatch.setattr(SlimJSONFileLoader, "_load_file", counting)
    session = AuditSession(region="us-east-1")  # its own loader: the tests' shared one never forgets
    # One worker: sqs finishes in one region before its next region's client exists; the model must survive.
    scan(session, ["sqs.*", "kms.*"], regions=["us-east-1", "eu-west-1", "ap-southeast-2"],
         cfg=AuditConfig(workers=1))
    assert {"sqs", "kms"} <= set(loads) and sorted(loads) == sorted(set(loads))


def test_a_scan_releases_every_client_its_units_used(aws):
    session = new_session()
    scan(session, ["kms.*", "s3.*"], regions=["us-east-1", "eu-west-1"])
    assert {service for service, _ in session._clients} <= {"sts"}  # identity, outside any unit
