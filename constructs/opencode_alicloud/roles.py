"""Roles: one workspace's RAM roles and what each may do, made by an administrator (stack opencode-roles), never
by the deployer (security review 2, #3: a deployer that writes the roles' policies can give them any right and
use it through an instance it starts). The deployer may only pass these roles to instances (`ram:PassRole`).
  the instance role    (ECS assumes it) reads this workspace's secret parameters; with idle_stop_minutes stops
                       this workspace's instances; with audit.ship_access_log adds objects under its prefix
  the model server's   (model_server.enabled) reads the model server's key
  the schedule's       (schedule.enabled, OOS assumes it) starts and stops this workspace's instances"""
from __future__ import annotations

import json
from dataclasses import dataclass

from constructs import Construct

from imports.alicloud.ram_policy import RamPolicy
from imports.alicloud.ram_role import RamRole
from imports.alicloud.ram_role_policy_attachment import RamRolePolicyAttachment
from opencode_settings import Settings

from .access import Access, AccessProps
from .instance.layout import model_server_role_name, workspace_role_name
from .instance.terraform_text import literal_tags
from .host import instance_role, role_policy
from .schedule import OOS_TRUST_POLICY, schedule_policy, schedule_role_name
from .secrets import read_parameter_names, secret_parameter_name


@dataclass(frozen=True)
class RolesProps:
    name: str
    region: str
    tags: dict[str, str]
    parameter_names: list[str]  # what the instance role reads
    stop_self: bool
    ship_bucket: str | None
    model_server: bool
    schedule: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> RolesProps:
        return cls(
            name=settings.name, region=settings.region, tags=literal_tags(settings.resource_tags()),
            parameter_names=read_parameter_names(settings), stop_self=settings.idle_stop_minutes is not None,
            ship_bucket=settings.audit.bucket if settings.audit.ship_access_log else None,
            model_server=settings.model_server.enabled, schedule=settings.schedule.enabled,
        )

    @property
    def role_names(self) -> list[str]:
        """The roles the workspace stack needs (and looks up before it changes anything)."""
        return ([workspace_role_name(self.name)] + ([model_server_role_name(self.name)] if self.model_server else [])
                + ([schedule_role_name(self.name)] if self.schedule else []))


class Roles(Construct):
    """Exposes `role` and `access`; `model_server_role` and `model_server_access`; `schedule_role`,
    `schedule_policy` and `schedule_attachment` (the last three None when their feature is off)."""

    def __init__(self, scope: Construct, id: str, props: RolesProps) -> None:
        super().__init__(scope, id)
        self.role = instance_role(self, "role", workspace_role_name(props.name),
                                  "OpenCode workspace instance role; reads only this workspace's secret parameters", props.tags)
        self.access = Access(self, "access", AccessProps(
            name=props.name, region=props.region, role_name=self.role.role_name, parameter_names=props.parameter_names,
            tags=props.tags, stop_self=props.stop_self, ship_bucket=props.ship_bucket,
        ))
        self.model_server_role: RamRole | None = None
        self.model_server_access: Access | None = None
        if props.model_server:
            self.model_server_role = instance_role(self, "model-server-role", model_server_role_name(props.name),
                                                   "OpenCode model server role; reads only its API key parameter", props.tags)
            self.model_server_access = Access(self, "model-server-access", AccessProps(
                name=f"{props.name}-model", region=props.region, role_name=self.model_server_role.role_name,
                parameter_names=[secret_parameter_name(props.name, "model_server_api_key")], tags=props.tags,
            ))
        self.schedule_role: RamRole | None = None
        self.schedule_policy: RamPolicy | None = None
        self.schedule_attachment: RamRolePolicyAttachment | None = None
        if props.schedule:
            self.schedule_role = RamRole(
                self, "schedule-role", role_name=schedule_role_name(props.name),
                assume_role_policy_document=json.dumps(OOS_TRUST_POLICY, sort_keys=True),
                description="OOS: start and stop this OpenCode workspace on its schedule", tags=props.tags,
            )
            self.schedule_policy, self.schedule_attachment = role_policy(
                self, ("schedule-policy", "schedule-attach"), self.schedule_role.role_name,
                f"{schedule_role_name(props.name)}-start-stop", "OpenCode workspace schedule: start and stop this workspace only",
                schedule_policy(props.region, props.name), props.tags,
            )
