"""The workspace concern: what the instance is, where it runs, and what the agent gets."""
from __future__ import annotations

import re

from pydantic import BaseModel, Field, field_validator

from .fields import DiskCategory, ImageFamily, ImageSource, Power, _parameter_name, _resource_id, matching, workspace_name
from .regions import MAINLAND_REGIONS, OVERSEAS_REGIONS


# Alibaba Cloud's public images of each family (names such as debian_13_1_x64_20G_alibase_20251120.vhd).
IMAGE_NAME_REGEX: dict[str, str] = {
    "debian-13": r"^debian_13_\d+_x64_20G_alibase_.*\.vhd$",
    "ubuntu-24.04": r"^ubuntu_24_04_x64_20G_alibase_.*\.vhd$",
}

# The OpenCode versions the project knows: each boots to a working login in the boot rehearsal (tests/boot:
# 1.18.32 from scratch, 1.18.33 baked), oldest first. `doctor` flags any other; `upgrade` goes to the newest.
KNOWN_OPENCODE_VERSIONS: tuple[str, ...] = ("1.18.32", "1.18.33")


class WorkspaceSettings(BaseModel):
    """Name, region, instance, disks, tags, OpenCode version and the agent's GitHub token."""

    name: str = Field(
        "opencode",
        description="Prefix of every resource name and the `workspace` tag. 3-24 chars: a-z, 0-9, '-'; not ending in '-model'.",
    )
    region: str = Field("ap-southeast-1", description="Alibaba Cloud region id, outside mainland China.")
    instance_type: str = Field("ecs.e-c1m2.large", description="ECS instance type (2 vCPU, 4 GiB by default).")
    image_family: ImageFamily = Field(
        "debian-13",
        description="System image family: debian-13 (rehearsed in a VM: docs/development/boot-rehearsal.md) or ubuntu-24.04.",
    )
    image_name_regex: str | None = Field(
        None,
        description="Regex for the public system image (newest match); unset: the family's Alibaba Cloud image.",
    )
    image_source: ImageSource = Field(
        "public",
        description="public: the family's public image, and each instance's first boot runs the bake recipe (the "
        "packages, the workspace image) before it configures; baked: this project's image, made once per recipe "
        "(OpenCode version and family) by ECS Image Builder (`opencode-alicloud image bake`, stack opencode-image), "
        "and the first boot only configures. See docs/guides/baked-image.md.",
    )
    image_id: str | None = Field(
        None, description="With image_source = baked: this custom image (m-...) instead of the newest baked one.",
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
    tags: dict[str, str] = Field(default_factory=dict, description="Extra tags on every resource.")
    use_github_token: bool = Field(
        False, description="Give the agent a GitHub token (variable `github_token` or `github_token_parameter`)."
    )
    github_token_parameter: str | None = Field(
        None, description="Name of an existing OOS secret parameter holding the GitHub token."
    )
    opencode_version: str = Field(KNOWN_OPENCODE_VERSIONS[-1], description="OpenCode version (image tag) to run.")
    spot: bool = Field(
        False,
        description="Run the workspace as a spot instance (SpotAsPriceGo: never above the pay-as-you-go price; "
        "it can be reclaimed after its first hour, with about 5 minutes' notice). The data disk and EIP stay.",
    )
    power: Power = Field(
        "running",
        description="running, or stopped in economical mode (StopCharging: compute is not billed; disks, snapshots "
        "and the EIP are). `opencode-alicloud stop`/`start` set it.",
    )
    idle_stop_minutes: int | None = Field(
        None, ge=10, le=1440,
        description="Stop the instance (economical mode) after this many minutes with no signed-in request through "
        "the HTTPS proxy and no OpenCode session busy; unset: never (60 is a good value). Needs the proxy.",
    )
    health_gate_minutes: int = Field(
        30, ge=0, le=180,
        description="The deploy waits this long for the bootstrap's verdict on a new instance (a Cloud Assistant "
        "command) and fails when it failed or said nothing; 0: no wait (the deploy ends when the instance exists).",
    )
    container_memory_mb: int = Field(
        3072, ge=512, le=1048576, description="Memory limit of the OpenCode container, in MiB (leave room for the host)."
    )
    state_dir: str = Field(
        "state", description="Folder for the local Terraform state; relative paths are taken from the project root."
    )

    _name = field_validator("name")(workspace_name)

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

    _instance_type = field_validator("instance_type")(matching(
        r"ecs\.[a-z0-9-]+\.[a-z0-9-]+", "{value!r} is not an ECS instance type; it looks like ecs.e-c1m2.large"))

    @property
    def system_image_regex(self) -> str:
        return self.image_name_regex or IMAGE_NAME_REGEX[self.image_family]

    @field_validator("image_id")
    @classmethod
    def _image_id(cls, value: str | None) -> str | None:
        return _resource_id("image_id", value)

    @field_validator("image_name_regex")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"{value!r} is not a valid regular expression ({exc})") from None
        return value

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

    _version = field_validator("opencode_version")(matching(
        r"\d+\.\d+\.\d+", "{value!r} is not a release version such as 1.18.33"))

    @field_validator("github_token_parameter")
    @classmethod
    def _github_parameter(cls, value: str | None) -> str | None:
        return _parameter_name(value)


    def workspace_problems(self) -> list[tuple[str, str]]:
        problems = []
        if self.github_token_parameter and not self.use_github_token:
            problems.append(("use_github_token", "must be true when github_token_parameter is set"))
        if self.image_id and self.image_source != "baked":
            problems.append(("image_id", "is a baked image: set image_source = \"baked\" too, or remove image_id"))
        return problems
