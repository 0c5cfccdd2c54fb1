"""The roles stack (opencode-roles): every workspace's RAM roles and their policies (roles.py), applied by an
administrator, like the state and audit stacks, and again when a workspace is added or a feature that needs a
right (idle stop, access-log shipping, the model server, the schedule) is turned on. The workspace stacks only
look the roles up and pass them to their instances; the deployer cannot write a RAM policy."""
from __future__ import annotations

from pathlib import Path

from cdktf import TerraformStack
from constructs import Construct

from imports.alicloud.provider import AlicloudProvider
from opencode_settings import Settings

from .backend import state_backend
from .policy.aspect import add_policy
from .roles import Roles, RolesProps

ROLES_STACK_ID = "opencode-roles"


class RolesStack(TerraformStack):
    """Exposes `roles` (workspace stack id -> Roles)."""

    def __init__(self, scope: Construct, id: str, settings: Settings, workspaces: dict[str, Settings], state_dir: Path) -> None:
        super().__init__(scope, id)
        self.backend = state_backend(self, settings, id, state_dir, folder=id)  # a folder no workspace's policy reaches
        add_policy(self)
        AlicloudProvider(self, "alicloud", region=settings.region)  # RAM is global; the policies name each region
        self.roles = {stack_id: Roles(self, stack_id, RolesProps.from_settings(workspace))
                      for stack_id, workspace in workspaces.items()}
