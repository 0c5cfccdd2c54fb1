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
    run_policies,
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


@pytest.fixture(scope="module")
def variant_reports(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """checkov once over every variant's stack (its start-up is the cost), a report per variant."""
    base = tmp_path_factory.mktemp("variants")
    folders = {}
    for variant, overrides in VARIANTS.items():
        synth(base / variant, **overrides)
        folders[variant] = base / variant / "cdktf.out" / "stacks" / "opencode"
    return run_policies(folders, load_suppressions(ROOT / "config" / "policy-suppressions.toml"))


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_variant_passes_with_zero_failures(variant: str, variant_reports: dict) -> None:
    report = variant_reports[variant]
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


@pytest.fixture(scope="module")
def mutation_reports(default_doc: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Each mutation in a stack folder of its own, judged by one checkov run."""
    base = tmp_path_factory.mktemp("mutations")
    folders = {}
    for case, (_, mutate) in MUTATIONS.items():
        document = copy.deepcopy(default_doc)
        mutate(document)
        folders[case] = _write(base / case, document)
    return run_policies(folders)


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_each_rule_catches_its_violation(case: str, mutation_reports: dict) -> None:
    report = mutation_reports[case]
    assert MUTATIONS[case][0] in {finding.check_id for finding in report.failed}, report.render()
    # One run judges each stack alone: the rule the port cases add is never reported on another case's stack.
    bad_rule = {f for f in report.failed if f.resource == "resource.bad"}
    assert bool(bad_rule) == (case in {"ssh-open", "all-ports-open", "opencode-port"}), report.render()


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


def test_one_run_over_a_folder_of_stacks_judges_every_stack_in_it(default_doc: dict, tmp_path: Path) -> None:
    """`scripts/policy cdktf.out/stacks`: every stack below the folder is judged, as one report."""
    bad = copy.deepcopy(default_doc)
    MUTATIONS["ssh-open"][1](bad)
    _write(tmp_path / "stacks" / "good", default_doc)
    _write(tmp_path / "stacks" / "bad", bad)
    report = run_policy(tmp_path / "stacks")
    assert "CKV_OCA_1" in {f.check_id for f in report.failed}


def test_a_folder_with_nothing_to_judge_or_overlapping_folders_are_errors(default_doc: dict, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(RuntimeError, match="checkov judged nothing in"):
        run_policy(tmp_path / "empty")
    stack = _write(tmp_path / "one", default_doc)
    with pytest.raises(ValueError, match="policy folders overlap"):
        run_policies({"a": stack, "b": stack})
    with pytest.raises(ValueError, match="policy folders overlap"):
        run_policies({"a": tmp_path / "one", "b": stack})
