"""The state concern: where Terraform keeps state (backend) and the team's state stack."""
from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .fields import _NAME_RE, ADMIN_STACKS, NAME_RULE, matching
from .regions import MAINLAND_REGIONS, OVERSEAS_REGIONS


BackendKind = Literal["local", "oss", "cloud", "remote"]
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_OTS_ENDPOINT_RE = re.compile(r"^https://(?P<instance>[A-Za-z][A-Za-z0-9-]{1,14}[A-Za-z0-9])\.(?P<region>[a-z0-9-]+)\.(vpc\.)?ots\.aliyuncs\.com/?$")
_OTS_TABLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
_OTS_INSTANCE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,14}[A-Za-z0-9]$")


def _bucket_name(value: str | None) -> str | None:
    if value is not None and not _BUCKET_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not an OSS bucket name (3-63 chars: a-z, 0-9, '-'; no '-' at either end)")
    return value


def _table_name(value: str | None) -> str | None:
    if value is not None and not _OTS_TABLE_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not a Tablestore table name (letters, digits, '_'; not starting with a digit)")
    return value


class BackendSettings(BaseModel):
    """Where Terraform keeps this workspace's state. The key is always <prefix>/<name>/<stack>.tfstate."""

    model_config = ConfigDict(extra="forbid")

    kind: BackendKind = Field("local", description="local (state_dir), oss (OSS + Tablestore lock), cloud or remote (HCP Terraform / TFE).")
    bucket: str | None = Field(None, description="oss: the state bucket.")
    prefix: str = Field("opencode", description="oss: folder in the bucket; the workspace name and stack are appended.")
    region: str | None = Field(None, description="oss: the bucket's region; unset means the workspace region.")
    tablestore_endpoint: str | None = Field(None, description="oss: https://<instance>.<region>.ots.aliyuncs.com for locking.")
    tablestore_table: str | None = Field(None, description="oss: the lock table (primary key LockID, String).")
    profile: str | None = Field(None, description="oss: profile in ~/.aliyun/config.json to use for state access.")
    assume_role_arn: str | None = Field(None, description="oss: acs:ram::<account>:role/<name> to assume for state access.")
    organization: str | None = Field(None, description="cloud/remote: the HCP Terraform / TFE organization.")
    workspace: str | None = Field(None, description="cloud/remote: the workspace; unset means <name>-<stack>.")
    hostname: str = Field("app.terraform.io", description="cloud/remote: the HCP Terraform / TFE host.")

    _bucket = field_validator("bucket")(_bucket_name)

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not re.fullmatch(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,100}$", value) or value.endswith("/") or "//" in value:
            raise ValueError(f"{value!r} is not a state folder such as teams/platform")
        return value

    _table = field_validator("tablestore_table")(_table_name)

    @field_validator("tablestore_endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None and not _OTS_ENDPOINT_RE.fullmatch(value):
            raise ValueError(f"{value!r} is not a Tablestore endpoint such as https://my-locks.ap-southeast-1.ots.aliyuncs.com")
        return value.rstrip("/") if value else value

    _role = field_validator("assume_role_arn")(matching(
        r"acs:ram::\d{10,20}:role/[A-Za-z0-9._-]{1,64}",
        "{value!r} is not a RAM role ARN such as acs:ram::1234567890123456:role/terraform-state"))


class StateStackSettings(BaseModel):
    """The team's state stack (opencode-state): bucket and lock table, deployed once with local state."""

    model_config = ConfigDict(extra="forbid")

    bucket: str | None = Field(None, description="Bucket to create; set it to synthesize the opencode-state stack.")
    ots_instance: str = Field("opencode-locks", description="Tablestore instance to create (3-16 chars, unique in the region).")
    lock_table: str = Field("terraform_lock", description="Lock table to create (primary key LockID, String).")
    noncurrent_version_days: int = Field(90, ge=1, le=3650, description="Days to keep old state versions.")
    team_policy: bool = Field(
        True, description="Also create a RAM policy for the whole bucket: its holders can read every workspace's state."
    )
    workspaces: list[str] = Field(
        default_factory=list,
        description="Workspaces that get a RAM policy of their own: that workspace's state only (per-user access).",
    )
    protect: bool = Field(True, description="Protect bucket and lock table against an accidental destroy (prevent_destroy).")

    _bucket = field_validator("bucket")(_bucket_name)

    @field_validator("ots_instance")
    @classmethod
    def _instance(cls, value: str) -> str:
        if not _OTS_INSTANCE_RE.fullmatch(value) or value.lower().startswith(("ali", "ay", "ots", "taobao", "admin")):
            raise ValueError(
                f"{value!r} is not a Tablestore instance name: 3-16 chars of letters, digits and '-', starting with "
                "a letter, not ending with '-', and not starting with ali, ay, ots, taobao or admin"
            )
        return value

    _table = field_validator("lock_table")(_table_name)

    @field_validator("workspaces")
    @classmethod
    def _workspaces(cls, value: list[str]) -> list[str]:
        for name in value:
            if not _NAME_RE.fullmatch(name) or name in (*ADMIN_STACKS, "access"):
                raise ValueError(f"{name!r} is not a workspace name ({NAME_RULE}; not {', '.join(ADMIN_STACKS)}, "
                                 "nor access, the team policy's name)")
        if len(set(value)) != len(value):
            raise ValueError("lists a workspace twice")
        return value


def backend_problems(backend: BackendSettings, workspace_region: str) -> list[tuple[str, str]]:
    """Settings that do not fit the backend kind, or each other."""
    problems: list[tuple[str, str]] = []
    oss_fields = ("bucket", "region", "tablestore_endpoint", "tablestore_table", "profile", "assume_role_arn")
    remote_fields = ("organization", "workspace")
    if backend.kind != "oss":
        for field in oss_fields:
            if getattr(backend, field) is not None:
                problems.append((f"backend.{field}", f"is only for backend.kind = oss (kind is {backend.kind})"))
    if backend.kind not in ("cloud", "remote"):
        for field in remote_fields:
            if getattr(backend, field) is not None:
                problems.append((f"backend.{field}", f"is only for backend.kind = cloud or remote (kind is {backend.kind})"))
    if backend.kind == "oss":
        if not backend.bucket:
            problems.append(("backend.bucket", "is required when backend.kind is oss (the state bucket, see scripts/state-bootstrap)"))
        region = backend.region or workspace_region
        if backend.region and backend.region not in OVERSEAS_REGIONS and backend.region not in MAINLAND_REGIONS:
            problems.append(("backend.region", f"unknown region {backend.region!r}"))
        if bool(backend.tablestore_endpoint) != bool(backend.tablestore_table):
            problems.append((
                "backend.tablestore_table" if backend.tablestore_endpoint else "backend.tablestore_endpoint",
                "locking needs both backend.tablestore_endpoint and backend.tablestore_table",
            ))
        if backend.tablestore_endpoint:
            match = _OTS_ENDPOINT_RE.fullmatch(backend.tablestore_endpoint)
            if match and match["region"] != region:
                problems.append((
                    "backend.tablestore_endpoint",
                    f"is in region {match['region']} but the state bucket is in {region}; "
                    "use the lock table's endpoint in the bucket's region",
                ))
    if backend.kind in ("cloud", "remote") and not backend.organization:
        problems.append(("backend.organization", f"is required when backend.kind is {backend.kind}"))
    return problems
