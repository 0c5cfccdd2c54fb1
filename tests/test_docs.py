"""Docs that must match the code."""
from __future__ import annotations

import json
import os
import re
import subprocess

from conftest import ROOT, VARIANTS, synth
from opencode_settings.docs import END, START, settings_table

README = (ROOT / "README.md").read_text()


def test_readme_settings_table_is_generated_from_the_model() -> None:
    current = README[README.index(START) : README.index(END) + len(END)]
    assert current == settings_table(), "run scripts/settings-table --write"


def test_readme_starts_with_the_two_commands() -> None:
    first_block = re.search(r"```bash\n(.*?)```", README, re.S).group(1).splitlines()
    assert [line.split("#")[0].strip() for line in first_block] == [
        "./scripts/setup && .venv/bin/python main.py",
        "./scripts/test",
    ]
    assert (ROOT / ".ci" / "run").read_text().count("./scripts/test") == 1


def test_readme_policy_table_lists_every_rule() -> None:
    from opencode_alicloud.policy.runner import OUR_CHECK_IDS

    for check_id in OUR_CHECK_IDS:
        assert f"| {check_id} |" in README


def test_deployer_policy_covers_every_service_the_stack_uses(tmp_path) -> None:
    policy = json.loads((ROOT / "config" / "deployer-ram-policy.json").read_text())
    actions = {action for statement in policy["Statement"] for action in statement["Action"]}
    services = {action.split(":")[0] for action in actions}
    document = synth(tmp_path, **VARIANTS["all-options"])
    needed = {
        "alicloud_vpc": "vpc", "alicloud_vswitch": "vpc", "alicloud_eip_address": "vpc", "alicloud_eip_association": "vpc",
        "alicloud_security_group": "ecs", "alicloud_security_group_rule": "ecs", "alicloud_instance": "ecs",
        "alicloud_ecs_disk": "ecs", "alicloud_ecs_disk_attachment": "ecs", "alicloud_ecs_key_pair": "ecs",
        "alicloud_ecs_auto_snapshot_policy": "ecs", "alicloud_ecs_auto_snapshot_policy_attachment": "ecs",
        "alicloud_ram_role": "ram", "alicloud_ram_policy": "ram", "alicloud_ram_role_policy_attachment": "ram",
        "alicloud_ecs_ram_role_attachment": "ecs",
        "alicloud_oos_secret_parameter": "oos", "random_password": None, "terraform_data": None,
    }
    for type_name in document["resource"]:
        assert type_name in needed, f"{type_name}: add its actions to config/deployer-ram-policy.json"
        assert needed[type_name] is None or needed[type_name] in services
    assert "ram:PassRole" in actions and "ecs:ModifyInstanceMetadataOptions" in actions
    ram_statement = next(s for s in policy["Statement"] if any(a.startswith("ram:Create") for a in s["Action"]))
    assert ram_statement["Resource"] != "*"


def test_bench_runs_without_the_test_tools() -> None:
    """scripts/bench works after the README's first command alone (no --dev packages)."""
    blocked = "import sys, runpy\nfor m in ('pytest', 'yaml', 'tf', 'hypothesis', 'checkov'): sys.modules[m] = None\n" \
              "sys.argv = ['scripts/bench.py']\nrunpy.run_path('scripts/bench.py', run_name='__main__')\n"
    env = {**os.environ, "BENCH_RUNS": "1"}
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", blocked], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "dependency graph depth:" in result.stdout and "user-data (default):" in result.stdout
