"""IAM role session settings: iam:ListRoles is the one list that carries MaxSessionDuration.

iam:GetAccountAuthorizationDetails (the iam collector) returns trust and permission policies but not the
session limit, so this collector adds only that, with the trust policy from the same page for convenience.
"""
from __future__ import annotations

from typing import Any, ClassVar

from auditor.collectors import CollectContext, Section, collector
from auditor.models import Resource
from auditor.policy import parse_document

ROLE_SESSIONS = "iam_roles.sessions"


class RoleSession(Resource):
    resource_type: ClassVar[str] = "AWS::IAM::Role"
    name: str
    path: str = "/"
    max_session_seconds: int | None = None  # None: not returned (AWS always returns it; 3600 by default)
    trust_policy: dict[str, Any] = {}


class IamRolesSection(Section):
    roles: list[RoleSession] | None = None  # None: not read (a gap explains why)


@collector("iam_roles", service="iam", section=IamRolesSection, regional=False, datasets={
    ROLE_SESSIONS: ("iam:ListRoles",),
})
def collect_iam_roles(ctx: CollectContext) -> IamRolesSection:
    listed = ctx.paginate(ROLE_SESSIONS, ctx.client(), "list_roles", "Roles")
    if listed is None:
        return IamRolesSection()
    roles = [RoleSession(arn=r["Arn"], id=r["RoleName"], name=r["RoleName"], path=r.get("Path", "/"),
                         account_id=ctx.account_id, max_session_seconds=r.get("MaxSessionDuration"),
                         trust_policy=parse_document(r.get("AssumeRolePolicyDocument")))
             for r in listed]
    return IamRolesSection(roles=sorted(roles, key=lambda r: r.name))
