"""Which route table a subnet uses (its explicit association, else its VPC's main table) and whether it
is public: a default route (0.0.0.0/0 or ::/0) to an internet gateway that is not a blackhole.

Shared by the VPC and EC2 checks; not a check module (the leading underscore keeps it out of load_all).
"""
from __future__ import annotations

from collections.abc import Iterable

from auditor.collectors.ec2_vpc import RouteTable
from auditor.network import cidr_family, is_internet_route


class Routing:
    def __init__(self, tables: Iterable[RouteTable]) -> None:
        self._explicit: dict[tuple[str, str], RouteTable] = {}
        self._main: dict[tuple[str, str], RouteTable] = {}
        for t in tables:
            for subnet in t.subnet_ids:
                self._explicit[(t.region, subnet)] = t
            if t.main:
                self._main[(t.region, t.vpc_id)] = t

    def table_for(self, region: str, vpc_id: str, subnet_id: str) -> RouteTable | None:
        """None when no table is known (a VPC created after the route tables were listed)."""
        return self._explicit.get((region, subnet_id)) or self._main.get((region, vpc_id))

    def internet_routes(self, region: str, vpc_id: str, subnet_id: str,
                        family: str | None = None) -> list[str] | None:
        """Destinations of the subnet's default routes to an internet gateway; None when unknown."""
        table = self.table_for(region, vpc_id, subnet_id)
        if table is None:
            return None
        return sorted(r.destination for r in table.routes if is_internet_route(r.destination, r.target, r.state)
                      and (family is None or cidr_family(r.destination) == family))
