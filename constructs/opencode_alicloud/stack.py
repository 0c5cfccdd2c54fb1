"""The workspace stack: settings in, the whole architecture out."""
from __future__ import annotations

from pathlib import Path

from cdktf import Fn, TerraformStack
from cdktf_cdktf_provider_random.password import Password
from cdktf_cdktf_provider_random.provider import RandomProvider
from constructs import Construct

from imports.alicloud.provider import AlicloudProvider
from opencode_settings import Settings

from .access import Access, AccessProps
from .backend import state_backend
from .bootstrap import (
    GITHUB_TOKEN_ENV,
    MODEL_SERVER_KEY_ENV,
    MODEL_SERVER_PORT,
    OPENCODE_PORT,
    VLLM_KEY_ENV,
    escape_for_terraform,
    ModelServerBootstrap,
    ModelServerFacts,
    render_model_server_user_data,
    PASSWORD_ENV,
    PROVIDER_KEY_ENV,
    BootstrapFacts,
    BootstrapSettings,
    render_user_data,
)
from .firewall import Firewall, FirewallProps
from .login import Login, LoginProps
from .model_server import ModelServer, ModelServerProps
from .network import Network, NetworkProps
from .outputs import OutputsProps, WorkspaceOutputs
from .secrets import SecretSpec, Secrets, SecretsProps
from .workspace import HostFacts, Workspace, WorkspaceProps


def model_server_url(settings: Settings) -> str | None:
    if not settings.model_server.enabled:
        return None
    return f"http://{settings.model_server.address()}:{MODEL_SERVER_PORT}/v1"


def bootstrap_settings(settings: Settings) -> BootstrapSettings:
    return BootstrapSettings(
        name=settings.name,
        region=settings.region,
        tls_mode=settings.tls_mode,
        opencode_version=settings.opencode_version,
        model_provider=settings.model.provider,
        model=settings.model.model,
        model_base_url=settings.model.base_url,
        domain=settings.domain,
        use_github_token=settings.use_github_token,
        container_memory=f"{settings.container_memory_mb}m",
        model_server_url=model_server_url(settings),
        model_server_model=settings.model_server.served_model_name if settings.model_server.enabled else None,
    )


def secret_specs(settings: Settings, login: Login, model_server_key: str | None) -> list[SecretSpec]:
    specs = []
    if settings.tls_mode == "tunnel-only":  # OpenCode itself checks the web password; else the proxy does
        specs.append(SecretSpec("web_password", PASSWORD_ENV, "OpenCode web password.", value=login.password_value))
    if model_server_key is not None:  # the private model server replaces the public model API
        specs.append(
            SecretSpec("model_server_api_key", MODEL_SERVER_KEY_ENV, "API key of the private vLLM server.", value=model_server_key)
        )
    else:
        specs.append(
            SecretSpec(
                "model_api_key",
                PROVIDER_KEY_ENV[settings.model.provider],
                f"API key for the {settings.model.provider} model provider.",
                existing_parameter=settings.model.api_key_parameter,
            )
        )
    if settings.use_github_token:
        specs.append(
            SecretSpec(
                "github_token",
                GITHUB_TOKEN_ENV,
                "GitHub token for the agent (gh and git).",
                existing_parameter=settings.github_token_parameter,
            )
        )
    return specs


def site_host(settings: Settings, public_ip: str) -> str:
    """The HTTPS host name: the domain, or <ip-with-dashes>.sslip.io (resolved by Terraform)."""
    return settings.domain or Fn.join("", [Fn.replace(public_ip, ".", "-"), ".sslip.io"])


class WorkspaceStack(TerraformStack):
    """Network -> Firewall -> Workspace (instance, disk, EIP, role) with Login and Secrets -> Outputs."""

    def __init__(self, scope: Construct, id: str, settings: Settings, state_dir: str) -> None:
        super().__init__(scope, id)
        self.settings = settings
        # Free text from settings reaches Terraform as a literal, never as an expression.
        tags = {escape_for_terraform(k): escape_for_terraform(v) for k, v in settings.resource_tags().items()}
        self.backend = state_backend(self, settings, id, Path(state_dir))
        AlicloudProvider(self, "alicloud", region=settings.region)
        RandomProvider(self, "random")

        self.network = Network(
            self,
            "network",
            NetworkProps(
                name=settings.name,
                tags=tags,
                instance_type=settings.instance_type,
                disk_category=settings.system_disk_category,
                vpc_cidr=settings.vpc_cidr,
                vswitch_cidr=settings.vswitch_cidr,
                vpc_id=settings.vpc_id,
                vswitch_id=settings.vswitch_id,
            ),
        )
        self.firewall = Firewall(
            self,
            "firewall",
            FirewallProps(
                name=settings.name,
                tags=tags,
                vpc_id=self.network.vpc_id,
                web_cidrs=settings.web_cidrs,
                ssh_cidrs=settings.ssh_cidrs,
                web_public=settings.web_public,
            ),
        )
        self.login = Login(self, "login", LoginProps())
        self.model_server_key: Password | None = None
        if settings.model_server.enabled:
            self.model_server_key = Password(self, "model-server-key", length=48, special=False)
        self.secrets = Secrets(
            self,
            "secrets",
            SecretsProps(
                name=settings.name,
                tags=tags,
                specs=secret_specs(settings, self.login, self.model_server_key.result if self.model_server_key else None),
            ),
        )
        boot = bootstrap_settings(settings)

        def user_data(host: HostFacts) -> str:
            return render_user_data(
                boot,
                BootstrapFacts(
                    data_disk_id=host.data_disk_id,
                    password_hash=self.login.bcrypt_hash,
                    site_host=site_host(settings, host.public_ip),
                    secret_parameters=self.secrets.parameter_names,
                ),
            )

        self.workspace = Workspace(
            self,
            "workspace",
            WorkspaceProps(
                name=settings.name,
                tags=tags,
                zone_id=self.network.zone_id,
                vswitch_id=self.network.vswitch_id,
                security_group_id=self.firewall.security_group.id,
                instance_type=settings.instance_type,
                image_name_regex=escape_for_terraform(settings.image_name_regex),
                system_disk_size=settings.system_disk_size,
                system_disk_category=settings.system_disk_category,
                data_disk_size=settings.data_disk_size,
                data_disk_category=settings.data_disk_category,
                snapshot_retention_days=settings.snapshot_retention_days,
                eip_bandwidth_mbps=settings.eip_bandwidth_mbps,
                user_data=user_data,
                key_pair_name=settings.key_pair_name,
                ssh_public_key=escape_for_terraform(settings.ssh_public_key) if settings.ssh_public_key else None,
                eip_allocation_id=settings.eip_allocation_id,
            ),
        )
        self.access = Access(
            self,
            "access",
            AccessProps(
                name=settings.name,
                region=settings.region,
                role_name=self.workspace.role.role_name,
                parameter_names=list(self.secrets.parameter_names.values()),
                tags=tags,
            ),
        )
        self.model_server: ModelServer | None = None
        if settings.model_server.enabled:
            self.model_server = self._model_server(settings, tags)
        public_ip = self.workspace.public_ip
        url = (
            f"http://localhost:{OPENCODE_PORT} (through ssh_tunnel_command)"
            if settings.tls_mode == "tunnel-only"
            else Fn.join("", ["https://", site_host(settings, public_ip)])
        )
        self.outputs = WorkspaceOutputs(
            self,
            "outputs",
            OutputsProps(
                url=url,
                public_ip=public_ip,
                username=self.login.username,
                password=self.login.password_value,
                ssh_open=settings.ssh_open,
                model_endpoint=self.model_server.endpoint if self.model_server else None,
                model_name=settings.model_server.served_model_name if self.model_server else None,
            ),
        )

    def _model_server(self, settings: Settings, tags: dict[str, str]) -> ModelServer:
        server = settings.model_server
        key_parameter = self.secrets.parameter_names[MODEL_SERVER_KEY_ENV]
        boot = ModelServerBootstrap(
            name=settings.name,
            region=settings.region,
            model=server.model,
            served_model_name=server.served_model_name,
            max_model_len=server.max_model_len,
            vllm_image=server.vllm_image,
            use_modelscope=server.use_modelscope,
        )
        model_server = ModelServer(
            self,
            "model-server",
            ModelServerProps(
                name=settings.name,
                tags=tags,
                vpc_id=self.network.vpc_id,
                workspace_security_group_id=self.firewall.security_group.id,
                instance_type=server.instance_type,
                image_name_regex=escape_for_terraform(settings.image_name_regex),
                private_ip=server.address(),
                port=MODEL_SERVER_PORT,
                weights_disk_size=server.weights_disk_size,
                vswitch_cidr=None if server.vswitch_id else server.vswitch_cidr,
                vswitch_id=server.vswitch_id,
                user_data=lambda disk_id: render_model_server_user_data(
                    boot, ModelServerFacts(data_disk_id=disk_id, secret_parameters={VLLM_KEY_ENV: key_parameter})
                ),
            ),
        )
        Access(
            self,
            "model-server-access",
            AccessProps(
                name=f"{settings.name}-model",
                region=settings.region,
                role_name=model_server.role.role_name,
                parameter_names=[key_parameter],
                tags=tags,
            ),
        )
        return model_server
