"""Policy: checkov's judgement plus our CKV_OCA_* rules, on every synthesized variant,
and proof that each rule catches what it is for."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from conftest import ROOT, VARIANTS, synth
from opencode_alicloud.policy.runner import (
    OUR_CHECK_IDS,
    PolicyConfigError,
    Suppression,
    load_suppressions,
    run_policy,
)


def _write(tmp_path: Path, document: dict) -> Path:
    stack = tmp_path / "stack"
    stack.mkdir(parents=True, exist_ok=True)
    (stack / "cdk.tf.json").write_text(json.dumps(document, indent=2))
    return stack


@pytest.fixture(scope="module")
def default_doc(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return synth(tmp_path_factory.mktemp("default"))


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_variant_passes_with_zero_failures(variant: str, tmp_path: Path) -> None:
    synth(tmp_path, **VARIANTS[variant])
    report = run_policy(tmp_path / "cdktf.out" / "stacks" / "opencode", load_suppressions(ROOT / "config" / "policy-suppressions.toml"))
    assert report.failed == [], report.render()
    assert set(OUR_CHECK_IDS) - {"CKV_OCA_6"} <= report.evaluated()  # CKV_OCA_6 judges the audit stack (below)
    assert report.suppressed == []


def test_the_audit_stack_passes_and_its_retention_rule_runs(tmp_path: Path) -> None:
    from test_audit import synth_audit

    document = synth_audit(tmp_path, sls=True)
    report = run_policy(_write(tmp_path / "audit", document), load_suppressions(ROOT / "config" / "policy-suppressions.toml"))
    assert report.failed == [], report.render()
    # What checkov asks of a bucket that the audit bucket answers otherwise, each with its reason in the file.
    assert sorted(f.check_id for f, _ in report.suppressed) == ["CKV_ALI_10", "CKV_ALI_11", "CKV_ALI_12", "CKV_ALI_6"]
    assert "CKV_OCA_6" in report.evaluated()
    short = copy.deepcopy(document)
    short["resource"]["alicloud_log_store"]["log-store"]["retention_period"] = 30
    failed = run_policy(_write(tmp_path / "short", short), load_suppressions(ROOT / "config" / "policy-suppressions.toml"))
    assert [f.check_id for f in failed.failed] == ["CKV_OCA_6"], failed.render()


def _first(document: dict, type_name: str) -> dict:
    return next(iter(document["resource"][type_name].values()))


def _add_rule(document: dict, port_range: str, cidr: str, protocol: str = "tcp") -> None:
    rules = document["resource"]["alicloud_security_group_rule"]
    rules["bad"] = {**next(iter(rules.values())), "port_range": port_range, "cidr_ip": cidr, "ip_protocol": protocol}


MUTATIONS = {
    "ssh-open": ("CKV_OCA_1", lambda d: _add_rule(d, "22/22", "0.0.0.0/0")),
    "all-ports-open": ("CKV_OCA_1", lambda d: _add_rule(d, "-1/-1", "0.0.0.0/0", "all")),
    "opencode-port": ("CKV_OCA_2", lambda d: _add_rule(d, "4000/5000", "198.51.100.0/24")),
    "imds-optional": ("CKV_OCA_3", lambda d: _first(d, "alicloud_instance").update(http_tokens="optional")),
    "system-disk-plain": ("CKV_OCA_4", lambda d: _first(d, "alicloud_instance").update(system_disk_encrypted=False)),
    "data-disk-plain": ("CKV_OCA_4", lambda d: _first(d, "alicloud_ecs_disk").update(encrypted=False)),
    "api-key-in-user-data": (
        "CKV_OCA_5",
        lambda d: _first(d, "alicloud_instance").update(
            user_data=_first(d, "alicloud_instance")["user_data"] + "\nANTHROPIC_API_KEY=sk-ant-abcdefghijklmnopqrstuv\n"
        ),
    ),
    "variable-in-user-data": (
        "CKV_OCA_5",
        lambda d: _first(d, "alicloud_instance").update(user_data="#cloud-config\n# ${var.model_api_key}\n"),
    ),
    "password-in-user-data": (
        "CKV_OCA_5",
        lambda d: _first(d, "alicloud_instance").update(
            user_data="#cloud-config\n# ${random_password.login_password_X.result}\n"
        ),
    ),
}


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_each_rule_catches_its_violation(case: str, default_doc: dict, tmp_path: Path) -> None:
    check_id, mutate = MUTATIONS[case]
    document = copy.deepcopy(default_doc)
    mutate(document)
    report = run_policy(_write(tmp_path, document))
    assert check_id in {finding.check_id for finding in report.failed}, report.render()


def test_suppression_needs_a_reason(tmp_path: Path) -> None:
    config = tmp_path / "suppressions.toml"
    config.write_text('[[suppress]]\nid = "CKV_OCA_1"\n')
    with pytest.raises(PolicyConfigError, match=r"suppress\[0\] \(CKV_OCA_1\) needs a written reason"):
        load_suppressions(config)


def test_suppression_with_reason_moves_the_finding(default_doc: dict, tmp_path: Path) -> None:
    document = copy.deepcopy(default_doc)
    MUTATIONS["ssh-open"][1](document)
    reason = "break-glass SSH approved in TICKET-1 until 2027-01-01"
    report = run_policy(
        _write(tmp_path, document),
        [Suppression("CKV_OCA_1", reason, "resource.bad")],
    )
    assert [(f.check_id, f.resource, r) for f, r in report.suppressed] == [
        ("CKV_OCA_1", "resource.bad", reason)
    ]
    assert "CKV_OCA_1" not in {f.check_id for f in report.failed}
