"""Secrets where they do not belong: EC2 user data, Lambda and ECS environments, plain SSM parameters.

Collectors scan and keep only (location, kind) hits, so no finding can echo a secret value: messages
and evidence name the variable or line and the kind of secret.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from auditor.collectors.ec2_images import INSTANCE_LIST, TEMPLATE_USER_DATA, USER_DATA
from auditor.collectors.ecs import TASK_DEFINITIONS
from auditor.collectors.lambda_ import FUNCTIONS
from auditor.collectors.ssm import PARAMETERS
from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.models import Finding, Status
from auditor.registry import check
from auditor.secrets import SecretHit
from checks.ec2 import short_text

_LISTED = 5  # hits named in a message; evidence lists them all


def _summary(hits: list[SecretHit]) -> str:
    shown = ", ".join(f"{h.location} ({h.kind})" for h in hits[:_LISTED])
    return shown + (f" and {len(hits) - _LISTED} more" if len(hits) > _LISTED else "")


def _evidence(hits: list[SecretHit], **facts: Any) -> dict[str, Any]:
    return {**facts, "secrets": [{"location": h.location, "kind": h.kind} for h in hits],
            "kinds": sorted({h.kind for h in hits})}


@check("ec2.user-data-no-secrets", needs=(INSTANCE_LIST, USER_DATA, TEMPLATE_USER_DATA))
def user_data_no_secrets(inv: Inventory) -> Iterator[Finding]:
    """User data (base64, gzip and MIME parts decoded) of every instance and of each launch template's
    $Latest and $Default version holds no secret: anyone with ec2:DescribeInstanceAttribute can read it."""
    for scan in inv.ec2_images.user_data:
        label = f"instance {scan.id}" + (f" ({short_text(scan.name)})" if scan.name else "")
        if not scan.read:
            yield Finding.with_status(Status.ERROR, scan, f"{label} user data could not be read")
            continue
        ev = _evidence(scan.secrets, has_user_data=scan.has_user_data, problem=scan.problem or None)
        if scan.secrets:
            yield Finding.failed(scan, f"{label} user data holds secrets: {_summary(scan.secrets)}", evidence=ev)
        else:
            what = "user data holds no secret" if scan.has_user_data else "has no user data"
            yield Finding.passed(scan, f"{label} {what}", evidence=ev)
    for tpl in inv.ec2_images.template_user_data:
        label = f"launch template {short_text(tpl.name or tpl.id)} version {tpl.version}"
        ev = _evidence(tpl.secrets, has_user_data=tpl.has_user_data, default_version=tpl.is_default,
                       problem=tpl.problem or None)
        subkey = f"version/{tpl.version}"
        if tpl.secrets:
            yield Finding.failed(tpl, f"{label} user data holds secrets: {_summary(tpl.secrets)}", evidence=ev,
                                 subkey=subkey)
        else:
            what = "user data holds no secret" if tpl.has_user_data else "has no user data"
            yield Finding.passed(tpl, f"{label} {what}", evidence=ev, subkey=subkey)


@check("lambda.env-no-secrets", needs=(FUNCTIONS,))
def lambda_env_no_secrets(inv: Inventory) -> Iterator[Finding]:
    """Environment variables are readable by anyone with lambda:GetFunctionConfiguration: secret-named
    variables must hold a Secrets Manager / SSM reference, and no value may look like a credential."""
    for fn in getattr(inv, "lambda").functions:
        ev = _evidence(fn.env_secrets, variables=len(fn.env_variable_names), kms_key_arn=fn.env_kms_key_arn or None)
        if fn.env_secrets:
            yield Finding.failed(fn, f"function {fn.name} environment holds secrets: {_summary(fn.env_secrets)}",
                                 evidence=ev)
        elif fn.env_variable_names:
            yield Finding.passed(fn, f"function {fn.name} environment ({len(fn.env_variable_names)} variables) "
                                     "holds no secret", evidence=ev)
        else:
            yield Finding.passed(fn, f"function {fn.name} has no environment variables", evidence=ev)


@check("ecs.taskdef-no-secrets", needs=(TASK_DEFINITIONS,))
def taskdef_no_secrets(inv: Inventory) -> Iterator[Finding]:
    """containerDefinitions[].environment holds no secret: secrets belong in `secrets` (valueFrom). The
    latest ACTIVE revision of each family is judged."""
    for td in inv.ecs.task_definitions:
        if not td.described:
            yield Finding.with_status(Status.ERROR, td, f"task definition {td.id} could not be described")
            continue
        injected = sorted({n for c in td.containers for n in c.secret_names})
        ev = _evidence(td.env_secrets, containers=[c.name for c in td.containers], injected_secrets=injected,
                       active_revisions=td.active_revisions)
        if td.env_secrets:
            yield Finding.failed(td, f"task definition {td.id} environment holds secrets: "
                                     f"{_summary(td.env_secrets)}; use 'secrets' (valueFrom) instead", evidence=ev)
        else:
            yield Finding.passed(td, f"task definition {td.id} environment holds no secret"
                                 + (f" ({len(injected)} injected through 'secrets')" if injected else ""),
                                 evidence=ev)


@check("ssm.secret-parameters-securestring", needs=(PARAMETERS,))
def secret_parameters_securestring(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """Parameters whose name matches config secret_parameter_pattern are SecureString (KMS-encrypted,
    and GetParameter needs kms:Decrypt); String and StringList fail."""
    pattern = re.compile(cfg.secret_parameter_pattern, re.IGNORECASE)
    for p in inv.ssm.parameters:
        if not pattern.search(p.name):
            continue
        ev = {"type": p.type, "tier": p.tier, "key_id": p.key_id or None}
        if p.type == "SecureString":
            yield Finding.passed(p, f"parameter {short_text(p.name, 100)} is a SecureString", evidence=ev)
        else:
            yield Finding.failed(p, f"parameter {short_text(p.name, 100)} looks secret but is a {p.type or 'unknown'}"
                                    " (not SecureString)", evidence=ev)
