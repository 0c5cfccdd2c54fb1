"""The settings model: everything a user can choose about a workspace.

Sources, highest priority first:
  1. environment variables prefixed OPENCODE_ALICLOUD_ (nested fields with `__`,
     e.g. OPENCODE_ALICLOUD_MODEL__PROVIDER=openai);
  2. a `.env` file in the working directory (same names);
  3. a TOML file named by OPENCODE_ALICLOUD_CONFIG (see config/settings.example.toml);
  4. the defaults below.

Secret values (model API key, GitHub token, web password) are never settings: settings
are written into cdk.tf.json. Secrets enter as sensitive Terraform variables at deploy
time, or by naming an existing OOS secret parameter (the *_parameter fields).
"""
from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import SettingsError as PydanticSettingsError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from .regions import MAINLAND_REGIONS, OVERSEAS_REGIONS
from .sources import (
    CONFIG_FILE_ENV,
    ENV_PREFIX,
    CommaListDotEnvSource,
    CommaListEnvSource,
    read_toml,
    source_of,
    unknown_variables,
)

DiskCategory = Literal["cloud_essd_entry", "cloud_auto", "cloud_essd", "cloud_ssd", "cloud_efficiency"]
ModelProvider = Literal["anthropic", "openai", "google", "openai-compatible"]
TlsMode = Literal["acme", "internal", "tunnel-only"]

_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{1,22}[a-z0-9]$")
_DOMAIN_RE = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_ID_RE = {
    "vpc_id": re.compile(r"^vpc-[a-z0-9]{6,32}$"),
    "vswitch_id": re.compile(r"^vsw-[a-z0-9]{6,32}$"),
    "eip_allocation_id": re.compile(r"^eip-[a-z0-9]{6,32}$"),
}


def _cidr(value: str) -> str:
    """A CIDR in canonical form; host bits must be zero."""
    try:
        network = ipaddress.ip_network(value.strip(), strict=True)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid CIDR such as 203.0.113.0/24 ({exc})") from None
    return str(network)


Cidr = Annotated[str, AfterValidator(_cidr)]


def _resource_id(kind: str, value: str | None) -> str | None:
    """An existing resource's id: vpc-..., vsw-..., eip-..."""
    if value is None:
        return None
    pattern = _ID_RE[kind]
    if not pattern.fullmatch(value):
        raise ValueError(f"{value!r} is not a {kind.replace('_', ' ')}; it starts with {pattern.pattern[1:4]}")
    return value


def _parameter_name(value: str | None) -> str | None:
    """An OOS parameter name: 2-180 chars of letters, digits, '-', '_', '/'; not ALIYUN/ACS/ALIBABA."""
    if value is None:
        return None
    if not re.fullmatch(r"^[A-Za-z0-9_/-]{2,180}$", value) or value.upper().startswith(("ALIYUN", "ACS", "ALIBABA")):
        raise ValueError(
            f"{value!r} is not an OOS parameter name (letters, digits, '-', '_', '/'; "
            "not starting with ALIYUN, ACS or ALIBABA)"
        )
    return value


class ModelSettings(BaseModel):
    """Which model OpenCode talks to. The API key is a secret: see `api_key_parameter`."""

    model_config = ConfigDict(extra="forbid")

    provider: ModelProvider = Field(
        "anthropic",
        description="Model provider: anthropic, openai, google, or openai-compatible (any OpenAI-style URL).",
    )
    model: str = Field(
        "claude-sonnet-4-5",
        min_length=1,
        description="Default model id, as the provider names it.",
    )
    base_url: str | None = Field(
        None,
        description="API base URL; required for openai-compatible, optional otherwise.",
    )
    api_key_parameter: str | None = Field(
        None,
        description="Name of an existing OOS secret parameter holding the API key. "
        "Unset: the key comes from the sensitive Terraform variable `model_api_key` at deploy time.",
    )

    @field_validator("api_key_parameter")
    @classmethod
    def _api_key_parameter(cls, value: str | None) -> str | None:
        return _parameter_name(value)

    @field_validator("model")
    @classmethod
    def _model_id(cls, value: str) -> str:
        # It lands in opencode.json (a JSON serializer writes it) and in OpenCode's provider/model reference.
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,127}", value):
            raise ValueError(f"{value!r} is not a model id such as claude-sonnet-4-5 (letters, digits, . _ : @ / + -)")
        return value

    @field_validator("base_url")
    @classmethod
    def _https_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.fullmatch(r"^https?://[^\s/]+(/\S*)?$", value):
            raise ValueError(f"{value!r} is not an http(s) URL such as https://api.example.com/v1")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _base_url_for_compatible(self) -> "ModelSettings":
        if self.provider == "openai-compatible" and not self.base_url:
            raise ValueError(
                "model.base_url is required when model.provider is openai-compatible "
                "(set OPENCODE_ALICLOUD_MODEL__BASE_URL=https://.../v1)"
            )
        return self


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

    @field_validator("assume_role_arn")
    @classmethod
    def _role(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"^acs:ram::\d{10,20}:role/[A-Za-z0-9._-]{1,64}$", value):
            raise ValueError(f"{value!r} is not a RAM role ARN such as acs:ram::1234567890123456:role/terraform-state")
        return value


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
            if not _NAME_RE.fullmatch(name):
                raise ValueError(f"{name!r} is not a workspace name (3-24 chars: a-z, 0-9, '-')")
        if len(set(value)) != len(value):
            raise ValueError("lists a workspace twice")
        return value


_GPU_TYPE_RE = re.compile(r"^ecs\.(ebm)?(gn|sgn|vgn|gi)[0-9][a-z0-9]*-[a-z0-9]+\.[a-z0-9]+$")


class ModelServerSettings(BaseModel):
    """An optional private model server: vLLM on a GPU instance in the same VPC, no public port."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(False, description="Run a private vLLM model server and point OpenCode at it.")
    instance_type: str = Field(
        "ecs.gn7i-c8g1.2xlarge", description="GPU instance type (default: 1x NVIDIA A10 24 GB, 8 vCPU, 30 GiB)."
    )
    model: str = Field("Qwen/Qwen3-4B-Instruct-2507", description="Model id to serve (ModelScope / Hugging Face).")
    served_model_name: str = Field("qwen3-4b", description="Name OpenCode uses for the model.")
    max_model_len: int = Field(32768, ge=1024, le=262144, description="Maximum context length, in tokens.")
    vllm_image: str = Field("vllm/vllm-openai:v0.11.0", description="vLLM OpenAI-compatible server image, pinned.")
    use_modelscope: bool = Field(True, description="Download weights from ModelScope (fast in Alibaba regions); false: Hugging Face.")
    weights_disk_size: int = Field(60, ge=40, le=2048, description="GiB of the disk that caches weights and images.")
    vswitch_cidr: Cidr = Field("10.42.2.0/24", description="CIDR of the model server's vSwitch (its own zone with GPUs).")
    vswitch_id: str | None = Field(None, description="Existing vSwitch for the model server (required with vpc_id).")
    private_ip: str | None = Field(None, description="Private IP of the model server; unset: the 10th address of vswitch_cidr.")

    def address(self) -> str:
        """The model server's private IP (fixed, so the workspace needs no dependency on it)."""
        if self.private_ip:
            return self.private_ip
        return str(ipaddress.ip_network(self.vswitch_cidr).network_address + 10)

    @field_validator("instance_type")
    @classmethod
    def _gpu(cls, value: str) -> str:
        if not _GPU_TYPE_RE.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a GPU instance type; use a GPU family such as ecs.gn7i-c8g1.2xlarge (A10 24 GB)"
            )
        return value

    @field_validator("model")
    @classmethod
    def _repo_id(cls, value: str) -> str:
        # A Hugging Face / ModelScope repo id: it becomes one argument of `vllm serve`.
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}", value) or ".." in value:
            raise ValueError(f"{value!r} is not a model repo id such as Qwen/Qwen3-4B-Instruct-2507")
        return value

    @field_validator("vllm_image")
    @classmethod
    def _pinned(cls, value: str) -> str:
        if not re.fullmatch(r"^[a-z0-9./_-]+:v?\d+\.\d+\.\d+$", value):
            raise ValueError(f"{value!r} must be pinned to a version, e.g. vllm/vllm-openai:v0.11.0")
        return value

    @field_validator("served_model_name")
    @classmethod
    def _served(cls, value: str) -> str:
        if not re.fullmatch(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", value):
            raise ValueError(f"{value!r} must be 1-64 chars of letters, digits, '.', '_', '-'")
        return value

    @field_validator("vswitch_id")
    @classmethod
    def _vsw(cls, value: str | None) -> str | None:
        return _resource_id("vswitch_id", value)


class Settings(BaseSettings):
    """Settings of one OpenCode workspace."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="forbid",
        validate_default=True,
    )

    name: str = Field(
        "opencode",
        description="Prefix of every resource name and the `workspace` tag. 3-24 chars: a-z, 0-9, '-'.",
    )
    region: str = Field("ap-southeast-1", description="Alibaba Cloud region id, outside mainland China.")
    instance_type: str = Field("ecs.e-c1m2.large", description="ECS instance type (2 vCPU, 4 GiB by default).")
    image_name_regex: str = Field(
        r"^ubuntu_24_04_x64_20G_alibase_.*\.vhd$",
        description="Regex for the public system image; the newest match is used.",
    )
    system_disk_size: int = Field(40, ge=20, le=500, description="System disk size in GiB.")
    system_disk_category: DiskCategory = Field("cloud_essd_entry", description="System disk category.")
    data_disk_size: int = Field(
        40, ge=20, le=32768, description="Workspace data disk size in GiB (kept across instance replacement)."
    )
    data_disk_category: DiskCategory = Field("cloud_essd_entry", description="Workspace data disk category.")
    snapshot_retention_days: int = Field(
        7, ge=1, le=65536, description="Days to keep the data disk's daily automatic snapshots."
    )
    vpc_cidr: Cidr = Field("10.42.0.0/16", description="CIDR of the VPC created when `vpc_id` is unset.")
    vswitch_cidr: Cidr = Field("10.42.1.0/24", description="CIDR of the vSwitch created when `vswitch_id` is unset.")
    web_cidrs: list[Cidr] = Field(
        default_factory=lambda: ["0.0.0.0/0"],
        description="Who may reach HTTPS (443) and HTTP (80, ACME and redirect).",
    )
    ssh_cidrs: list[Cidr] = Field(
        default_factory=list, description="Who may reach SSH (22). Empty: port 22 is closed."
    )
    key_pair_name: str | None = Field(None, description="Existing ECS key pair for SSH.")
    ssh_public_key: str | None = Field(None, description="Public key to register as a new key pair for SSH.")
    vpc_id: str | None = Field(None, description="Reuse this VPC instead of creating one (needs `vswitch_id`).")
    vswitch_id: str | None = Field(None, description="Reuse this vSwitch (in `vpc_id`); its zone is used.")
    eip_allocation_id: str | None = Field(None, description="Reuse this EIP instead of allocating one.")
    eip_bandwidth_mbps: int = Field(100, ge=1, le=500, description="Peak EIP bandwidth (pay by traffic).")
    tags: dict[str, str] = Field(default_factory=dict, description="Extra tags on every resource.")
    model: ModelSettings = Field(default_factory=ModelSettings, description="The model block (see below).")
    use_github_token: bool = Field(
        False, description="Give the agent a GitHub token (variable `github_token` or `github_token_parameter`)."
    )
    github_token_parameter: str | None = Field(
        None, description="Name of an existing OOS secret parameter holding the GitHub token."
    )
    domain: str | None = Field(
        None, description="Domain for the HTTPS certificate. Unset: <ip-with-dashes>.sslip.io of the EIP."
    )
    tls_mode: TlsMode = Field(
        "acme",
        description="acme: Let's Encrypt; internal: Caddy's own CA; tunnel-only: no public 80/443, SSH tunnel.",
    )
    opencode_version: str = Field("1.18.33", description="OpenCode version (image tag) to run.")
    container_memory_mb: int = Field(
        3072, ge=512, le=1048576, description="Memory limit of the OpenCode container, in MiB (leave room for the host)."
    )
    state_dir: str = Field(
        "state", description="Folder for the local Terraform state; relative paths are taken from the project root."
    )
    model_server: ModelServerSettings = Field(
        default_factory=ModelServerSettings, description="Optional private vLLM model server (see below)."
    )
    backend: BackendSettings = Field(default_factory=BackendSettings, description="Where the state lives (see below).")
    state: StateStackSettings = Field(default_factory=StateStackSettings, description="The team state stack (see below).")

    # --- field rules -------------------------------------------------------------------------

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME_RE.fullmatch(value):
            raise ValueError(
                f"{value!r} must be 3-24 characters of a-z, 0-9 and '-', start with a letter "
                "and not end with '-'"
            )
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if value in OVERSEAS_REGIONS:
            return value
        if value in MAINLAND_REGIONS:
            raise ValueError(
                f"{value!r} is in mainland China, where a public web service needs an ICP filing; "
                "choose an overseas region such as ap-southeast-1"
            )
        raise ValueError(f"unknown region {value!r}; known regions: {', '.join(OVERSEAS_REGIONS)}")

    @field_validator("instance_type")
    @classmethod
    def _instance_type(cls, value: str) -> str:
        if not re.fullmatch(r"^ecs\.[a-z0-9-]+\.[a-z0-9-]+$", value):
            raise ValueError(f"{value!r} is not an ECS instance type; it looks like ecs.e-c1m2.large")
        return value

    @field_validator("image_name_regex")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"{value!r} is not a valid regular expression ({exc})") from None
        return value

    @field_validator("ssh_cidrs")
    @classmethod
    def _no_open_ssh(cls, value: list[str]) -> list[str]:
        # Judge the union: 0.0.0.0/1 + 128.0.0.0/1 is the whole internet too.
        for version in (4, 6):
            networks = [ipaddress.ip_network(c) for c in value if ipaddress.ip_network(c).version == version]
            if any(n.prefixlen == 0 for n in ipaddress.collapse_addresses(networks)):  # type: ignore[arg-type]
                listed = ", ".join(str(n) for n in networks)
                raise ValueError(
                    f"{listed} opens SSH to the whole internet; list your own address, e.g. 203.0.113.7/32, "
                    "or leave ssh_cidrs empty and use the web UI"
                )
        return value

    @field_validator("web_cidrs")
    @classmethod
    def _some_web(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("is empty; list who may reach HTTPS, or set tls_mode = tunnel-only")
        return value

    @field_validator("key_pair_name")
    @classmethod
    def _key_pair_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"^[A-Za-z][A-Za-z0-9._:-]{1,127}$", value):
            raise ValueError(f"{value!r} is not a valid key pair name (2-128 chars, starting with a letter)")
        return value

    @field_validator("ssh_public_key")
    @classmethod
    def _public_key(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not re.fullmatch(r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]{20,}( .*)?$", value):
            raise ValueError("is not an OpenSSH public key line (ssh-ed25519 AAAA... or ssh-rsa AAAA...)")
        return value

    @field_validator("vpc_id", "vswitch_id", "eip_allocation_id")
    @classmethod
    def _existing_id(cls, value: str | None, info: Any) -> str | None:
        return _resource_id(info.field_name, value)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: dict[str, str]) -> dict[str, str]:
        reserved = {"workspace", "managed-by"}
        for key, tag_value in value.items():
            if key in reserved:
                raise ValueError(f"tag {key!r} is set by the stack itself; choose another key")
            if key.lower().startswith(("aliyun", "acs:")) or not 1 <= len(key) <= 128:
                raise ValueError(f"tag key {key!r} must be 1-128 chars and not start with aliyun or acs:")
            if len(tag_value) > 128:
                raise ValueError(f"tag {key!r} has a value over 128 chars")
        return value

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().lower().rstrip(".")
        if not _DOMAIN_RE.fullmatch(value):
            raise ValueError(f"{value!r} is not a domain name such as code.example.com")
        return value

    @field_validator("opencode_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not re.fullmatch(r"^\d+\.\d+\.\d+$", value):
            raise ValueError(f"{value!r} is not a release version such as 1.18.33")
        return value

    @field_validator("github_token_parameter")
    @classmethod
    def _github_parameter(cls, value: str | None) -> str | None:
        return _parameter_name(value)

    # --- cross-field rules -------------------------------------------------------------------

    @model_validator(mode="after")
    def _combinations(self) -> "Settings":
        problems: list[tuple[str, str]] = []
        if self.vpc_id and not self.vswitch_id:
            problems.append(("vswitch_id", "is required when vpc_id is set: name a vSwitch in that VPC"))
        if self.vswitch_id and not self.vpc_id:
            problems.append(("vpc_id", "is required when vswitch_id is set: name the vSwitch's VPC"))
        vpc = ipaddress.ip_network(self.vpc_cidr)
        vsw = ipaddress.ip_network(self.vswitch_cidr)
        if not self.vpc_id and (vsw.version != vpc.version or not vsw.subnet_of(vpc)):  # type: ignore[arg-type]
            problems.append(("vswitch_cidr", f"{vsw} must lie inside vpc_cidr {vpc}"))
        if not self.vpc_id and not 8 <= vpc.prefixlen <= 24:
            problems.append(("vpc_cidr", f"{vpc} must have a prefix length from /8 to /24"))
        if not self.vpc_id and not 16 <= vsw.prefixlen <= 29:
            problems.append(("vswitch_cidr", f"{vsw} must have a prefix length from /16 to /29"))
        if self.key_pair_name and self.ssh_public_key:
            problems.append(("ssh_public_key", "conflicts with key_pair_name: give one of the two"))
        if self.ssh_cidrs and not (self.key_pair_name or self.ssh_public_key):
            problems.append(
                ("ssh_cidrs", "opens SSH but no key is given: set key_pair_name or ssh_public_key")
            )
        if self.tls_mode == "tunnel-only" and not self.ssh_cidrs:
            problems.append(("tls_mode", "tunnel-only needs SSH: set ssh_cidrs (and a key) to reach the UI"))
        if self.github_token_parameter and not self.use_github_token:
            problems.append(("use_github_token", "must be true when github_token_parameter is set"))
        problems.extend(self._backend_problems())
        server = self.model_server
        if server.enabled:
            if self.vpc_id and not server.vswitch_id:
                problems.append(("model_server.vswitch_id", "is required when vpc_id is set: name a vSwitch in a GPU zone of that VPC"))
            if server.vswitch_id and not server.private_ip:
                problems.append(("model_server.private_ip", "is required with model_server.vswitch_id: a free address in that vSwitch"))
            if server.private_ip:
                try:
                    ipaddress.IPv4Address(server.private_ip)
                except ValueError:
                    problems.append(("model_server.private_ip", f"{server.private_ip!r} is not an IPv4 address"))
            if not self.vpc_id:
                msw = ipaddress.ip_network(server.vswitch_cidr)
                if msw.version != vpc.version or not msw.subnet_of(vpc):  # type: ignore[arg-type]
                    problems.append(("model_server.vswitch_cidr", f"{msw} must lie inside vpc_cidr {vpc}"))
                elif msw.overlaps(vsw):
                    problems.append(("model_server.vswitch_cidr", f"{msw} overlaps vswitch_cidr {vsw}; pick another range"))
        if problems:
            raise SettingsProblems(problems)
        return self

    def _backend_problems(self) -> list[tuple[str, str]]:
        backend, problems = self.backend, []
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
            region = backend.region or self.region
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

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The same sources as pydantic-settings', where list settings also take `a,b`.
        sources: list[PydanticBaseSettingsSource] = [
            init_settings, CommaListEnvSource(settings_cls), CommaListDotEnvSource(settings_cls)
        ]
        toml_path = os.environ.get(CONFIG_FILE_ENV)
        if toml_path:
            _, problems = read_toml(toml_path)
            if problems:
                raise SettingsError(problems)
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)

    # --- derived values ----------------------------------------------------------------------

    @property
    def ssh_open(self) -> bool:
        return bool(self.ssh_cidrs)

    @property
    def web_public(self) -> bool:
        return self.tls_mode != "tunnel-only"

    def resource_tags(self) -> dict[str, str]:
        return {**self.tags, "workspace": self.name, "managed-by": "opencode-alicloud"}


class SettingsProblems(ValueError):
    """Raised inside a model validator: several (field, message) problems at once."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{field} {message}" for field, message in problems))


class SettingsError(Exception):
    """Bad settings: one (field, message) line per bad field."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        lines = [f"Invalid settings ({len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}):"]
        for field, message in self.problems:
            lines.append(f"  - {field}: {message}")
        lines.append(
            f"Set them as {ENV_PREFIX}<FIELD> (nested: {ENV_PREFIX}MODEL__PROVIDER), in .env, "
            f"or in the TOML file named by {CONFIG_FILE_ENV}."
        )
        return "\n".join(lines)


def _field_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path


def _with_source(field: str, message: str) -> tuple[str, str]:
    source = source_of(field)
    return field, f"{message} (from {source})" if source else message


def load_settings(**overrides: Any) -> Settings:
    """Read settings from all sources; raise SettingsError naming every bad field and its source."""
    problems: list[tuple[str, str]] = unknown_variables(Settings)
    try:
        settings = Settings(**overrides)
    except SettingsError as error:  # the TOML file could not be read
        raise SettingsError(problems + error.problems) from None
    except PydanticSettingsError as error:  # a variable's value could not be decoded
        field = re.search(r'field "([^"]+)"', str(error))
        name = field[1] if field else "settings"
        cause = str(error.__cause__ or error).split(": ", 1)[-1]
        problems.append(_with_source(name, cause))
        raise SettingsError(problems) from None
    except ValidationError as exc:
        for error in exc.errors():
            ctx_error = (error.get("ctx") or {}).get("error")
            if isinstance(ctx_error, SettingsProblems):
                problems.extend(_with_source(field, message) for field, message in ctx_error.problems)
                continue
            field = _field_path(tuple(error["loc"])) or "settings"
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "is not a known setting (check the spelling; see the settings table in README.md)"
            if error["type"] == "literal_error":
                message = f"got {error['input']!r}; {message}"
            problems.append(_with_source(field, message))
        raise SettingsError(problems) from None
    if problems:
        raise SettingsError(problems)
    return settings
