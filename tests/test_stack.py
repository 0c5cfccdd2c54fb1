"""The workspace stack as a whole: the pieces it is made of. Each construct has its own test module."""
from __future__ import annotations

from pathlib import Path


from conftest import synth


def test_default_stack_has_the_architecture(tmp_path: Path) -> None:
    doc = synth(tmp_path)
    counts = {type_name: len(items) for type_name, items in doc["resource"].items()}
    assert counts == {
        "alicloud_vpc": 1,
        "alicloud_vswitch": 1,
        "alicloud_security_group": 1,
        "alicloud_security_group_rule": 2,
        "alicloud_instance": 1,
        "alicloud_ecs_disk": 1,
        "alicloud_ecs_disk_attachment": 1,
        "alicloud_ecs_auto_snapshot_policy": 1,
        "alicloud_ecs_auto_snapshot_policy_attachment": 1,
        "alicloud_eip_address": 1,
        "alicloud_eip_association": 1,
        "alicloud_ecs_ram_role_attachment": 1,  # the role itself is the administrator's (stack opencode-roles)
        "alicloud_oos_secret_parameter": 1,
        "random_password": 1,
        "terraform_data": 1,
        "alicloud_ecs_command": 1,  # the health gate: the deploy waits for the bootstrap's verdict
        "alicloud_ecs_invocation": 1,
    }
    assert doc["terraform"]["required_providers"]["alicloud"] == {"source": "aliyun/alicloud", "version": "1.289.0"}
    assert doc["provider"]["alicloud"] == [{"region": "ap-southeast-1"}]
    (roles,) = doc["data"]["alicloud_ram_roles"].values()  # looked up first: missing, the plan stops
    assert roles["name_regex"] == "^(opencode\\-instance)$"
    ((check,),) = [roles["lifecycle"]["postcondition"]]
    assert check["condition"] == "${length(self.names) == 1}"
    assert check["error_message"].startswith("the RAM roles opencode-instance must exist first: an administrator applies")
