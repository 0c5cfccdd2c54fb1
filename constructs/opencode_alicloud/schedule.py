"""Schedule: OOS scheduled executions start the workspace at the working day's start (the public
template ACS-ECS-ScheduleToStartInstances) and stop it in economical mode at its end (a template of
ours: the public stop template cannot set StopCharging), through a role OOS assumes that may start and
stop this workspace's instances only (made by the administrator's stack opencode-roles). Each execution waits for its cron in its time zone, for as long as it exists."""
from __future__ import annotations

import json
from dataclasses import dataclass

from constructs import Construct

from imports.alicloud.oos_execution import OosExecution
from imports.alicloud.oos_template import OosTemplate
from opencode_settings import Settings

from .access import this_workspaces_instances

START_TEMPLATE = "ACS-ECS-ScheduleToStartInstances"  # public, kept by Alibaba Cloud (aliyun/oos-templates)
END_DATE = "2099-12-01T00:00:00Z"  # the timer trigger's required end, as the public start-and-stop template has it
OOS_TRUST_POLICY = {
    "Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": ["oos.aliyuncs.com"]}}],
    "Version": "1",
}


def schedule_role_name(name: str) -> str:
    return f"{name}-schedule"


def schedule_policy(region: str, workspace: str) -> dict:
    """Start and stop on this workspace's instances only (by their tags: the role is made before them, in the
    administrator's stack opencode-roles); OOS reads instances to select the target and to wait for its state
    (DescribeInstances has no resource-level control: read-only, on "*")."""
    return {
        "Version": "1",
        "Statement": [
            {"Effect": "Allow", "Action": ["ecs:StartInstance", "ecs:StopInstance"], **this_workspaces_instances(region, workspace)},
            {"Effect": "Allow", "Action": ["ecs:DescribeInstances"], "Resource": ["*"]},
        ],
    }


def stop_template() -> dict:
    """The public ACS-ECS-ScheduleToStopInstances, on one instance, with stoppedMode StopCharging (as the
    public ACS-ECS-ScheduleToStartAndStopInstances passes it to the same ACS::ECS::StopInstance action)."""
    text = {"Type": "String"}
    return {
        "FormatVersion": "OOS-2019-06-01",
        "Description": "opencode-alicloud: stop the workspace instance in economical mode on a schedule",
        "Parameters": {"regionId": text, "instanceId": text, "cron": text, "endDate": text,
                       "timeZone": {"Type": "String", "Default": "UTC"}, "OOSAssumeRole": text},
        "RamRole": "{{ OOSAssumeRole }}",
        "Tasks": [
            {"Name": "timerTrigger", "Action": "ACS::TimerTrigger",
             "Properties": {"Type": "cron", "Expression": "{{ cron }}", "EndDate": "{{ endDate }}",
                            "TimeZone": "{{ timeZone }}"}},
            {"Name": "stopInstance", "Action": "ACS::ECS::StopInstance",
             "Properties": {"regionId": "{{ regionId }}", "instanceId": "{{ instanceId }}",
                            "stoppedMode": "StopCharging"}},
        ],
    }


@dataclass(frozen=True)
class ScheduleProps:
    name: str
    region: str
    tags: dict[str, str]
    instance_id: str  # a token: the executions name the instance
    start_cron: str
    stop_cron: str
    time_zone: str

    @classmethod
    def from_settings(cls, settings: Settings, tags: dict[str, str], instance_id: str) -> ScheduleProps:
        schedule = settings.schedule
        return cls(name=settings.name, region=settings.region, tags=tags, instance_id=instance_id,
                   start_cron=schedule.cron(schedule.start), stop_cron=schedule.cron(schedule.stop),
                   time_zone=schedule.time_zone)


class Schedule(Construct):
    """Exposes `role_name` (the role OOS assumes, made by the administrator's stack opencode-roles), `stop_template`,
    `start` and `stop` (the two executions)."""

    def __init__(self, scope: Construct, id: str, props: ScheduleProps) -> None:
        super().__init__(scope, id)
        self.role_name = schedule_role_name(props.name)
        self.stop_template = OosTemplate(
            self, "stop-template", template_name=f"{props.name}-schedule-stop",
            content=json.dumps(stop_template(), sort_keys=True), tags=props.tags,
        )
        common = {"regionId": props.region, "endDate": END_DATE, "timeZone": props.time_zone,
                  "OOSAssumeRole": self.role_name}
        targets = {"Type": "ResourceIds", "ResourceIds": [props.instance_id], "RegionId": props.region}
        self.start = OosExecution(
            self, "start", template_name=START_TEMPLATE, description=f"{props.name}: start on schedule",
            parameters=json.dumps({**common, "cron": props.start_cron, "targets": targets}, sort_keys=True),
            tags=props.tags,
        )
        self.stop = OosExecution(
            self, "stop", template_name=self.stop_template.template_name, description=f"{props.name}: stop on schedule",
            parameters=json.dumps({**common, "cron": props.stop_cron, "instanceId": props.instance_id}, sort_keys=True),
            tags=props.tags,
        )
