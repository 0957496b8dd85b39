"""EC2 compute and block storage: EBS encryption, the instance metadata service, public addresses."""
from __future__ import annotations

from collections.abc import Iterator

from auditor.collectors.ec2 import Instance
from auditor.config import AuditConfig
from auditor.inventory import Inventory
from auditor.models import Finding, Status
from auditor.registry import check
from checks._vpc_routing import Routing

UNKNOWN = "unknown"  # an optional read failed or was not made; never a reason to pass or fail
_IMDS_STATES = ("pending", "running", "stopped")
_AWS_MANAGED_EBS_KEY = "alias/aws/ebs"


@check("ec2.ebs-default-encryption", needs=("ec2.ebs_encryption",))
def ebs_default_encryption(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """New EBS volumes are encrypted by default in every region (CIS 6.1.1).

    The default key (GetEbsDefaultKmsKeyId) is enrichment and shown as "unknown" when it cannot be read.
    We have no WARN status: when config requires customer-managed keys and the default is the AWS-managed
    alias/aws/ebs, the finding stays PASS and carries the warning in its message and evidence.
    """
    keys = {k.region: k.kms_key_id for k in inv.ec2.ebs_default_keys}
    for setting in inv.ec2.ebs_encryption:
        ref = inv.setting("ec2", "ebs-encryption-by-default", setting.region)
        key = keys.get(setting.region, UNKNOWN) if setting.enabled else UNKNOWN
        evidence: dict[str, object] = {"enabled": setting.enabled, "default_kms_key": key}
        if not setting.enabled:
            yield Finding.failed(ref, f"EBS encryption by default is off in {setting.region}", evidence=evidence)
            continue
        message = f"EBS encryption by default is on in {setting.region} (default key: {key})"
        if cfg.require_customer_managed_keys and key.endswith(_AWS_MANAGED_EBS_KEY):
            evidence["warning"] = "default key is AWS-managed; config requires a customer-managed key"
            message += "; warning: AWS-managed key, a customer-managed key is required"
        yield Finding.passed(ref, message, evidence=evidence)


@check("ec2.ebs-volumes-encrypted", needs=("ec2.volumes",))
def ebs_volumes_encrypted(inv: Inventory) -> Iterator[Finding]:
    """Every EBS volume is encrypted at rest."""
    for vol in inv.ec2.volumes:
        name = f"volume {vol.id}" + (f" ({short_text(vol.tags['Name'])})" if vol.tags.get("Name") else "")
        if vol.attached_to:
            name += f" attached to {', '.join(vol.attached_to)}"
        yield Finding.of(vol, passed=vol.encrypted,
                         message=f"{name} is {'encrypted' if vol.encrypted else 'not encrypted'}",
                         evidence={"encrypted": vol.encrypted, "kms_key_id": vol.kms_key_id, "state": vol.state,
                                   "size_gib": vol.size_gib, "attached_to": vol.attached_to})


@check("ec2.imdsv2-required", needs=("ec2.instances",))
def imdsv2_required(inv: Inventory) -> Iterator[Finding]:
    """Instances accept only session-token (IMDSv2) metadata requests, or have the endpoint off (CIS 6.7).

    The account default (GetInstanceMetadataDefaults) is enrichment, shown as "unknown" when unreadable.
    """
    defaults = {d.region: d.http_tokens or "not set" for d in inv.ec2.metadata_defaults}
    for inst in inv.ec2.instances:
        if inst.state not in _IMDS_STATES:
            continue
        required = inst.http_tokens == "required"
        endpoint_off = inst.http_endpoint == "disabled"
        evidence = {"http_tokens": inst.http_tokens or UNKNOWN, "http_endpoint": inst.http_endpoint or UNKNOWN,
                    "state": inst.state, "account_default_http_tokens": defaults.get(inst.region, UNKNOWN)}
        if required:
            message = f"{_label(inst)} requires IMDSv2"
        elif endpoint_off:
            message = f"{_label(inst)} has the metadata endpoint disabled"
        else:
            message = f"{_label(inst)} allows IMDSv1 (HttpTokens={inst.http_tokens or UNKNOWN})"
        yield Finding.of(inst, passed=required or endpoint_off, message=message, evidence=evidence)


@check("ec2.instance-no-public-ip", needs=("ec2.instances",))
def instance_no_public_ip(inv: Inventory, cfg: AuditConfig) -> Iterator[Finding]:
    """FAIL for each running instance with a public IPv4 address, or an IPv6 address in a subnet whose route
    table sends ::/0 to an internet gateway, unless it carries the config public_exposure_tag (non-empty).

    Route tables only matter for IPv6 instances, so they are not a need of the whole check: an IPv6
    instance whose subnet's route table is unknown (unreadable, or not listed) is ERROR on its own."""
    routing = Routing(inv.ec2.route_tables)
    tag = cfg.public_exposure_tag
    for inst in inv.ec2.instances:
        if inst.state != "running":
            continue
        v6_routes = (routing.internet_routes(inst.region, inst.vpc_id or "", inst.subnet_id or "", "ipv6")
                     if inst.ipv6_addresses else [])
        ev: dict[str, object] = {"public_ip": inst.public_ip, "ipv6_addresses": inst.ipv6_addresses,
                                 "subnet_id": inst.subnet_id, "ipv6_internet_routes": v6_routes}
        exposed = [f"public IP {inst.public_ip}"] if inst.public_ip else []
        if inst.ipv6_addresses and v6_routes:
            exposed.append(f"IPv6 {', '.join(inst.ipv6_addresses)} routed to an internet gateway")
        why = inst.tags.get(tag, "").strip()
        if v6_routes is None and not exposed:
            yield Finding.with_status(Status.ERROR, inst, f"{_label(inst)} has IPv6 addresses but the route "
                                      f"table of subnet {inst.subnet_id} is unknown", ev)
        elif not exposed:
            yield Finding.passed(inst, f"{_label(inst)} has no public address", evidence=ev)
        elif why:
            ev["justification"] = {"source": f"tag {tag}", "text": why}
            yield Finding.passed(inst, f"{_label(inst)} has {' and '.join(exposed)}, justified by tag "
                                       f"{short_text(tag, 40)}: {short_text(why)}", evidence=ev)
        else:
            yield Finding.failed(inst, f"{_label(inst)} has {' and '.join(exposed)} and no "
                                       f"{short_text(tag, 40)} tag", evidence=ev)


def _label(inst: Instance) -> str:
    name = inst.tags.get("Name")
    return f"instance {inst.id}" + (f" ({short_text(name)})" if name else "")


def short_text(text: str, limit: int = 60) -> str:
    """User-controlled text in a one-line message: cut, never interpreted (renderers escape)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
