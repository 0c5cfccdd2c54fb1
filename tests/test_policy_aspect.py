"""Policy at synth (policy/aspect.py): each of the project's rules fails the synth on its violation,
with the rule id, the resource and the fix, and writes nothing; a suppression with a reason lets
it pass. The same rules run in checkov (tests/test_policy.py)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from imports.alicloud.security_group_rule import SecurityGroupRule
from opencode_alicloud.policy.aspect import PolicyAspect, synth_checked
from opencode_alicloud.policy.rules import all_rules
from opencode_alicloud.policy.suppressions import Suppression


def _rule(stack: Any, port_range: str, cidr: str, protocol: str = "tcp") -> None:
    SecurityGroupRule(stack.firewall, "bad", type="ingress", ip_protocol=protocol, nic_type="intranet",
                      policy="accept", priority=1, port_range=port_range, cidr_ip=cidr,
                      security_group_id=stack.firewall.security_group.id)


MUTATIONS: dict[str, tuple[str, str, Callable[[Any], None]]] = {
    "ssh-open": ("CKV_OCA_1", "alicloud_security_group_rule.firewall_bad_", lambda s: _rule(s, "22/22", "0.0.0.0/0")),
    "all-ports-open": ("CKV_OCA_1", "alicloud_security_group_rule.firewall_bad_", lambda s: _rule(s, "-1/-1", "::/0", "all")),
    "opencode-port": ("CKV_OCA_2", "alicloud_security_group_rule.firewall_bad_", lambda s: _rule(s, "4000/5000", "198.51.100.0/24")),
    "imds-optional": ("CKV_OCA_3", "alicloud_instance.workspace_instance_",
                      lambda s: s.workspace.instance.add_override("http_tokens", "optional")),
    "system-disk-plain": ("CKV_OCA_4", "alicloud_instance.workspace_instance_",
                          lambda s: s.workspace.instance.add_override("system_disk_encrypted", False)),
    "data-disk-plain": ("CKV_OCA_4", "alicloud_ecs_disk.workspace_data_",
                        lambda s: s.workspace.data_disk.add_override("encrypted", False)),
    "api-key-in-user-data": ("CKV_OCA_5", "alicloud_instance.workspace_instance_",
                             lambda s: s.workspace.instance.add_override(
                                 "user_data", "#cloud-config\nANTHROPIC_API_KEY=sk-ant-abcdefghijklmnopqrstuv\n")),
    "password-in-user-data": ("CKV_OCA_5", "alicloud_instance.workspace_instance_",
                              lambda s: s.workspace.instance.add_override(
                                  "user_data", "#cloud-config\n# ${random_password.login_password_93B23B06.result}\n")),
}


def _stack(tmp_path: Path, mutate: Callable[[Any], None] | None = None) -> tuple[Any, Any]:
    from cdktf import App

    from opencode_alicloud.stack import WorkspaceStack
    from opencode_settings import load_settings

    app = App(outdir=str(tmp_path / "out"))
    stack = WorkspaceStack(app, "opencode", load_settings(), state_dir=str(tmp_path / "state"))
    if mutate:
        mutate(stack)
    return app, stack


def test_the_stack_as_built_passes_every_rule(tmp_path: Path) -> None:
    app, _ = _stack(tmp_path)
    assert synth_checked(app) == []
    assert (tmp_path / "out" / "stacks" / "opencode" / "cdk.tf.json").is_file()


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_a_violation_fails_the_synth_with_id_resource_and_fix(case: str, tmp_path: Path) -> None:
    rule_id, resource, mutate = MUTATIONS[case]
    app, _ = _stack(tmp_path, mutate)
    problems = synth_checked(app)
    rule = next(r for r in all_rules() if r.id == rule_id)
    assert any(f"] {rule_id} {resource}" in p and f"Fix: {rule.fix}" in p for p in problems), problems
    assert not (tmp_path / "out" / "stacks" / "opencode" / "cdk.tf.json").exists()


def test_a_suppression_with_a_reason_lets_the_synth_pass(tmp_path: Path) -> None:
    app, stack = _stack(tmp_path, MUTATIONS["ssh-open"][2])
    from cdktf import Aspects

    # The stack's own aspect reads config/policy-suppressions.toml; this one has the entry.
    for aspect in list(Aspects.of(stack).all):
        if isinstance(aspect, PolicyAspect):
            aspect.suppressions = [Suppression("CKV_OCA_1", "break-glass SSH approved in TICKET-1", "resource.firewall_bad_*")]
    assert synth_checked(app) == []


def test_a_suppression_without_a_reason_fails_the_synth_cleanly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from opencode_alicloud.policy import aspect

    config = tmp_path / "suppressions.toml"
    config.write_text('[[suppress]]\nid = "CKV_OCA_1"\n')
    monkeypatch.setattr(aspect, "SUPPRESSIONS_FILE", config)
    app, _ = _stack(tmp_path)  # no exception while the stack is built
    assert synth_checked(app) == [f"[opencode] {config}: suppress[0] (CKV_OCA_1) needs a written reason"]
    assert not (tmp_path / "out" / "stacks" / "opencode" / "cdk.tf.json").exists()


def test_every_rule_has_its_own_file_with_a_reason_and_a_fix() -> None:
    rules_dir = Path(__file__).resolve().parents[1] / "constructs" / "opencode_alicloud" / "policy" / "rules"
    for rule in all_rules():
        assert rule.reason and rule.fix and rule.resource_types
        (module,) = [p for p in rules_dir.glob("oca_*.py") if f'id="{rule.id}"' in p.read_text()]
        assert module.name.startswith(rule.id.lower().replace("ckv_", "") + "_")
