"""Outputs: how the user reaches the workspace."""
from __future__ import annotations

from dataclasses import dataclass

from cdktf import Fn, TerraformOutput
from constructs import Construct

from opencode_settings import Settings

from .instance.layout import OPENCODE_PORT
from .ssh import SSH_USER, ssh_argv
from .ssh import opencode_host as host_of_opencode

MODEL_SERVER_COST_NOTE = (
    "The GPU instance is billed per second while it runs (pay-as-you-go), plus its disks and public "
    "traffic; stop it in the ECS console when idle (stopped-instance billing mode) or disable "
    "model_server and deploy. Sizes and prices: docs/guides/private-model.md (the docs' Private model server)."
)


@dataclass(frozen=True)
class OutputsProps:
    url: str
    public_ip: str
    username: str
    password: str
    ssh_open: bool
    ssh_user: str = SSH_USER
    model_endpoint: str | None = None
    model_name: str | None = None
    opencode_host: str = "127.0.0.1"  # where the host reaches OpenCode (its agent-network address with egress control)

    @classmethod
    def from_settings(cls, settings: Settings, site: str, public_ip: str, username: str, password: str,
                      model_endpoint: str | None) -> OutputsProps:
        url = (f"http://localhost:{OPENCODE_PORT} (through ssh_tunnel_command)" if settings.tls_mode == "tunnel-only"
               else Fn.join("", ["https://", site]))
        return cls(url=url, public_ip=public_ip, username=username, password=password, ssh_open=settings.ssh_open,
                   model_endpoint=model_endpoint,
                   model_name=settings.model_server.served_model_name if model_endpoint else None,
                   opencode_host=host_of_opencode(settings.egress.mode))


def ssh_commands(public_ip: str, ssh_user: str, opencode_host: str = "127.0.0.1") -> dict[str, str]:
    """The SSH and tunnel commands shown to the user (tokens allowed in `public_ip`)."""
    return {
        "ssh_command": " ".join(ssh_argv(public_ip, opencode_host, user=ssh_user)),
        "ssh_tunnel_command": " ".join(ssh_argv(public_ip, opencode_host, tunnel=True, user=ssh_user))
        + f"  # then open http://localhost:{OPENCODE_PORT}",
    }


class WorkspaceOutputs(Construct):
    """Exposes `outputs` (name -> TerraformOutput). Names are stable: scripts and docs use them."""

    def __init__(self, scope: Construct, id: str, props: OutputsProps) -> None:
        super().__init__(scope, id)
        values: dict[str, tuple[str, str, bool]] = {
            "url": (props.url, "Open this in a browser and log in", False),
            "public_ip": (props.public_ip, "The workspace's public (EIP) address", False),
            "username": (props.username, "Login user name", False),
            "password": (props.password, "Login password: cdktf output --outputs-file ... or terraform output", True),
        }
        if props.ssh_open:
            for name, command in ssh_commands(props.public_ip, props.ssh_user, props.opencode_host).items():
                values[name] = (command, name.replace("_", " "), False)
        if props.model_endpoint:
            values["model_endpoint"] = (props.model_endpoint, "Private vLLM endpoint (reachable only from the workspace)", False)
            values["model_name"] = (props.model_name or "", "Model name OpenCode uses", False)
            values["model_server_cost_note"] = (MODEL_SERVER_COST_NOTE, "What the model server costs", False)
        self.outputs: dict[str, TerraformOutput] = {}
        for name, (value, description, sensitive) in values.items():
            output = TerraformOutput(scope, name, value=value, description=description, sensitive=sensitive)
            output.override_logical_id(name)
            self.outputs[name] = output
