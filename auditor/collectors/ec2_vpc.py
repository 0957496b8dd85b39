"""VPC layout read by the ec2 collector: subnets, route tables, network ACLs, endpoints, peerings, prefix lists.

Models and one reader per dataset; `auditor/collectors/ec2.py` declares the datasets and calls these.
Each is one paginated call per region (no per-VPC calls); only customer prefix lists need a call each
for their entries, spread with ctx.map.
"""
from __future__ import annotations

from typing import Any, ClassVar

from auditor.collectors import CollectContext
from auditor.models import Frozen, Resource
from auditor.network import normalize_protocol

SUBNETS = "ec2.subnets"
ROUTE_TABLES = "ec2.route_tables"
NETWORK_ACLS = "ec2.network_acls"
VPC_ENDPOINTS = "ec2.vpc_endpoints"
PEERINGS = "ec2.peering_connections"
PREFIX_LISTS = "ec2.prefix_lists"
AWS_OWNER = "AWS"  # OwnerId of AWS-managed prefix lists (service ranges such as com.amazonaws.<region>.s3)


def tags_of(items: list[dict[str, Any]] | None) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in items or [] if "Key" in t}


def resource_fields(ctx: CollectContext, kind: str, rid: str) -> dict[str, Any]:
    return {"arn": ctx.arn("ec2", f"{kind}/{rid}", ctx.region), "id": rid, "region": ctx.region,
            "account_id": ctx.account_id}


class Subnet(Resource):
    resource_type: ClassVar[str] = "AWS::EC2::Subnet"
    vpc_id: str = ""
    cidr: str = ""
    ipv6_cidrs: list[str] = []
    availability_zone: str = ""
    map_public_ip_on_launch: bool = False
    assign_ipv6_on_creation: bool = False
    default_for_az: bool = False
    state: str = ""
    tags: dict[str, str] = {}


class Route(Frozen):
    destination: str  # a CIDR (IPv4 or IPv6) or a prefix-list id
    target: str  # igw-, nat-, pcx-, tgw-, vpce-, eni-, i-, eigw-, "local" ...
    state: str = ""  # active | blackhole


class RouteTable(Resource):
    resource_type: ClassVar[str] = "AWS::EC2::RouteTable"
    vpc_id: str = ""
    main: bool = False
    subnet_ids: list[str] = []  # explicit subnet associations
    routes: list[Route] = []
    tags: dict[str, str] = {}


class AclEntry(Frozen):
    rule_number: int
    egress: bool
    allow: bool
    protocol: str  # normalized: tcp, udp, icmp, -1 ...
    cidr: str  # CidrBlock or Ipv6CidrBlock
    from_port: int | None = None
    to_port: int | None = None


class NetworkAcl(Resource):
    resource_type: ClassVar[str] = "AWS::EC2::NetworkAcl"
    vpc_id: str = ""
    is_default: bool = False
    subnet_ids: list[str] = []
    entries: list[AclEntry] = []
    tags: dict[str, str] = {}


class VpcEndpoint(Resource):
    resource_type: ClassVar[str] = "AWS::EC2::VPCEndpoint"
    vpc_id: str = ""
    service_name: str = ""
    endpoint_type: str = ""  # Gateway | Interface | GatewayLoadBalancer ...
    state: str = ""
    route_table_ids: list[str] = []
    subnet_ids: list[str] = []


class PeerSide(Frozen):
    vpc_id: str = ""
    owner_id: str = ""
    region: str = ""
    cidrs: list[str] = []  # every IPv4 and IPv6 block the connection exposes for that VPC


class PeeringConnection(Resource):
    resource_type: ClassVar[str] = "AWS::EC2::VPCPeeringConnection"
    status: str = ""
    requester: PeerSide = PeerSide()
    accepter: PeerSide = PeerSide()

    def peer_of(self, vpc_id: str) -> PeerSide:
        return self.accepter if self.requester.vpc_id == vpc_id else self.requester


class PrefixList(Resource):
    resource_type: ClassVar[str] = "AWS::EC2::PrefixList"
    name: str = ""
    owner_id: str = ""
    address_family: str = ""
    entries: list[str] | None = None  # None: AWS-managed (not read) or unreadable (see gaps)

    @property
    def aws_managed(self) -> bool:
        return self.owner_id == AWS_OWNER


def read_subnets(ctx: CollectContext, ec2: Any) -> list[Subnet]:
    raw = ctx.paginate(SUBNETS, ec2, "describe_subnets", "Subnets")
    return sorted((Subnet(
        **resource_fields(ctx, "subnet", s["SubnetId"]), vpc_id=s.get("VpcId", ""), cidr=s.get("CidrBlock", ""),
        ipv6_cidrs=sorted(a["Ipv6CidrBlock"] for a in s.get("Ipv6CidrBlockAssociationSet") or []
                          if a.get("Ipv6CidrBlock")),
        availability_zone=s.get("AvailabilityZone", ""), map_public_ip_on_launch=bool(s.get("MapPublicIpOnLaunch")),
        assign_ipv6_on_creation=bool(s.get("AssignIpv6AddressOnCreation")), default_for_az=bool(s.get("DefaultForAz")),
        state=s.get("State", ""), tags=tags_of(s.get("Tags"))) for s in raw or []), key=lambda x: x.id)


_TARGETS = ("GatewayId", "NatGatewayId", "VpcPeeringConnectionId", "TransitGatewayId", "NetworkInterfaceId",
            "InstanceId", "EgressOnlyInternetGatewayId", "CarrierGatewayId", "LocalGatewayId", "CoreNetworkArn")


def _route(r: dict[str, Any]) -> Route:
    dest = r.get("DestinationCidrBlock") or r.get("DestinationIpv6CidrBlock") or r.get("DestinationPrefixListId")
    target = next((r[k] for k in _TARGETS if r.get(k)), "")
    return Route(destination=dest or "", target=target, state=r.get("State", ""))


def read_route_tables(ctx: CollectContext, ec2: Any) -> list[RouteTable]:
    raw = ctx.paginate(ROUTE_TABLES, ec2, "describe_route_tables", "RouteTables")
    out = []
    for t in raw or []:
        assoc = [a for a in t.get("Associations") or []
                 if (a.get("AssociationState") or {}).get("State", "associated") == "associated"]
        out.append(RouteTable(
            **resource_fields(ctx, "route-table", t["RouteTableId"]), vpc_id=t.get("VpcId", ""),
            main=any(a.get("Main") for a in assoc),
            subnet_ids=sorted(a["SubnetId"] for a in assoc if a.get("SubnetId")),
            routes=sorted((_route(r) for r in t.get("Routes") or []), key=lambda r: (r.destination, r.target)),
            tags=tags_of(t.get("Tags"))))
    return sorted(out, key=lambda x: x.id)


def read_network_acls(ctx: CollectContext, ec2: Any) -> list[NetworkAcl]:
    raw = ctx.paginate(NETWORK_ACLS, ec2, "describe_network_acls", "NetworkAcls")
    out = []
    for n in raw or []:
        entries = [AclEntry(rule_number=e["RuleNumber"], egress=bool(e.get("Egress")),
                            allow=e.get("RuleAction") == "allow", protocol=normalize_protocol(e.get("Protocol")),
                            cidr=e.get("CidrBlock") or e.get("Ipv6CidrBlock") or "",
                            from_port=(e.get("PortRange") or {}).get("From"),
                            to_port=(e.get("PortRange") or {}).get("To"))
                   for e in n.get("Entries") or [] if "RuleNumber" in e]
        out.append(NetworkAcl(
            **resource_fields(ctx, "network-acl", n["NetworkAclId"]), vpc_id=n.get("VpcId", ""),
            is_default=bool(n.get("IsDefault")),
            subnet_ids=sorted(a["SubnetId"] for a in n.get("Associations") or [] if a.get("SubnetId")),
            entries=sorted(entries, key=lambda e: (e.egress, e.rule_number, e.cidr)), tags=tags_of(n.get("Tags"))))
    return sorted(out, key=lambda x: x.id)


def read_vpc_endpoints(ctx: CollectContext, ec2: Any) -> list[VpcEndpoint]:
    raw = ctx.paginate(VPC_ENDPOINTS, ec2, "describe_vpc_endpoints", "VpcEndpoints")
    return sorted((VpcEndpoint(
        **resource_fields(ctx, "vpc-endpoint", e["VpcEndpointId"]), vpc_id=e.get("VpcId", ""),
        service_name=e.get("ServiceName", ""), endpoint_type=e.get("VpcEndpointType", ""), state=e.get("State", ""),
        route_table_ids=sorted(e.get("RouteTableIds") or []), subnet_ids=sorted(e.get("SubnetIds") or []))
        for e in raw or []), key=lambda x: x.id)


def _side(info: dict[str, Any] | None) -> PeerSide:
    info = info or {}
    cidrs = {c["CidrBlock"] for c in info.get("CidrBlockSet") or [] if c.get("CidrBlock")}
    cidrs |= {c["Ipv6CidrBlock"] for c in info.get("Ipv6CidrBlockSet") or [] if c.get("Ipv6CidrBlock")}
    if info.get("CidrBlock"):
        cidrs.add(info["CidrBlock"])
    return PeerSide(vpc_id=info.get("VpcId", ""), owner_id=info.get("OwnerId", ""), region=info.get("Region", ""),
                    cidrs=sorted(cidrs))


def read_peerings(ctx: CollectContext, ec2: Any) -> list[PeeringConnection]:
    raw = ctx.paginate(PEERINGS, ec2, "describe_vpc_peering_connections", "VpcPeeringConnections")
    return sorted((PeeringConnection(
        **resource_fields(ctx, "vpc-peering-connection", p["VpcPeeringConnectionId"]),
        status=(p.get("Status") or {}).get("Code", ""), requester=_side(p.get("RequesterVpcInfo")),
        accepter=_side(p.get("AccepterVpcInfo"))) for p in raw or []), key=lambda x: x.id)


def read_prefix_lists(ctx: CollectContext, ec2: Any) -> list[PrefixList]:
    raw = ctx.paginate(PREFIX_LISTS, ec2, "describe_managed_prefix_lists", "PrefixLists")

    def detail(p: dict[str, Any]) -> PrefixList:
        arn = p.get("PrefixListArn") or ctx.arn("ec2", f"prefix-list/{p['PrefixListId']}", ctx.region)
        owner = p.get("OwnerId", "")
        entries = None
        if owner != AWS_OWNER:  # AWS-managed lists hold AWS service ranges; reading them proves nothing
            got = ctx.paginate(PREFIX_LISTS, ec2, "get_managed_prefix_list_entries", "Entries", resource_id=arn,
                               PrefixListId=p["PrefixListId"])
            entries = None if got is None else sorted({e["Cidr"] for e in got if e.get("Cidr")})
        return PrefixList(arn=arn, id=p["PrefixListId"], region=ctx.region, account_id=ctx.account_id,
                          name=p.get("PrefixListName", ""), owner_id=owner,
                          address_family=p.get("AddressFamily", ""), entries=entries)

    return sorted(ctx.map(detail, raw or []), key=lambda x: x.id)
