"""EFS file systems with their encryption at rest and tags (one paginated DescribeFileSystems per region)."""
from __future__ import annotations

from typing import ClassVar

from auditor.collectors import CollectContext, Section, collector
from auditor.collectors.ec2_vpc import tags_of
from auditor.models import Resource

FILE_SYSTEMS = "efs.file_systems"


class FileSystem(Resource):
    resource_type: ClassVar[str] = "AWS::EFS::FileSystem"
    name: str = ""
    encrypted: bool = False
    kms_key_id: str = ""
    state: str = ""
    tags: dict[str, str] = {}


class EfsSection(Section):
    file_systems: list[FileSystem] = []


@collector("efs", section=EfsSection, regional=True, datasets={
    FILE_SYSTEMS: ("elasticfilesystem:DescribeFileSystems",),
})
def collect_efs(ctx: CollectContext) -> EfsSection:
    listed = ctx.paginate(FILE_SYSTEMS, ctx.client(), "describe_file_systems", "FileSystems")
    return EfsSection(file_systems=sorted(
        (FileSystem(arn=f.get("FileSystemArn") or ctx.arn("elasticfilesystem", f"file-system/{f['FileSystemId']}",
                                                            ctx.region),
                    id=f["FileSystemId"], region=ctx.region, account_id=f.get("OwnerId") or ctx.account_id,
                    name=f.get("Name") or "", encrypted=bool(f.get("Encrypted")), kms_key_id=f.get("KmsKeyId") or "",
                    state=f.get("LifeCycleState", ""), tags=tags_of(f.get("Tags")))
         for f in listed or []), key=lambda f: f.id))
