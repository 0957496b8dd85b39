"""CloudTrail trails as every region sees them, with status and event selectors read once, in the home region.

DescribeTrails(includeShadowTrails=True) in a region also lists multi-region and organization trails homed
elsewhere ("shadow" copies). Their status and selectors are read only in the home region, so no call is made
twice for one trail; a shadow copy keeps `is_logging` and the selectors at None.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from auditor.collectors import CollectContext, Section, collector
from auditor.models import Frozen, Resource, ResourceRef

TRAILS = "cloudtrail.trails"
TRAIL_STATUS = "cloudtrail.status"
TRAIL_SELECTORS = "cloudtrail.selectors"


class FieldSelector(Frozen):
    field: str
    equals: list[str] = []
    starts_with: list[str] = []
    ends_with: list[str] = []
    not_equals: list[str] = []
    not_starts_with: list[str] = []
    not_ends_with: list[str] = []


class AdvancedEventSelector(Frozen):
    name: str = ""
    field_selectors: list[FieldSelector] = []

    def equals(self, field: str) -> list[str] | None:
        """Values of an Equals condition on `field`, or None when the selector has no condition on it."""
        conds = [f for f in self.field_selectors if f.field == field]
        return None if not conds else [v for f in conds for v in f.equals]

    def filters(self, field: str) -> bool:
        return any(f.field == field for f in self.field_selectors)


class DataResource(Frozen):
    type: str
    values: list[str] = []


class EventSelector(Frozen):
    read_write_type: str = "All"
    include_management_events: bool = True
    exclude_management_event_sources: list[str] = []
    data_resources: list[DataResource] = []


class Trail(Resource):
    resource_type: ClassVar[str] = "AWS::CloudTrail::Trail"
    name: str
    home_region: str
    multi_region: bool = False
    organization_trail: bool = False
    include_global_service_events: bool = False
    log_file_validation: bool = False
    kms_key_id: str | None = None
    cloudwatch_log_group_arn: str | None = None
    cloudwatch_role_arn: str | None = None
    s3_bucket: str | None = None
    s3_key_prefix: str | None = None
    sns_topic_arn: str | None = None
    # None: a shadow copy (read in the home region) or the status could not be read (see gaps)
    is_logging: bool | None = None
    latest_cloudwatch_delivery: datetime | None = None  # moto never reports it
    latest_cloudwatch_delivery_error: str | None = None
    event_selectors: list[EventSelector] | None = None
    advanced_event_selectors: list[AdvancedEventSelector] | None = None

    @property
    def is_shadow(self) -> bool:
        return self.home_region != self.region

    def ref(self) -> ResourceRef:
        # A trail lives in its home region, whichever region's listing it came from.
        return ResourceRef(arn=self.arn, id=self.name, type=self.resource_type, region=self.home_region)

    def management_events_all(self) -> bool | None:
        """True when the selectors record every management event (read and write); None when unknown."""
        if self.event_selectors is None or self.advanced_event_selectors is None:
            return None
        covered: set[str] = set()
        for sel in self.event_selectors:
            if sel.include_management_events:
                covered |= _READ_WRITE.get(sel.read_write_type, set())
        for adv in self.advanced_event_selectors:
            if "Management" not in (adv.equals("eventCategory") or []):
                continue
            read_only = adv.equals("readOnly")
            covered |= {"true", "false"} if not adv.filters("readOnly") else {v.lower() for v in read_only or []}
        return covered >= {"true", "false"}

    def s3_object_events(self, read_only: bool) -> tuple[bool | None, list[str]]:
        """Whether the selectors log S3 object-level read (or write) events for every bucket; None when unknown.

        Also returns the exclusions (Not* conditions) of the covering advanced selector: they still cover
        "all buckets" in the checklist's sense but are worth a warning.
        """
        if self.event_selectors is None or self.advanced_event_selectors is None:
            return None, []
        wanted = "true" if read_only else "false"
        everything = {f"arn:{self.arn.split(':')[1]}:s3", f"arn:{self.arn.split(':')[1]}:s3:::"}
        for sel in self.event_selectors:
            if wanted in _READ_WRITE.get(sel.read_write_type, set()) and any(
                    d.type == S3_OBJECT and everything & set(d.values) for d in sel.data_resources):
                return True, []
        for adv in self.advanced_event_selectors:
            if "Data" not in (adv.equals("eventCategory") or []) \
                    or S3_OBJECT not in (adv.equals("resources.type") or []):
                continue
            if adv.filters("readOnly") and wanted not in _read_only_values(adv):
                continue
            narrowing = [f for f in adv.field_selectors if f.field not in _S3_SELECTOR_FIELDS
                         and (f.equals or f.ends_with or (f.starts_with and not everything & set(f.starts_with)))]
            if not narrowing:
                return True, [f"{f.field} {op} {v}" for f in adv.field_selectors for op, v in _exclusions(f)]
        return False, []


S3_OBJECT = "AWS::S3::Object"
_S3_SELECTOR_FIELDS = ("eventCategory", "resources.type", "readOnly")
_READ_WRITE = {"All": {"true", "false"}, "ReadOnly": {"true"}, "WriteOnly": {"false"}}


def _read_only_values(adv: AdvancedEventSelector) -> set[str]:
    """The readOnly values an advanced selector admits (Equals, or the complement of NotEquals)."""
    admitted = {"true", "false"}
    for f in adv.field_selectors:
        if f.field == "readOnly":
            if f.equals:
                admitted &= {v.lower() for v in f.equals}
            admitted -= {v.lower() for v in f.not_equals}
    return admitted


def _exclusions(f: FieldSelector) -> list[tuple[str, str]]:
    if f.field == "readOnly":
        return []
    return [(op, v) for op, vals in (("NotEquals", f.not_equals), ("NotStartsWith", f.not_starts_with),
                                     ("NotEndsWith", f.not_ends_with)) for v in vals]


class CloudTrailSection(Section):
    trails: list[Trail] = []  # one record per (trail, region that lists it)

    def unique_trails(self) -> list[Trail]:
        """Each trail once: its home-region copy, or a shadow copy when the home region was not read."""
        best: dict[str, Trail] = {}
        for t in self.trails:
            cur = best.get(t.arn)
            if cur is None or (cur.is_shadow and not t.is_shadow):
                best[t.arn] = t
        return [best[arn] for arn in sorted(best)]


_FIELD_KEYS = {"Equals": "equals", "StartsWith": "starts_with", "EndsWith": "ends_with", "NotEquals": "not_equals",
               "NotStartsWith": "not_starts_with", "NotEndsWith": "not_ends_with"}


def _selectors(resp: dict[str, Any]) -> tuple[list[EventSelector], list[AdvancedEventSelector]]:
    basic = [EventSelector(read_write_type=s.get("ReadWriteType", "All"),
                           include_management_events=bool(s.get("IncludeManagementEvents", True)),
                           exclude_management_event_sources=list(s.get("ExcludeManagementEventSources") or []),
                           data_resources=[DataResource(type=d.get("Type", ""), values=list(d.get("Values") or []))
                                           for d in s.get("DataResources") or []])
             for s in resp.get("EventSelectors") or []]
    advanced = [AdvancedEventSelector(name=a.get("Name", ""), field_selectors=[
        FieldSelector(field=f["Field"], **{k: list(f.get(api) or []) for api, k in _FIELD_KEYS.items()})
        for f in a.get("FieldSelectors") or []]) for a in resp.get("AdvancedEventSelectors") or []]
    return basic, advanced


@collector("cloudtrail", section=CloudTrailSection, regional=True, datasets={
    TRAILS: ("cloudtrail:DescribeTrails",),
    TRAIL_STATUS: ("cloudtrail:GetTrailStatus",),
    TRAIL_SELECTORS: ("cloudtrail:GetEventSelectors",),
})
def collect_cloudtrail(ctx: CollectContext) -> CloudTrailSection:
    ct = ctx.client()
    resp = ctx.call(TRAILS, ct, "describe_trails", includeShadowTrails=True)
    if resp is None:
        return CloudTrailSection()
    listed = sorted(resp.get("trailList", []), key=lambda t: t["TrailARN"])

    def detail(t: dict[str, Any]) -> Trail:
        arn = t["TrailARN"]
        home = t.get("HomeRegion") or arn.split(":")[3]
        extra: dict[str, Any] = {}
        if home == ctx.region:
            status = ctx.call(TRAIL_STATUS, ct, "get_trail_status", Name=arn, resource_id=arn)
            if status is not None:
                extra.update(is_logging=bool(status.get("IsLogging")),
                             latest_cloudwatch_delivery=status.get("LatestCloudWatchLogsDeliveryTime") or None,
                             latest_cloudwatch_delivery_error=status.get("LatestCloudWatchLogsDeliveryError") or None)
            sel = ctx.call(TRAIL_SELECTORS, ct, "get_event_selectors", TrailName=arn, resource_id=arn)
            if sel is not None:
                extra["event_selectors"], extra["advanced_event_selectors"] = _selectors(sel)
        return Trail(arn=arn, id=t["Name"], name=t["Name"], region=ctx.region, account_id=arn.split(":")[4],
                     home_region=home, multi_region=bool(t.get("IsMultiRegionTrail")),
                     organization_trail=bool(t.get("IsOrganizationTrail")),
                     include_global_service_events=bool(t.get("IncludeGlobalServiceEvents")),
                     log_file_validation=bool(t.get("LogFileValidationEnabled")),
                     kms_key_id=t.get("KmsKeyId") or None,
                     cloudwatch_log_group_arn=t.get("CloudWatchLogsLogGroupArn") or None,
                     cloudwatch_role_arn=t.get("CloudWatchLogsRoleArn") or None,
                     s3_bucket=t.get("S3BucketName") or None, s3_key_prefix=t.get("S3KeyPrefix") or None,
                     sns_topic_arn=t.get("SnsTopicARN") or None, **extra)

    return CloudTrailSection(trails=ctx.map(detail, listed))
