"""The alerting chain behind checks/monitoring.py: trail → log group → metric filter → alarm → subscribed topic,
or EventBridge rule → delivering target. Not a check module itself (the leading underscore keeps it unloaded)."""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from auditor.collectors.cloudtrail import Trail
from auditor.collectors.cloudwatch import Alarm
from auditor.collectors.events import EventRule
from auditor.collectors.logs import MetricFilter
from auditor.filter_pattern import PatternError, eb_matches, matches, parse, parse_event_pattern
from auditor.inventory import Inventory
from auditor.models import Finding, Status
from auditor.reference_events import (
    GLOBAL_EVENT_REGION,
    in_region,
    needs_read_only_delivery,
    noise,
    regions_of,
    to_eventbridge,
)

ALL_EVENTS_STATE = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
# Stages after the trail, to report the break closest to a working alert.
FILTER, ALARM, ACTION = range(3)


class Index:
    """The inventory arranged for chain lookups."""

    def __init__(self, inv: Inventory) -> None:
        self.inv = inv
        self.trails: list[Trail] = inv.cloudtrail.unique_trails()
        self.topics = {t.arn: t for t in inv.sns.topics}
        self.subs: dict[str, list[Any]] = defaultdict(list)
        for s in inv.sns.subscriptions:
            self.subs[s.topic_arn].append(s)
        self.filters: dict[tuple[str, str], list[MetricFilter]] = defaultdict(list)
        for f in inv.logs.metric_filters:
            self.filters[(f.region, f.log_group)].append(f)
        self.alarms: dict[str, list[Alarm]] = defaultdict(list)
        for a in inv.cloudwatch.alarms:
            self.alarms[a.region].append(a)
        self.rules: dict[str, list[EventRule]] = defaultdict(list)
        for r in inv.events.rules:
            if r.bus == "default" and r.event_pattern:
                self.rules[r.region].append(r)

    def delivers(self, arn: str) -> bool | None:
        """Whether an alarm action or rule target reaches someone; None when it cannot be told."""
        parts = arn.split(":")
        if parts[2:3] != ["sns"]:
            return True  # Lambda, SQS, Step Functions, ... act on the event themselves
        if any(s.confirmed for s in self.subs.get(arn, [])):
            return True
        topic = self.topics.get(arn)
        if topic is None:
            foreign = len(parts) < 6 or parts[4] != self.inv.account_id or parts[3] not in self.inv.regions
            return None if foreign else False
        if topic.subscriptions_confirmed:
            return True  # subscriptions owned by other accounts are counted, not listed
        return False if topic.attributes_read else None


def describe(rec: dict[str, Any]) -> str:
    who = (rec.get("userIdentity") or {}).get("type", "?")
    failed = rec.get("errorCode") or rec.get("errorMessage")
    return f"{rec.get('eventName')} by {who}" + (f" ({failed})" if failed else "")


def _records_source(t: Trail, source: str) -> bool:
    """The trail's management-event selectors do not exclude this event source (e.g. KMS, RDS Data API)."""
    basic = any(s.include_management_events and source not in s.exclude_management_event_sources
                for s in t.event_selectors or [])
    advanced = any("Management" in (a.equals("eventCategory") or []) and not any(
        f.field == "eventSource" and source in f.not_equals for f in a.field_selectors)
        for a in t.advanced_event_selectors or [])
    return basic or advanced


def _trail_problem(t: Trail) -> str | None:
    if not t.multi_region:
        return f"trail {t.name} is single-region"
    if t.is_logging is False:
        return f"trail {t.name} is not logging"
    if t.management_events_all() is False:
        return f"trail {t.name} does not record all management events"
    if not t.cloudwatch_log_group_arn:
        return f"trail {t.name} does not deliver to CloudWatch Logs"
    return None


class _Judge:
    def __init__(self, inv: Inventory, ix: Index, item: Any, recs: list[dict[str, Any]]) -> None:
        self.inv, self.ix, self.item, self.recs = inv, ix, item, recs
        self.noise = noise(inv.account_id)
        self.breaks: list[tuple[int, str]] = []  # (stage, why) along trail → filter → alarm → action
        self.trail_problems: list[str] = []
        self.eb_breaks: list[tuple[bool, str]] = []  # (rule matches every event, why)
        self.unknown: list[str] = []
        self.used: dict[str, set[int]] = defaultdict(set)  # working chain -> samples it alerts on
        self.fed: set[tuple[str, str]] = set()  # (region, log group) a qualifying trail delivers to

    def metric(self) -> set[int]:
        covered: set[int] = set()
        regions = sorted(set(self.inv.regions) | {GLOBAL_EVENT_REGION})
        for t in self.ix.trails:
            problem = _trail_problem(t)
            if problem:
                self.trail_problems.append(problem)
                continue
            if t.is_logging is None or t.management_events_all() is None:
                self.unknown.append(f"status of trail {t.name} is unknown (home region {t.home_region})")
                continue
            arn = str(t.cloudwatch_log_group_arn).split(":")
            region, account, group = arn[3], arn[4], arn[6] if len(arn) > 6 else ""
            if account != self.inv.account_id or region not in self.inv.regions:
                where = f"account {account}" if account != self.inv.account_id else f"unscanned region {region}"
                self.unknown.append(f"log group {group} of trail {t.name} is in {where}")
                continue
            self.fed.add((region, group))
            caught: set[int] = set()
            for f in self.ix.filters.get((region, group), []):
                hits = self._filter_hits(f, t, regions)
                caught |= hits
                if hits and self._alarmed(f, region, f"{t.name} → {group} → {f.name}", hits):
                    covered |= hits
            if len(caught) < len(self.recs):
                some = "only some of" if caught else "none of"
                self.breaks.append((FILTER, f"metric filters on log group {group} (trail {t.name}) catch {some} "
                                            "these events"))
        return covered

    def _filter_hits(self, f: MetricFilter, t: Trail | None, regions: list[str]) -> set[int]:
        try:
            pat = parse(f.pattern)
        except PatternError as exc:
            self.breaks.append((FILTER, f"metric filter {f.name} cannot be read: {exc}"))
            return set()
        if matches(pat, self.noise):
            return set()  # matches everything: not an alert on this item
        return {i for i, r in enumerate(self.recs) if (t is None or _records_source(t, r["eventSource"]))
                and all(matches(pat, in_region(r, g)) for g in regions_of(r, regions))}

    def orphans(self) -> list[str]:
        """Filters that would catch every event but sit on a log group no qualifying trail delivers to."""
        return [f"metric filter {f.name} on log group {f.log_group} ({f.region}) would catch these events, but no "
                "such trail delivers to it" for f in self.inv.logs.metric_filters
                if (f.region, f.log_group) not in self.fed and len(self._filter_hits(f, None, [f.region]))
                == len(self.recs)]

    def _alarmed(self, f: MetricFilter, region: str, path: str, hits: set[int]) -> bool:
        alarms = [a for a in self.ix.alarms.get(region, []) if any(a.watches(m) for m in f.metrics)]
        if not alarms:
            metric = ", ".join(f"{m.namespace}/{m.name}" for m in f.metrics) or "no metric"
            self.breaks.append((ALARM, f"metric filter {f.name} ({metric}) has no alarm"))
        ok = False
        for a in alarms:
            if not a.actions_enabled:
                self.breaks.append((ACTION, f"alarm {a.name} has actions disabled"))
                continue
            if self.item.rate_alarm and not (a.threshold_metric_id or (a.threshold or 0) > 1):
                self.breaks.append((ACTION, f"alarm {a.name} fires on a fixed threshold of {a.threshold}, "
                                            "not a rate (> 1) or an anomaly band"))
                continue
            verdicts = {t: self.ix.delivers(t) for t in a.sns_actions}
            if True in verdicts.values():
                topics = ", ".join(t.split(":")[-1] for t, v in verdicts.items() if v)
                self.used[f"{path} → alarm {a.name} → {topics}"] |= hits
                ok = True
            elif None in verdicts.values():
                self.unknown.append(f"subscribers of the topics of alarm {a.name} cannot be read")
            else:
                self.breaks.append((ACTION, f"alarm {a.name} has no SNS action with a confirmed subscriber"))
        return ok

    def eventbridge(self) -> set[int]:
        if not self.item.eventbridge:
            return set()
        noise_event = to_eventbridge(self.noise)
        got: dict[str, set[int]] = {}
        for g in self.inv.regions:
            here = [(i, r, to_eventbridge(in_region(r, g))) for i, r in enumerate(self.recs)
                    if g in regions_of(r, self.inv.regions)]
            got[g] = set()
            feeds = self._trail_feeds(g)
            for rule in self.ix.rules.get(g, []):
                pat = _event_pattern(rule)
                if pat is None or not rule.enabled or (rule.state == ALL_EVENTS_STATE and eb_matches(pat, noise_event)):
                    continue  # unreadable, disabled, or routes every API call: not an alert on this item
                hits = {i for i, r, ev in here if eb_matches(pat, ev)
                        and (rule.state == ALL_EVENTS_STATE or not needs_read_only_delivery(r))}
                if hits and self._rule_delivers(rule, g, feeds, hits, full=len(hits) == len(here)):
                    got[g] |= hits
        return {i for i, r in enumerate(self.recs)
                if all(i in got.get(g, set()) for g in regions_of(r, self.inv.regions))}

    def _rule_delivers(self, rule: EventRule, region: str, feeds: bool, hits: set[int], full: bool) -> bool:
        name = f"EventBridge rule {rule.name} ({region})"
        if not feeds:
            self.eb_breaks.append((full, f"{name} gets no CloudTrail events: no logging trail recording all "
                                         f"management events covers {region}"))
            return False
        if rule.targets is None:
            self.unknown.append(f"targets of {name} cannot be read")
            return False
        verdicts = [self.ix.delivers(t.arn) for t in rule.targets]
        if True in verdicts:
            self.used[name] |= hits
            return True
        if None in verdicts:
            self.unknown.append(f"subscribers of the targets of {name} cannot be read")
        else:
            self.eb_breaks.append((full, f"{name} has no delivering target"))
        return False

    def _trail_feeds(self, region: str) -> bool:
        """EventBridge receives CloudTrail API events only where a logging trail covers the region."""
        return any(t.is_logging and t.management_events_all() and (t.multi_region or t.home_region == region)
                   for t in self.ix.trails)

    def why(self) -> str:
        """The break closest to a working alert, in one line."""
        if self.fed:
            stage = max(s for s, _ in self.breaks) if self.breaks else FILTER
            reason = next((b for s, b in self.breaks if s == stage), "")
        else:
            reason = ("no multi-region, logging trail recording all management events delivers to CloudWatch Logs"
                      + (f" ({'; '.join(sorted(set(self.trail_problems))[:2])})" if self.trail_problems else
                         " (no trail exists)"))
            reason += "".join(f"; {o}" for o in self.orphans()[:1])
        full_eb = [b for full, b in self.eb_breaks if full]
        return reason + (f"; {full_eb[0]}" if full_eb else "")


def _event_pattern(rule: EventRule) -> dict[str, Any] | None:
    try:
        return parse_event_pattern(rule.event_pattern)
    except PatternError:
        return None


def judge_chain(inv: Inventory, ix: Index, item: Any, recs: list[dict[str, Any]]) -> Finding:
    j = _Judge(inv, ix, item, recs)
    covered = j.metric() | j.eventbridge()
    # Name a successful call first: "CreateTrail by IAMUser" reads better than its AccessDenied variant.
    missing = sorted({describe(r) for i, r in enumerate(recs) if i not in covered}, key=lambda d: ("(" in d, d))
    # Chains that alert on everything by themselves first, then the ones sharing the work.
    used = sorted(j.used, key=lambda u: (-len(j.used[u]), u))
    evidence: dict[str, Any] = {"alerted_by" if not missing else "catches_some_events": used,
                                "chain_breaks": sorted({b for _, b in j.breaks} | set(j.trail_problems)
                                                       | {b for _, b in j.eb_breaks}),
                                "not_alerted": missing[:10], "sample_events": len(recs)}
    if not missing:
        return Finding.passed(inv.account(), f"{item.what} alerted via {'; '.join(used[:2])}", evidence=evidence)
    if j.unknown:
        evidence["unverified"] = sorted(set(j.unknown))
        return Finding.with_status(Status.ERROR, inv.account(), f"cannot tell whether {item.what} is alerted: "
                                   f"{sorted(set(j.unknown))[0]}", evidence=evidence)
    partial = f" (misses e.g. {missing[0]})" if used else ""
    return Finding.failed(inv.account(), f"no alert on {item.what}: {j.why()}{partial}", evidence=evidence)
