"""S3 Glacier vaults with their access policies (ListVaults, then GetVaultAccessPolicy per vault)."""
from __future__ import annotations

from typing import Any, ClassVar

from auditor.collectors import NOT_FOUND, CollectContext, Section, collector
from auditor.models import Resource

VAULTS = "glacier.vaults"
VAULT_POLICIES = "glacier.vault_policies"


class Vault(Resource):
    resource_type: ClassVar[str] = "AWS::Glacier::Vault"
    name: str
    policy_read: bool = False  # False: GetVaultAccessPolicy failed (see gaps)
    policy: str | None = None  # None: no access policy (when policy_read)


class GlacierSection(Section):
    vaults: list[Vault] = []


@collector("glacier", section=GlacierSection, regional=True, datasets={
    VAULTS: ("glacier:ListVaults",),
    VAULT_POLICIES: ("glacier:GetVaultAccessPolicy",),
})
def collect_glacier(ctx: CollectContext) -> GlacierSection:
    gl = ctx.client()
    listed = ctx.paginate(VAULTS, gl, "list_vaults", "VaultList", accountId="-")

    def vault(v: dict[str, Any]) -> Vault:
        arn = v["VaultARN"]
        resp = ctx.call(VAULT_POLICIES, gl, "get_vault_access_policy", accountId="-", vaultName=v["VaultName"],
                        absent=("ResourceNotFoundException",), resource_id=arn)
        policy = None if resp is None or resp is NOT_FOUND else (resp.get("policy") or {}).get("Policy") or None
        return Vault(arn=arn, id=v["VaultName"], name=v["VaultName"], region=ctx.region,
                     account_id=arn.split(":")[4], policy_read=resp is not None, policy=policy)

    return GlacierSection(vaults=ctx.map(vault, sorted(listed or [], key=lambda v: v["VaultARN"])))
