"""The workspace concern (config/opencode_settings/workspace.py): name, region, instance, disks, tags, version, GitHub token. Each bad value is rejected with a message that names the field and the fix."""
from __future__ import annotations

import pytest

from conftest import assert_rejected

# (overrides, the field the message must name, a fragment of the fix it must suggest)
BAD = [
    ({"instance_type": "e-c1m2.large"}, "instance_type", "ecs.e-c1m2.large"),
    ({"instance_type": "ecs.e-c1m2"}, "instance_type", "not an ECS instance type"),
    ({"region": "mars-1"}, "region", "unknown region"),
    ({"region": "cn-hangzhou"}, "region", "ICP filing"),
    ({"region": "AP-SOUTHEAST-1"}, "region", "unknown region"),
    ({"name": "Open Code"}, "name", "3-24 characters"),
    ({"name": "x"}, "name", "3-24 characters"),
    ({"name": "a" * 30}, "name", "3-24 characters"),
    ({"name": "alice-model"}, "name", "not ending with '-' or '-model'"),
    ({"name": "opencode-roles"}, "name", "the name of an administrator's stack"),
    ({"system_disk_size": 10}, "system_disk_size", "greater than or equal to 20"),
    ({"data_disk_size": 0}, "data_disk_size", "greater than or equal to 20"),
    ({"data_disk_category": "cloud"}, "data_disk_category", "cloud_essd"),
    ({"system_disk_category": "ephemeral_ssd"}, "system_disk_category", "cloud_essd"),
    ({"snapshot_retention_days": 0}, "snapshot_retention_days", "greater than or equal to 1"),
    ({"tags": {"workspace": "x"}}, "tags", "set by the stack itself"),
    ({"tags": {"aliyun:owner": "x"}}, "tags", "not start with aliyun"),
    ({"opencode_version": "latest"}, "opencode_version", "1.18.33"),
    ({"github_token_parameter": "gh-token"}, "use_github_token", "must be true"),
    ({"image_name_regex": "ubuntu_(24"}, "image_name_regex", "not a valid regular expression"),
]


@pytest.mark.parametrize(("overrides", "field", "fix"), BAD, ids=[case[1] + ":" + case[2] for case in BAD])
def test_bad_workspace_settings_name_the_field_and_the_fix(overrides: dict, field: str, fix: str) -> None:
    assert_rejected(overrides, field, fix)
