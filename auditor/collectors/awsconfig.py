"""AWS Config per region: configuration recorders with their status, and delivery channels.

Named "configservice" so `inv.configservice` never reads like the scan's own AuditConfig.
Delivery channels are a separate dataset: the recorder verdict does not depend on them (the checklist only
warns when none exists), so being unable to read them must not turn the verdict into ERROR.
Config rules and conformance packs: either satisfies config.rules-deployed, so packs are read only in a region
without rules (rules deployed by a pack, or by Security Hub controls, show up as rules anyway).
"""
from __future__ import annotations

from typing import Any, ClassVar

from auditor.collectors import CollectContext, Section, collector
from auditor.models import Resource

RECORDERS = "config.recorders"
DELIVERY_CHANNELS = "config.delivery_channels"
RULES = "config.rules"
CONFORMANCE_PACKS = "config.conformance_packs"


class ConfigRecorder(Resource):
    resource_type: ClassVar[str] = "AWS::Config::ConfigurationRecorder"
    name: str
    role_arn: str = ""
    all_supported: bool = False
    include_global_resource_types: bool = False
    resource_types: list[str] = []
    recording_strategy: str = ""
    # from DescribeConfigurationRecorderStatus; None when the status has no entry or could not be read
    recording: bool | None = None
    last_status: str | None = None
    last_error_code: str | None = None


class DeliveryChannel(Resource):
    resource_type: ClassVar[str] = "AWS::Config::DeliveryChannel"
    name: str
    s3_bucket: str = ""
    sns_topic_arn: str = ""


class ConfigRule(Resource):
    resource_type: ClassVar[str] = "AWS::Config::ConfigRule"
    name: str
    state: str = ""  # ACTIVE / EVALUATING / DELETING / DELETING_RESULTS
    owner: str = ""  # AWS / CUSTOM_LAMBDA / CUSTOM_POLICY
    source_identifier: str = ""
    created_by: str = ""  # e.g. securityhub.amazonaws.com for Security Hub controls


class ConformancePack(Resource):
    resource_type: ClassVar[str] = "AWS::Config::ConformancePack"
    name: str


class ConfigServiceSection(Section):
    recorders: list[ConfigRecorder] = []
    delivery_channels: list[DeliveryChannel] = []
    rules: list[ConfigRule] = []
    conformance_packs: list[ConformancePack] = []


@collector("configservice", service="config", section=ConfigServiceSection, regional=True, datasets={
    RECORDERS: ("config:DescribeConfigurationRecorders", "config:DescribeConfigurationRecorderStatus"),
    DELIVERY_CHANNELS: ("config:DescribeDeliveryChannels",),
    RULES: ("config:DescribeConfigRules",),
    CONFORMANCE_PACKS: ("config:DescribeConformancePacks",),
})
def collect_config(ctx: CollectContext) -> ConfigServiceSection:
    cfg = ctx.client()
    recorders: list[ConfigRecorder] = []
    listed = ctx.call(RECORDERS, cfg, "describe_configuration_recorders")
    if listed and listed.get("ConfigurationRecorders"):
        # An unreadable status leaves `recording` None and a gap that makes the region ERROR.
        statuses = ctx.call(RECORDERS, cfg, "describe_configuration_recorder_status")
        by_name = {s["name"]: s for s in (statuses or {}).get("ConfigurationRecordersStatus", [])}
        for rec in sorted(listed["ConfigurationRecorders"], key=lambda r: r["name"]):
            group = rec.get("recordingGroup") or {}
            st = by_name.get(rec["name"], {})
            recorders.append(ConfigRecorder(
                arn=rec.get("arn") or ctx.arn("config", f"configuration-recorder/{rec['name']}", ctx.region),
                id=rec["name"], name=rec["name"], region=ctx.region, account_id=ctx.account_id,
                role_arn=rec.get("roleARN", ""), all_supported=bool(group.get("allSupported")),
                include_global_resource_types=bool(group.get("includeGlobalResourceTypes")),
                resource_types=sorted(group.get("resourceTypes") or []),
                recording_strategy=(group.get("recordingStrategy") or {}).get("useOnly", ""),
                recording=st["recording"] if "recording" in st else None,
                last_status=st.get("lastStatus"), last_error_code=st.get("lastErrorCode")))
    channels: list[DeliveryChannel] = []
    resp = ctx.call(DELIVERY_CHANNELS, cfg, "describe_delivery_channels")
    for ch in sorted((resp or {}).get("DeliveryChannels", []), key=lambda c: c["name"]):
        channels.append(DeliveryChannel(
            arn=ctx.arn("config", f"delivery-channel/{ch['name']}", ctx.region), id=ch["name"], name=ch["name"],
            region=ctx.region, account_id=ctx.account_id, s3_bucket=ch.get("s3BucketName", ""),
            sns_topic_arn=ch.get("snsTopicARN", "")))
    rules, packs = _rules_and_packs(ctx, cfg)
    return ConfigServiceSection(recorders=recorders, delivery_channels=channels, rules=rules, conformance_packs=packs)


def _rules_and_packs(ctx: CollectContext, cfg: Any) -> tuple[list[ConfigRule], list[ConformancePack]]:
    listed = ctx.paginate(RULES, cfg, "describe_config_rules", "ConfigRules")
    rules = [ConfigRule(arn=r["ConfigRuleArn"], id=r["ConfigRuleName"], name=r["ConfigRuleName"], region=ctx.region,
                        account_id=ctx.account_id, state=r.get("ConfigRuleState", ""),
                        owner=(r.get("Source") or {}).get("Owner", ""),
                        source_identifier=(r.get("Source") or {}).get("SourceIdentifier", ""),
                        created_by=r.get("CreatedBy", ""))
             for r in sorted(listed or [], key=lambda r: r["ConfigRuleName"])]
    if listed is None or any(not r.state.startswith("DELETING") for r in rules):
        return rules, []
    packs = ctx.paginate(CONFORMANCE_PACKS, cfg, "describe_conformance_packs", "ConformancePackDetails")
    return rules, [ConformancePack(arn=c["ConformancePackArn"], id=c["ConformancePackName"],
                                   name=c["ConformancePackName"], region=ctx.region, account_id=ctx.account_id)
                   for c in sorted(packs or [], key=lambda c: c["ConformancePackName"])]
