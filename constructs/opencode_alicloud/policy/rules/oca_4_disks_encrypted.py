"""CKV_OCA_4: system and data disks are encrypted."""
from __future__ import annotations

from typing import Any

from .base import Rule


def violations(resource_type: str, conf: dict[str, Any]) -> list[str]:
    if resource_type != "alicloud_instance":
        return [] if conf.get("encrypted") is True else ["the disk is not encrypted"]
    found = [] if conf.get("system_disk_encrypted") is True else ["the system disk is not encrypted"]
    found += [f"data_disks[{i}] is not encrypted" for i, disk in enumerate(conf.get("data_disks") or [])
              if disk.get("encrypted") is not True]
    return found


RULE = Rule(
    id="CKV_OCA_4",
    title="System and data disks are encrypted",
    reason="The workspace holds source code and credentials; every disk is encrypted at rest.",
    fix="set encrypted = true on the disk (system_disk_encrypted = true on the instance)",
    resource_types=("alicloud_instance", "alicloud_ecs_disk", "alicloud_disk"),
    violations=violations,
)
