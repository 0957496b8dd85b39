"""VPC layout: flow-log monitoring, gateway endpoints, private subnets, peering routes.

"WARN" rows have no WARN status: they are PASS with evidence["warning"] and "warning:" in the message.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditor.collectors.ec2 import FlowLog
from auditor.collectors.ec2_vpc import RouteTable, Subnet
from auditor.inventory import Inventory
from auditor.models import Finding, Status
from auditor.network import cidr_family, cidr_within
from auditor.registry import check
from checks._vpc_routing import Routing

_CW_LOGS = "cloud-watch-logs"
_ENDPOINT_SERVICES = ("s3", "dynamodb")


def _log_group(fl: FlowLog) -> str | None:
    if fl.destination_type and fl.destination_type != _CW_LOGS:
        return None
    dest = fl.destination
    if dest.startswith("arn:"):
        dest = dest.split(":log-group:", 1)[-1].removesuffix(":*")
    return dest or None


@check("vpc.flow-logs-monitored", needs=("ec2.flow_logs", "guardduty.detectors", "logs.metric-filters"))
def flow_logs_monitored(inv: Inventory) -> Iterator[Finding]:
    """Per region: GuardDuty enabled (it analyses VPC flow logs), or a flow log's CloudWatch Logs group has
    a metric filter. Otherwise a warning (informational row: never FAIL). Subscription filters are not
    collected, so a group watched only by a subscription still gets the warning."""
    enabled = {d.region for d in inv.guardduty.detectors if d.status == "ENABLED"}
    filters: dict[tuple[str, str], list[str]] = {}
    for mf in inv.logs.metric_filters:
        filters.setdefault((mf.region, mf.log_group), []).append(mf.name)
    for region in sorted(inv.regions):
        ref = inv.setting("ec2", "flow-logs-monitoring", region)
        logs = [fl for fl in inv.ec2.flow_logs if fl.region == region]
        groups = sorted({g for fl in logs if (g := _log_group(fl))})
        watched = {g: sorted(filters[(region, g)]) for g in groups if (region, g) in filters}
        ev: dict[str, Any] = {"guardduty_enabled": region in enabled, "flow_logs": len(logs),
                              "flow_log_groups": groups, "metric_filters": watched,
                              "destinations": sorted({fl.destination_type or "unknown" for fl in logs})}
        if region in enabled:
            yield Finding.passed(ref, f"GuardDuty analyses VPC flow logs in {region}", evidence=ev)
        elif watched:
            yield Finding.passed(ref, f"flow-log group(s) {', '.join(sorted(watched))} in {region} have metric "
                                      "filters", evidence=ev)
        else:
            why = ("no flow logs" if not logs else
                   "flow logs go to no CloudWatch Logs group" if not groups else
                   "no metric filter on the flow-log group(s)")
            ev["warning"] = f"flow logs are not monitored: GuardDuty is off and {why}"
            yield Finding.passed(ref, f"warning: flow logs in {region} are not monitored (GuardDuty off, {why})",
                                 evidence=ev)


def _service_of(service_name: str, region: str) -> str | None:
    """'s3' for com.amazonaws.<region>.s3 (any partition prefix), likewise dynamodb; None otherwise."""
    parts = service_name.split(".")
    if len(parts) >= 2 and parts[-2] == region and parts[-1] in _ENDPOINT_SERVICES:
        return parts[-1]
    return None


@check("vpc.gateway-endpoints-s3-dynamodb",
       needs=("ec2.vpcs", "ec2.subnets", "ec2.route_tables", "ec2.vpc_endpoints"))
def gateway_endpoints(inv: Inventory) -> Iterator[Finding]:
    """Every non-default VPC has an available Gateway endpoint for S3 and for DynamoDB, associated with the
    route table of every private subnet (no default route to an internet gateway). One finding per VPC and
    service. Interface endpoints are reported, not required."""
    routing = Routing(inv.ec2.route_tables)
    for vpc in inv.ec2.vpcs:
        if vpc.is_default:
            continue
        subnets = [s for s in inv.ec2.subnets if s.region == vpc.region and s.vpc_id == vpc.id]
        private: dict[str, RouteTable | None] = {}
        for s in subnets:
            routes = routing.internet_routes(s.region, s.vpc_id, s.id)
            if not routes:  # None (table unknown) stays in, and is an ERROR below
                private[s.id] = routing.table_for(s.region, s.vpc_id, s.id)
        mine = [e for e in inv.ec2.vpc_endpoints if e.region == vpc.region and e.vpc_id == vpc.id]
        for service in _ENDPOINT_SERVICES:
            eps = [e for e in mine if _service_of(e.service_name, vpc.region) == service]
            gateways = [e for e in eps if e.endpoint_type == "Gateway" and e.state.lower() == "available"]
            covered = {t for e in gateways for t in e.route_table_ids}
            unknown = sorted(s for s, t in private.items() if t is None)
            missing = sorted(s for s, t in private.items() if t is not None and t.id not in covered)
            ev = {"gateway_endpoints": [e.id for e in gateways], "private_subnets": sorted(private),
                  "interface_endpoints": [e.id for e in eps if e.endpoint_type == "Interface"],
                  "unassociated_private_subnets": missing}
            name = f"VPC {vpc.id}"
            if unknown:
                yield Finding.with_status(Status.ERROR, vpc, f"{name}: no route table known for subnet(s) "
                                          f"{', '.join(unknown)}", ev, service)
            elif not gateways:
                yield Finding.failed(vpc, f"{name} has no gateway endpoint for {service}", evidence=ev,
                                     subkey=service)
            elif missing:
                yield Finding.failed(vpc, f"{name}: the {service} gateway endpoint is not on the route table of "
                                          f"private subnet(s) {', '.join(missing)}", evidence=ev, subkey=service)
            else:
                yield Finding.passed(vpc, f"{name} routes {service} through gateway endpoint(s) "
                                          f"{', '.join(ev['gateway_endpoints'])}", evidence=ev, subkey=service)


@check("vpc.private-resources-in-private-subnets", needs=("ec2.subnets", "ec2.route_tables", "rds.db_instances"))
def private_resources_in_private_subnets(inv: Inventory) -> Iterator[Finding]:
    """A subnet is public when its route table (explicit, else the VPC's main one) has 0.0.0.0/0 or ::/0 to an
    internet gateway. FAIL for an RDS instance that is PubliclyAccessible or has a public subnet in its DB
    subnet group; a subnet with MapPublicIpOnLaunch gets a warning (PASS otherwise)."""
    routing = Routing(inv.ec2.route_tables)
    public: dict[tuple[str, str], list[str] | None] = {}
    for s in inv.ec2.subnets:
        public[(s.region, s.id)] = routes = routing.internet_routes(s.region, s.vpc_id, s.id)
        yield _subnet_finding(s, routes)
    for db in inv.rds.instances:
        # Until the rds collector records the DB subnet group's subnets (field subnet_ids), they are unknown:
        # never a pass. An empty list is data: the instance has no subnet group.
        subnet_ids: list[str] | None = getattr(db, "subnet_ids", None)
        ev: dict[str, Any] = {"publicly_accessible": db.publicly_accessible, "subnets": subnet_ids}
        if db.publicly_accessible:
            yield Finding.failed(db, f"DB instance {db.id} is PubliclyAccessible", evidence=ev)
            continue
        if subnet_ids is None:
            yield Finding.with_status(Status.ERROR, db, f"DB instance {db.id}: its DB subnet group's subnets "
                                      "were not collected", ev)
            continue
        routes = {s: public.get((db.region, s)) for s in subnet_ids}
        ev["public_subnets"] = sorted(s for s, r in routes.items() if r)
        unknown = sorted(s for s, r in routes.items() if r is None)
        if ev["public_subnets"]:
            yield Finding.failed(db, f"DB instance {db.id} has public subnet(s) {', '.join(ev['public_subnets'])} "
                                     "in its DB subnet group", evidence=ev)
        elif unknown:
            yield Finding.with_status(Status.ERROR, db, f"DB instance {db.id}: routing of subnet(s) "
                                      f"{', '.join(unknown)} is unknown", ev)
        elif not subnet_ids:
            yield Finding.passed(db, f"DB instance {db.id} is not publicly accessible and has no DB subnet group",
                                 evidence=ev)
        else:
            yield Finding.passed(db, f"DB instance {db.id} is private and only in private subnets", evidence=ev)


def _subnet_finding(s: Subnet, routes: list[str] | None) -> Finding:
    ev: dict[str, Any] = {"vpc_id": s.vpc_id, "public": None if routes is None else bool(routes),
                          "internet_routes": routes, "map_public_ip_on_launch": s.map_public_ip_on_launch}
    kind = "unknown-routing" if routes is None else "public" if routes else "private"
    if s.map_public_ip_on_launch:
        ev["warning"] = "instances launched here get a public IPv4 address by default"
        return Finding.passed(s, f"warning: {kind} subnet {s.id} gives new instances a public IP "
                                 "(MapPublicIpOnLaunch)", evidence=ev)
    return Finding.passed(s, f"{kind} subnet {s.id} does not give instances a public IP", evidence=ev)


@check("vpc.peering-routes-least-access", needs=("ec2.route_tables", "ec2.peering_connections"))
def peering_routes_least_access(inv: Inventory) -> Iterator[Finding]:
    """Per route via a VPC peering connection: a warning when its destination is the peer VPC's whole CIDR
    block (or wider) rather than specific subnets; for manual review (CIS 6.6 is manual). Never FAIL."""
    peerings = {(p.region, p.id): p for p in inv.ec2.peering_connections}
    for table in inv.ec2.route_tables:
        for route in table.routes:
            if not route.target.startswith("pcx-"):
                continue
            pcx = peerings.get((table.region, route.target))
            peer = pcx.peer_of(table.vpc_id) if pcx else None
            whole = sorted(c for c in (peer.cidrs if peer else []) if cidr_within(c, [route.destination]))
            ev: dict[str, Any] = {"vpc_id": table.vpc_id, "destination": route.destination,
                                  "peering_connection": route.target, "route_state": route.state,
                                  "peer_vpc": peer.vpc_id if peer else None, "peer_cidrs": peer.cidrs if peer else [],
                                  "peering_status": pcx.status if pcx else None}
            key = f"{route.destination}/{route.target}"
            where = f"route table {table.id}: {route.destination} via {route.target}"
            if cidr_family(route.destination) is None:
                ev["warning"] = "the destination is a prefix list; review it by hand"
                yield Finding.passed(table, f"warning: {where}: prefix-list destination, review by hand",
                                     evidence=ev, subkey=key)
            elif whole:
                ev["warning"] = "the route covers the peer VPC's whole CIDR; route only the subnets needed"
                yield Finding.passed(table, f"warning: {where} covers the whole peer VPC ({', '.join(whole)})",
                                     evidence=ev, subkey=key)
            elif pcx is None:
                yield Finding.passed(table, f"{where}: peering connection not found (route state "
                                            f"{route.state or 'unknown'})", evidence=ev, subkey=key)
            else:
                yield Finding.passed(table, f"{where} is narrower than the peer VPC", evidence=ev, subkey=key)
