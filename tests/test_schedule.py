"""The schedule (issue 15): OOS scheduled executions start the workspace (the public template
ACS-ECS-ScheduleToStartInstances) and stop it in economical mode (a template of ours), through a role
only OOS assumes, which may start and stop exactly this instance. The offline stub checks these resources
against the provider's schema (tests/scenarios/test_rehearsal.py plans all-options); nothing here runs OOS."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import assert_rejected, resources, synth
from support import synth_roles
from opencode_cost.estimate import estimate
from opencode_settings import CostSettings, ScheduleSettings

# The public templates' parameters, as aliyun/oos-templates has them (PublicTemplates/YAML, commit 1d55acd):
# ACS-ECS-ScheduleToStartInstances.yml, and the ACS::ECS::StopInstance properties that
# ACS-ECS-ScheduleToStartAndStopInstances.yml passes (regionId, instanceId, stoppedMode).
START_PARAMETERS = {"regionId", "cron", "endDate", "timeZone", "targets", "rateControl", "OOSAssumeRole"}
START_REQUIRED = {"endDate", "targets"}  # no Default in the template
STOP_ACTION_PROPERTIES = {"regionId", "instanceId", "stoppedMode"}

SCHEDULE = {"enabled": True, "start": "08:30", "stop": "18:30", "weekdays": "MON-FRI", "time_zone": "Europe/Berlin"}


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return synth(tmp_path_factory.mktemp("schedule"), schedule=SCHEDULE)


def test_oos_starts_and_stops_this_instance_on_the_working_days_in_its_time_zone(document: dict) -> None:
    (instance_key,) = document["resource"]["alicloud_instance"]
    instance = f"${{alicloud_instance.{instance_key}.id}}"
    executions = {e["description"]: e for e in resources(document, "alicloud_oos_execution")}
    start, stop = executions["opencode: start on schedule"], executions["opencode: stop on schedule"]
    assert start["template_name"] == "ACS-ECS-ScheduleToStartInstances"
    started = json.loads(start["parameters"])
    assert START_REQUIRED <= set(started) <= START_PARAMETERS
    role = started["OOSAssumeRole"]
    assert role == "opencode-schedule"  # the administrator's role (stack opencode-roles), checked before the plan goes on
    assert "alicloud_ram_role" not in document["resource"] and "alicloud_ram_policy" not in document["resource"]
    assert started == {"regionId": "ap-southeast-1", "cron": "0 30 8 ? * MON-FRI", "timeZone": "Europe/Berlin",
                       "endDate": "2099-12-01T00:00:00Z", "OOSAssumeRole": role,
                       "targets": {"Type": "ResourceIds", "ResourceIds": [instance], "RegionId": "ap-southeast-1"}}
    (template,) = resources(document, "alicloud_oos_template")
    assert template["template_name"] == "opencode-schedule-stop"
    assert stop["template_name"].startswith("${alicloud_oos_template.schedule_stop-template_")
    stopped = json.loads(stop["parameters"])
    content = json.loads(template["content"])
    assert set(stopped) == set(content["Parameters"]) and stopped["instanceId"] == instance
    assert (stopped["cron"], stopped["timeZone"]) == ("0 30 18 ? * MON-FRI", "Europe/Berlin")
    timer, action = content["Tasks"]
    assert timer["Action"] == "ACS::TimerTrigger" and timer["Properties"]["TimeZone"] == "{{ timeZone }}"
    assert action["Action"] == "ACS::ECS::StopInstance" and set(action["Properties"]) == STOP_ACTION_PROPERTIES
    assert action["Properties"]["stoppedMode"] == "StopCharging" and content["RamRole"] == "{{ OOSAssumeRole }}"
    (lookup,) = document["data"]["alicloud_ram_roles"].values()
    assert lookup["name_regex"] == "^(opencode\\-instance|opencode\\-schedule)$"


def test_only_oos_assumes_the_role_and_it_may_start_and_stop_only_this_workspaces_instances(tmp_path: Path) -> None:
    admin = synth_roles(tmp_path, schedule=SCHEDULE)
    roles = {r["role_name"]: json.loads(r["assume_role_policy_document"]) for r in resources(admin, "alicloud_ram_role")}
    assert roles["opencode-schedule"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": ["oos.aliyuncs.com"]}}]
    policies = {p["policy_name"]: json.loads(p["policy_document"]) for p in resources(admin, "alicloud_ram_policy")}
    change, read = policies["opencode-schedule-start-stop"]["Statement"]
    assert change == {"Effect": "Allow", "Action": ["ecs:StartInstance", "ecs:StopInstance"],
                      "Resource": ["acs:ecs:ap-southeast-1:*:instance/*"],
                      "Condition": {"StringEquals": {"acs:ResourceTag/workspace": "opencode",
                                                     "acs:ResourceTag/managed-by": "opencode-alicloud"}}}
    assert read == {"Effect": "Allow", "Action": ["ecs:DescribeInstances"], "Resource": ["*"]}  # read-only


def test_no_schedule_no_oos_resources(tmp_path: Path) -> None:
    plain = synth(tmp_path)
    assert not resources(plain, "alicloud_oos_execution") and not resources(plain, "alicloud_oos_template")


@pytest.mark.parametrize("overrides, field, fix", [
    ({"start": "9:00"}, "schedule.start", "is not a time such as 09:00"),
    ({"stop": "24:00"}, "schedule.stop", "is not a time such as 09:00"),
    ({"weekdays": "weekdays"}, "schedule.weekdays", "MON-FRI, MON,WED,FRI or *"),
    ({"time_zone": "CET+1"}, "schedule.time_zone", "is not an IANA time zone"),
    ({"enabled": True, "start": "10:00", "stop": "10:00"}, "schedule.stop", "must differ from schedule.start"),
])
def test_bad_schedules_name_the_setting(overrides: dict, field: str, fix: str) -> None:
    assert_rejected({"schedule": overrides}, field, fix)


@pytest.mark.parametrize("schedule, hours_a_week", [
    ({"start": "09:00", "stop": "19:00", "weekdays": "MON-FRI"}, 50),
    ({"start": "22:00", "stop": "06:00", "weekdays": "*"}, 56),  # overnight
    ({"start": "08:30", "stop": "12:00", "weekdays": "MON,WED,FRI-SAT"}, 14),
    ({"start": "08:00", "stop": "16:00", "weekdays": "SAT-MON"}, 24),  # wraps the week
])
def test_the_estimate_prices_the_schedule_beside_always_on(document: dict, schedule: dict, hours_a_week: float) -> None:
    settings = ScheduleSettings(enabled=True, **schedule)
    assert settings.hours_per_week() == hours_a_week
    result = estimate({"opencode": document}, CostSettings(), schedule=settings)
    views = result.views()
    hours = hours_a_week * 365 / 7 / 12
    assert views["schedule"]["usd"] == pytest.approx(result.total(hours))
    assert views["stopped"]["usd"] < views["schedule"]["usd"] < views["always_on"]["usd"]
    assert f"{hours:.0f} h a month" in views["schedule"]["what"] and "not enabled" not in views["schedule"]["what"]
    assert "not enabled" in estimate({"opencode": document}, CostSettings()).views()["schedule"]["what"]
    oos = [item for item in result.not_priced if item.resource.startswith(("alicloud_oos_execution.", "alicloud_oos_template."))]
    assert len(oos) == 3 and all("OOS" in item.reason for item in oos)  # named, outside the total
