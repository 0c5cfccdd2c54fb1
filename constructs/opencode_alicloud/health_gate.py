"""Health gate: `cdktf deploy` (and `terraform apply`) ends only when the workspace's bootstrap said ready on the new
instance, and fails when it failed or said nothing within the bound. A Cloud Assistant command waits on the
instance for the bootstrap's verdict (instance/opencode-health-gate.sh.j2), and its invocation, which provider
1.289.0 creates synchronously (resource_alicloud_ecs_invocation.go: it polls DescribeInvocations until Success,
and fails on Failed, PartialFailed or Stopped), holds the apply until then. The way Alibaba's Compute Nest
templates wait for a boot.

What the apply then says on a failure is the provider's "Last status: Failed", never the script's output: the
serial console (`opencode-alicloud logs`) says why. A new instance is a new invocation (instance_id is ForceNew);
a failed one is tainted and runs again on the next apply."""
from __future__ import annotations

import base64
from dataclasses import dataclass

from cdktf import ITerraformDependable
from constructs import Construct

from imports.alicloud.ecs_command import EcsCommand
from imports.alicloud.ecs_invocation import EcsInvocation, EcsInvocationTimeouts
from opencode_settings import Settings

from .instance import render

POLL_SECONDS = 5
SLACK_MINUTES = 5  # the invocation's create timeout over the command's: delivery to the agent, the provider's polls


def gate_script() -> str:
    return render("opencode-health-gate.sh.j2", poll_seconds=POLL_SECONDS)


@dataclass(frozen=True)
class HealthGateProps:
    name: str
    minutes: int  # how long the bootstrap may take before the apply fails
    instance_id: str
    after: list[ITerraformDependable]  # what the bootstrap needs first: the data disk, the EIP, the role

    @classmethod
    def from_settings(cls, settings: Settings, instance_id: str, after: list[ITerraformDependable]) -> HealthGateProps:
        return cls(name=settings.name, minutes=settings.health_gate_minutes, instance_id=instance_id, after=after)


class HealthGate(Construct):
    """Exposes `command` and `invocation`."""

    def __init__(self, scope: Construct, id: str, props: HealthGateProps) -> None:
        super().__init__(scope, id)
        self.command = EcsCommand(
            self, "command",
            name=f"{props.name}-health-gate",
            description="opencode-alicloud: wait for the workspace bootstrap's verdict on this boot",
            type="RunShellScript",
            command_content=base64.b64encode(gate_script().encode()).decode(),
            timeout=props.minutes * 60,
        )
        self.invocation = EcsInvocation(
            self, "invocation",
            command_id=self.command.id,
            instance_id=[props.instance_id],
            depends_on=props.after,
            timeouts=EcsInvocationTimeouts(create=f"{props.minutes + SLACK_MINUTES}m", delete="5m"),
        )
