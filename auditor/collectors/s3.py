"""S3 buckets (region, Block Public Access, encryption, policy, ACL, versioning, logging, lock, replication, tags,
website) and account-level Block Public Access.

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
BUCKET_ACL = "s3.bucket_acl"
BUCKET_VERSIONING = "s3.bucket_versioning"
BUCKET_LOGGING = "s3.bucket_logging"
BUCKET_OBJECT_LOCK = "s3.bucket_object_lock"
BUCKET_REPLICATION = "s3.bucket_replication"
BUCKET_TAGS = "s3.bucket_tags"
BUCKET_WEBSITE = "s3.bucket_website"
BUCKET_POLICY_STATUS = "s3.bucket_policy_status"  # optional cross-check; moto lacks it, so no check needs it

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


class AclGrant(Frozen):
    grantee_type: str  # CanonicalUser | Group | AmazonCustomerByEmail
    grantee: str  # canonical id, group URI or e-mail
    permission: str


class BucketAcl(Frozen):
    owner_id: str = ""
    grants: list[AclGrant] = []


class BucketVersioning(Frozen):
    status: str = ""  # "" (never enabled) | Enabled | Suspended
    mfa_delete: str = ""  # "" (never set) | Enabled | Disabled

    @property
    def enabled(self) -> bool:
        return self.status == "Enabled"


class BucketLogging(Frozen):
    enabled: bool = False
    target_bucket: str = ""
    target_prefix: str = ""


class ObjectLock(Frozen):
    enabled: bool = False
    mode: str = ""  # default retention mode (GOVERNANCE | COMPLIANCE), if any
    days: int | None = None
    years: int | None = None


class ReplicationRule(Frozen):
    id: str = ""
    status: str = ""
    destination_bucket: str = ""  # bucket ARN
    destination_account: str = ""  # only set when the rule names the owner account


class S3Bucket(Resource):
    resource_type: ClassVar[str] = "AWS::S3::Bucket"
    created: datetime | None = None
    public_access_block: PublicAccessBlock | None = None  # None: unreadable (see gaps)
    encryption: BucketEncryption | None = None
    policy: BucketPolicy | None = None
    acl: BucketAcl | None = None
    versioning: BucketVersioning | None = None
    logging: BucketLogging | None = None
    # Object Lock and replication both need versioning Enabled, so they are read only then; None otherwise.
    object_lock: ObjectLock | None = None
    replication: list[ReplicationRule] | None = None  # [] = no replication configuration
    tags: dict[str, str] | None = None
    website: bool | None = None  # static website hosting configured
    policy_is_public: bool | None = None  # GetBucketPolicyStatus (only asked when a policy exists)


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
    BUCKET_ACL: ("s3:GetBucketAcl",),
    BUCKET_VERSIONING: ("s3:GetBucketVersioning",),
    BUCKET_LOGGING: ("s3:GetBucketLogging",),
    BUCKET_OBJECT_LOCK: ("s3:GetBucketObjectLockConfiguration",),
    BUCKET_REPLICATION: ("s3:GetReplicationConfiguration",),
    BUCKET_TAGS: ("s3:GetBucketTagging",),
    BUCKET_WEBSITE: ("s3:GetBucketWebsite",),
    BUCKET_POLICY_STATUS: ("s3:GetBucketPolicyStatus",),
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

        def get(dataset: str, method: str, *absent: str) -> Any:
            return ctx.call(dataset, client, method, Bucket=name, resource_id=arn, gap_region=where, absent=absent)

        extra = _details(get, has_policy=bool(pol) and pol is not NOT_FOUND)
        return S3Bucket(arn=arn, id=name, region=region, account_id=ctx.account_id,
                        created=entry.get("CreationDate"),
                        public_access_block=None if pab is None else PublicAccessBlock.from_api(pab),
                        encryption=None if enc is None else _encryption(enc),
                        policy=None if pol is None else BucketPolicy(
                            document=None if pol is NOT_FOUND else pol.get("Policy")), **extra)

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


def _details(get: Any, *, has_policy: bool) -> dict[str, Any]:
    """ACL, versioning, logging, tags, website, and what depends on them; a None value is a recorded gap."""
    out: dict[str, Any] = {}
    acl = get(BUCKET_ACL, "get_bucket_acl")
    if acl is not None:
        out["acl"] = BucketAcl(owner_id=acl.get("Owner", {}).get("ID", ""), grants=[AclGrant(
            grantee_type=g.get("Grantee", {}).get("Type", ""), permission=g.get("Permission", ""),
            grantee=next((g["Grantee"][k] for k in ("URI", "ID", "EmailAddress") if g.get("Grantee", {}).get(k)), ""))
            for g in acl.get("Grants", [])])
    ver = get(BUCKET_VERSIONING, "get_bucket_versioning")
    if ver is not None:
        out["versioning"] = BucketVersioning(status=ver.get("Status", ""), mfa_delete=ver.get("MFADelete", ""))
    log = get(BUCKET_LOGGING, "get_bucket_logging")
    if log is not None:
        le = log.get("LoggingEnabled")
        out["logging"] = BucketLogging(enabled=bool(le), target_bucket=(le or {}).get("TargetBucket", ""),
                                       target_prefix=(le or {}).get("TargetPrefix", ""))
    tags = get(BUCKET_TAGS, "get_bucket_tagging", "NoSuchTagSet")
    if tags is not None:
        out["tags"] = {} if tags is NOT_FOUND else {t["Key"]: t.get("Value", "") for t in tags.get("TagSet", [])}
    web = get(BUCKET_WEBSITE, "get_bucket_website", "NoSuchWebsiteConfiguration")
    if web is not None:
        out["website"] = web is not NOT_FOUND
    if has_policy:
        status = get(BUCKET_POLICY_STATUS, "get_bucket_policy_status", "NoSuchBucketPolicy")
        if status and status is not NOT_FOUND and "IsPublic" in status.get("PolicyStatus", {}):
            out["policy_is_public"] = bool(status["PolicyStatus"]["IsPublic"])
    if ver is not None and ver.get("Status") == "Enabled":
        lock = get(BUCKET_OBJECT_LOCK, "get_object_lock_configuration", "ObjectLockConfigurationNotFoundError")
        if lock is not None:
            out["object_lock"] = _object_lock(lock)
        rep = get(BUCKET_REPLICATION, "get_bucket_replication", "ReplicationConfigurationNotFoundError")
        if rep is not None:
            out["replication"] = [] if rep is NOT_FOUND else [ReplicationRule(
                id=r.get("ID", ""), status=r.get("Status", ""),
                destination_bucket=r.get("Destination", {}).get("Bucket", ""),
                destination_account=r.get("Destination", {}).get("Account", ""))
                for r in rep.get("ReplicationConfiguration", {}).get("Rules", [])]
    return out


def _object_lock(resp: Any) -> ObjectLock:
    if resp is NOT_FOUND:
        return ObjectLock(enabled=False)
    conf = resp.get("ObjectLockConfiguration", {})
    retention = conf.get("Rule", {}).get("DefaultRetention", {})
    return ObjectLock(enabled=conf.get("ObjectLockEnabled") == "Enabled", mode=retention.get("Mode", ""),
                      days=retention.get("Days"), years=retention.get("Years"))
