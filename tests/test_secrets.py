from __future__ import annotations

import base64

import pytest

from auditor.secrets import (
    AWS_ACCESS_KEY_ID,
    AWS_SECRET_KEY,
    CONNECTION_PASSWORD,
    HIGH_ENTROPY,
    PRIVATE_KEY,
    SECRET_ASSIGNMENT,
    is_literal,
    is_secret_name,
    scan_text,
    scan_variables,
)

# Built at runtime so this file does not itself look like it holds credentials.
KEY_ID = "AKIA" + "QZ7X2MPL4KDE3RTY"
SECRET_KEY = "q7Lk2Vx9" + "Pm4Rt8Zw" + "Yb3Nc6Hd" + "Jf1Gs5Ta" + "Ue0Io/Kq"
GITHUB = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
STRIPE = "sk_live_" + "51HxQ2eZvKYlo2C9aBcDeFgH"
SLACK = "xoxb-" + "1234567890-0987654321-AbCdEfGhIjKlMnOp"
PEM = "-----BEGIN RSA " + "PRIVATE KEY-----"


def kinds(hits) -> set[str]:
    return {h.kind for h in hits}


def test_script_hits_name_the_line_and_variable_never_the_value():
    text = "\n".join([
        "#!/bin/bash",
        f"export AWS_ACCESS_KEY_ID={KEY_ID}",
        f"export AWS_SECRET_ACCESS_KEY={SECRET_KEY}",
        'DB_PASSWORD="Tr0ub4dor&3x"',
        "psql postgres://app:Sup3rS3cretPw@db.internal:5432/app",
        PEM,
    ])
    hits = scan_text(text)
    assert [(h.location, h.kind) for h in hits] == [
        ("line 2 (AWS_ACCESS_KEY_ID)", AWS_ACCESS_KEY_ID),
        ("line 3 (AWS_SECRET_ACCESS_KEY)", AWS_SECRET_KEY),
        ("line 4 (DB_PASSWORD)", SECRET_ASSIGNMENT),
        ("line 5", CONNECTION_PASSWORD),
        ("line 6", PRIVATE_KEY),
    ]
    dumped = repr(hits)
    for value in (KEY_ID, SECRET_KEY, "Tr0ub4dor", "Sup3rS3cretPw", KEY_ID[:8], SECRET_KEY[:8]):
        assert value not in dumped


@pytest.mark.parametrize("token,kind", [
    (GITHUB, "GitHub token"), (STRIPE, "Stripe key"), (SLACK, "Slack token"),
    ("AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", "Google API key"),
    ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
     "JSON web token"),
    ("Authorization: Bearer " + "abcdefghijklmnopqrstuvwxyz012345", "bearer token"),
])
def test_token_shapes(token, kind):
    assert kind in kinds(scan_text(f"curl -H '{token}' https://api.example.com"))


def test_references_templates_and_metadata_are_not_secrets():
    text = "\n".join([
        "DB_PASSWORD=$(aws secretsmanager get-secret-value --secret-id prod/db --query SecretString)",
        'API_TOKEN="${TOKEN_FROM_ENV}"',
        "DB_PASSWORD_SECRET_ARN=arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db",
        "password_min_length=16",
        "TOKEN_URL=https://auth.example.com/token",
        "secret: /prod/app/db-password",
        "echo 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  app.tar | sha256sum -c",
        "yum install -y amazon-cloudwatch-agent",
        "--password-file /etc/app/pass",
        "enable_tokens: true",
        "  - ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7vbqajDhA7WKDzkwJ2eHcZP9qUkvk1CXm3EqTFqY4gGZMUqzYdbQ2Xl user@host",
        "yum install -y https://s3.amazonaws.com/ec2-downloads-windows/SSMAgent/latest/linux_amd64/agent.rpm",
        "/etc/eks/bootstrap.sh prod --apiserver-endpoint https://A1B2C3D4E5F6A7B8C9D0.gr7.us-east-1.eks.amazonaws.com",
        "KMS_KEY=arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    ])
    assert scan_text(text) == []
    assert scan_variables([("TOKEN_TABLE", "tokens"), ("SECRET_BUCKET", "acme-secrets"), ("NODE_ENV", "prod"),
                           ("USER_POOL_CLIENT_ID", "4k2j3h4g5f6d7s8a9p0o1i2u3y")]) == []


def test_high_entropy_values_and_encoded_keys():
    blob = base64.b64encode(f"{PEM}\nMIIEow...\n".encode()).decode()
    hits = scan_text(f"CONFIG_BLOB={SECRET_KEY}\nKEY_MATERIAL={blob}")
    assert [(h.location, h.kind) for h in hits] == [("line 1 (CONFIG_BLOB)", HIGH_ENTROPY),
                                                   ("line 2 (KEY_MATERIAL)", PRIVATE_KEY)]
    cert = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBa\n").decode()
    assert scan_text(f"CA_BUNDLE={cert}") == []


def test_variables_secret_names_literal_values_and_detectors():
    hits = scan_variables([
        ("DB_PASSWORD", "hunter2hunter2"), ("API_KEY", "arn:aws:ssm:us-east-1:123456789012:parameter/api"),
        ("DATABASE_URL", "mysql://app:pa55word99@db:3306/app"), ("PLAIN", SECRET_KEY),
        ("STRIPE", STRIPE), ("HOST", "db.example.com"), ("SECRET_NAME", "prod/db"), ("EMPTY_TOKEN", ""),
        ("SETTINGS", '{"db_password": "n0tAr3f3r3nce"}'),
    ], prefix="container web: ")
    assert [(h.location, h.kind) for h in hits] == [
        ("container web: variable DATABASE_URL", CONNECTION_PASSWORD),
        ("container web: variable DB_PASSWORD", SECRET_ASSIGNMENT),
        ("container web: variable PLAIN", HIGH_ENTROPY),
        ("container web: variable SETTINGS", SECRET_ASSIGNMENT),
        ("container web: variable STRIPE", "Stripe key"),
    ]


def test_a_name_that_looks_like_a_secret_is_left_out_of_the_location():
    [hit] = scan_variables([(KEY_ID, "x")])
    assert hit.location == "variable (unnamed)" and hit.kind == AWS_ACCESS_KEY_ID
    assert all(KEY_ID not in h.location for h in scan_text(f"{KEY_ID}=1"))


def test_name_and_literal_rules():
    assert is_secret_name("DB_PASSWORD") and is_secret_name("stripeApiKey") and is_secret_name("client_secret")
    assert not is_secret_name("DB_PASSWORD_ARN") and not is_secret_name("TOKEN_URL") and not is_secret_name("HOST")
    assert is_literal("hunter2") and is_literal("'changeme'")
    for value in ("", "abc", "${X}", "$(cmd)", "{{resolve:secretsmanager:x}}", "/prod/db", "true", "12345",
                  "********", "arn:aws:secretsmanager:us-east-1:1:secret:x", "<your-password>"):
        assert not is_literal(value), value
