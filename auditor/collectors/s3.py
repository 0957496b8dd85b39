"""S3 buckets (region, Block Public Access, default encryption, policy) and account-level Block Public Access.

Global collector: ListBuckets once, then each bucket's detail calls go to a client in the bucket's region.
A detail left as None on a bucket means "could not read" (a gap with the bucket's ARN was recorded);
"not configured" is data and is always a model with `configured=False`.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from auditor.collectors import NOT_FOUND, CollectContext, Section, collector
from auditor.models import GLOBAL, Frozen, Resource

BUCKETS = "s3.buckets"
BUCKET_PAB = "s3.bucket_public_access_block"
BUCKET_ENCRYPTION = "s3.bucket_encryption"
BUCKET_POLICIES = "s3.bucket_policies"
ACCOUNT_PAB = "s3.account_public_access_block"

PAB_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


class PublicAccessBlock(Frozen):
    """One Block Public Access configuration; configured=False means none is set (every flag off)."""

    configured: bool = True
    flags: dict[str, bool] = {}

    @classmethod
    def from_api(cls, resp: Any) -> PublicAccessBlock:
        if resp is NOT_FOUND:
            return cls(configured=False, flags={f: False for f in PAB_FLAGS})
        conf = resp.get("PublicAccessBlockConfiguration", {})
        return cls(flags={f: bool(conf.get(f, False)) for f in PAB_FLAGS})

    @property
    def all_on(self) -> bool:
        return all(self.flags.get(f, False) for f in PAB_FLAGS)

    def off(self) -> list[str]:
        return [f for f in PAB_FLAGS if not self.flags.get(f, False)]


class EncryptionRule(Frozen):
    algorithm: str
    kms_key_id: str = ""
    bucket_key_enabled: bool = False


class BucketEncryption(Frozen):
    """Default encryption; configured=False is ServerSideEncryptionConfigurationNotFoundError."""

    configured: bool = True
    rules: list[EncryptionRule] = []


class BucketPolicy(Frozen):
    document: str | None = None  # None: the bucket has no policy (NoSuchBucketPolicy)

    @property
    def exists(self) -> bool:
        return self.document is not None


class S3Bucket(Resource):
    resource_type: ClassVar[str] = "AWS::S3::Bucket"
    created: datetime | None = None
    public_access_block: PublicAccessBlock | None = None  # None: unreadable (see gaps)
    encryption: BucketEncryption | None = None
    policy: BucketPolicy | None = None


class S3Section(Section):
    buckets: list[S3Bucket] = []
    account_public_access_block: PublicAccessBlock | None = None  # None: unreadable (see gaps)


def bucket_region(location: str | None) -> str:
    """GetBucketLocation's LocationConstraint as a region name (empty is us-east-1, 'EU' is eu-west-1)."""
    if not location:
        return "us-east-1"
    return "eu-west-1" if location == "EU" else location


@collector("s3", section=S3Section, regional=False, datasets={
    BUCKETS: ("s3:ListAllMyBuckets", "s3:GetBucketLocation"),
    BUCKET_PAB: ("s3:GetBucketPublicAccessBlock",),
    BUCKET_ENCRYPTION: ("s3:GetEncryptionConfiguration",),
    BUCKET_POLICIES: ("s3:GetBucketPolicy",),
    ACCOUNT_PAB: ("s3:GetAccountPublicAccessBlock",),
})
def collect_s3(ctx: CollectContext) -> S3Section:
    account_pab = _account_public_access_block(ctx)
    s3 = ctx.client("s3")
    listed = ctx.paginate(BUCKETS, s3, "list_buckets", "Buckets")
    if listed is None:
        return S3Section(account_public_access_block=account_pab)

    def detail(entry: dict[str, Any]) -> S3Bucket:
        name = entry["Name"]
        arn = f"arn:{ctx.partition}:s3:::{name}"
        # Real ListBuckets answers carry BucketRegion, which saves a GetBucketLocation per bucket.
        if entry.get("BucketRegion"):
            region = entry["BucketRegion"]
        else:
            loc = ctx.call(BUCKETS, s3, "get_bucket_location", Bucket=name, resource_id=arn)
            region = GLOBAL if loc is None else bucket_region(loc.get("LocationConstraint"))
        where = None if region == GLOBAL else region
        # Unknown region: the home-region client still works (botocore follows S3's region redirect).
        client = s3 if region == GLOBAL else ctx.client("s3", region)
        pab = ctx.call(BUCKET_PAB, client, "get_public_access_block", Bucket=name, resource_id=arn, gap_region=where,
                       absent=("NoSuchPublicAccessBlockConfiguration",))
        enc = ctx.call(BUCKET_ENCRYPTION, client, "get_bucket_encryption", Bucket=name, resource_id=arn,
                       gap_region=where, absent=("ServerSideEncryptionConfigurationNotFoundError",))
        pol = ctx.call(BUCKET_POLICIES, client, "get_bucket_policy", Bucket=name, resource_id=arn, gap_region=where,
                       absent=("NoSuchBucketPolicy",))
        return S3Bucket(arn=arn, id=name, region=region, account_id=ctx.account_id,
                        created=entry.get("CreationDate"),
                        public_access_block=None if pab is None else PublicAccessBlock.from_api(pab),
                        encryption=None if enc is None else _encryption(enc),
                        policy=None if pol is None else BucketPolicy(
                            document=None if pol is NOT_FOUND else pol.get("Policy")))

    buckets = ctx.map(detail, sorted(listed, key=lambda b: b["Name"]))
    return S3Section(buckets=buckets, account_public_access_block=account_pab)


def _account_public_access_block(ctx: CollectContext) -> PublicAccessBlock | None:
    resp = ctx.call(ACCOUNT_PAB, ctx.client("s3control"), "get_public_access_block", AccountId=ctx.account_id,
                    absent=("NoSuchPublicAccessBlockConfiguration",))
    return None if resp is None else PublicAccessBlock.from_api(resp)


def _encryption(resp: Any) -> BucketEncryption:
    if resp is NOT_FOUND:
        return BucketEncryption(configured=False)
    rules = []
    for rule in resp.get("ServerSideEncryptionConfiguration", {}).get("Rules", []):
        default = rule.get("ApplyServerSideEncryptionByDefault", {})
        rules.append(EncryptionRule(algorithm=default.get("SSEAlgorithm", ""),
                                    kms_key_id=default.get("KMSMasterKeyID", ""),
                                    bucket_key_enabled=bool(rule.get("BucketKeyEnabled", False))))
    return BucketEncryption(rules=rules)
