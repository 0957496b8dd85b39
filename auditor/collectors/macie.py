"""Amazon Macie status per region (GetMacieSession).

Buckets are not listed here: macie.enabled reads the s3 collector's buckets (with their regions).
AWS answers GetMacieSession with AccessDeniedException "Macie is not enabled" when Macie is off (moto: a
ResourceNotFoundException after DisableMacie); both are data. Any other refusal is a gap as usual.
"""
from __future__ import annotations

from auditor.collectors import NOT_FOUND, CollectContext, Section, collector
from auditor.models import Frozen

SESSIONS = "macie.session"

NOT_ENABLED = "NOT_ENABLED"


class MacieStatus(Frozen):
    region: str
    status: str  # ENABLED / PAUSED / NOT_ENABLED
    created_at: str = ""


class MacieSection(Section):
    sessions: list[MacieStatus] = []


@collector("macie", service="macie2", section=MacieSection, regional=True, datasets={
    SESSIONS: ("macie2:GetMacieSession",),
})
def collect_macie(ctx: CollectContext) -> MacieSection:
    resp = ctx.call(SESSIONS, ctx.client(), "get_macie_session", absent=("ResourceNotFoundException",))
    if resp is None and not _answered_not_enabled(ctx):
        return MacieSection()
    if resp is None or resp is NOT_FOUND:
        return MacieSection(sessions=[MacieStatus(region=ctx.region, status=NOT_ENABLED)])
    return MacieSection(sessions=[MacieStatus(region=ctx.region, status=resp.get("status", ""),
                                              created_at=str(resp.get("createdAt", "")))])


def _answered_not_enabled(ctx: CollectContext) -> bool:
    """Take back the gap of an AccessDeniedException whose message says Macie is off: that answer is data.

    ctx.call's `absent` matches error codes only, and this code also means a real refusal; the message tells them
    apart. The unit is single-threaded here, so the last gap is the one just recorded.
    """
    last = ctx.gaps[-1] if ctx.gaps else None
    if last is not None and last.dataset == SESSIONS and last.error_code == "AccessDenied" \
            and "macie is not enabled" in last.message.lower():
        ctx.gaps.pop()
        return True
    return False
