"""The workspace stack: settings in, the README's diagram out. Each construct's props come from
the settings through a `from_settings` beside the construct."""
from __future__ import annotations

from pathlib import Path

from cdktf import TerraformStack
from cdktf_cdktf_provider_random.password import Password
from cdktf_cdktf_provider_random.provider import RandomProvider
from constructs import Construct

from imports.alicloud.provider import AlicloudProvider
from opencode_settings import Settings

from .backend import state_backend
from .instance.inputs import BootstrapFacts, BootstrapSettings, ModelServerBootstrap, ModelServerFacts
from .instance.layout import MODEL_SERVER_KEY_ENV, VLLM_KEY_ENV
from .instance.terraform_text import literal_tags
from .instance.user_data import render_model_server_user_data, render_user_data
from .firewall import Firewall, FirewallProps
from .health_gate import HealthGate, HealthGateProps
from .host import required_roles
from .login import Login, LoginProps
from .model_server import ModelServer, ModelServerProps
from .policy.aspect import add_policy
from .roles import RolesProps
from .schedule import Schedule, ScheduleProps
from .network import Network, NetworkProps
from .outputs import OutputsProps, WorkspaceOutputs
from .secrets import Secrets, SecretsProps, secret_specs
from .workspace import HostFacts, Workspace, WorkspaceProps, site_host


class WorkspaceStack(TerraformStack):
    """Roles (looked up) -> Network -> Firewall -> Login + Secrets -> Workspace -> (Health gate) -> (Schedule)
    -> (Model server) -> Outputs."""

    def __init__(self, scope: Construct, id: str, settings: Settings, state_dir: str) -> None:
        super().__init__(scope, id)
        self.settings = settings
        self.tags = tags = literal_tags(settings.resource_tags())
        self.backend = state_backend(self, settings, id, Path(state_dir))
        add_policy(self)  # the project's rules judge every resource at synth
        AlicloudProvider(self, "alicloud", region=settings.region)
        RandomProvider(self, "random")

        # The roles come from the administrator's stack opencode-roles: checked before anything changes.
        self.roles = required_roles(self, "roles", RolesProps.from_settings(settings).role_names)
        self.network = Network(self, "network", NetworkProps.from_settings(settings, tags))
        self.firewall = Firewall(self, "firewall", FirewallProps.from_settings(settings, tags, self.network.vpc_id))
        self.login = Login(self, "login", LoginProps())
        self.model_server_key = (
            Password(self, "model-server-key", length=48, special=False) if settings.model_server.enabled else None
        )
        specs = secret_specs(settings, self.login.password_value, self.model_server_key.result if self.model_server_key else None)
        self.secrets = Secrets(self, "secrets", SecretsProps(name=settings.name, tags=tags, specs=specs))
        self.workspace = Workspace(self, "workspace", WorkspaceProps.from_settings(
            settings, tags, self.network.zone_id, self.network.vswitch_id, self.firewall.security_group.id, self._user_data,
        ))
        # The deploy ends when the bootstrap said ready on a running instance (not while it is kept stopped).
        self.health_gate = HealthGate(self, "health-gate", HealthGateProps.from_settings(
            settings, self.workspace.instance.id, self.workspace.ready_for_bootstrap,
        )) if settings.health_gate_minutes and settings.power == "running" else None
        self.schedule = Schedule(self, "schedule", ScheduleProps.from_settings(
            settings, tags, self.workspace.instance.id,
        )) if settings.schedule.enabled else None
        self.model_server = self._model_server() if settings.model_server.enabled else None
        self.outputs = WorkspaceOutputs(self, "outputs", OutputsProps.from_settings(
            settings, site_host(settings, self.workspace.public_ip), self.workspace.public_ip, self.login.username,
            self.login.password_value, self.model_server.endpoint if self.model_server else None,
        ))

    def _user_data(self, host: HostFacts) -> str:
        facts = BootstrapFacts(
            data_disk_id=host.data_disk_id,
            password_hash=self.login.bcrypt_hash,
            site_host=site_host(self.settings, host.public_ip),
            secret_parameters=self.secrets.parameter_names,
        )
        return render_user_data(BootstrapSettings.from_settings(self.settings), facts)

    def _model_server(self) -> ModelServer:
        key_parameter = self.secrets.parameter_names[MODEL_SERVER_KEY_ENV]
        boot = ModelServerBootstrap.from_settings(self.settings)
        model_server = ModelServer(self, "model-server", ModelServerProps.from_settings(
            self.settings, self.tags, self.network.vpc_id, self.firewall.security_group.id,
            lambda disk_id: render_model_server_user_data(
                boot, ModelServerFacts(data_disk_id=disk_id, secret_parameters={VLLM_KEY_ENV: key_parameter})
            ),
        ))
        return model_server
