"""What the instance's files are rendered from: the settings' static part (what the user chose) and the
Terraform-time facts (tokens: where things are). Built from the settings by the stacks."""
from __future__ import annotations

from dataclasses import dataclass, field

from opencode_settings import Settings
from opencode_settings.egress import allowed_names

from .layout import MODEL_SERVER_PORT


@dataclass(frozen=True)
class BootstrapSettings:
    """The static part: what the user chose."""

    name: str
    region: str
    tls_mode: str
    opencode_version: str
    model_provider: str
    model: str
    model_base_url: str | None = None
    domain: str | None = None
    use_github_token: bool = False
    image_family: str = "debian-13"
    image_source: str = "public"  # public: this boot runs the bake recipe first; baked: the image has run it
    container_memory: str = "3g"
    model_server_url: str | None = None  # http://<private ip>:8000/v1 when the private model server is on
    model_server_model: str | None = None  # its served model name
    idle_stop_minutes: int | None = None  # the idle check's threshold; None: no idle check
    access_log_days: int = 30  # how long Caddy keeps its rolled access logs
    egress_mode: str = "open"  # open | allowlist | none (egress.mode)
    egress_allow: tuple[str, ...] = ()  # the proxy's allowlist (allowlist mode)
    workspace_image: str | None = None  # egress none: the image at the registry's VPC endpoint
    ship_bucket: str | None = None  # audit.ship_access_log: the audit bucket the access log is copied to

    @classmethod
    def from_settings(cls, settings: Settings) -> BootstrapSettings:
        server = settings.model_server
        return cls(
            name=settings.name,
            region=settings.region,
            tls_mode=settings.tls_mode,
            opencode_version=settings.opencode_version,
            model_provider=settings.model.provider,
            model=settings.model.model,
            model_base_url=settings.model.base_url,
            domain=settings.domain,
            use_github_token=settings.use_github_token,
            image_family=settings.image_family,
            image_source=settings.image_source,
            container_memory=f"{settings.container_memory_mb}m",
            model_server_url=f"http://{server.address()}:{MODEL_SERVER_PORT}/v1" if server.enabled else None,
            model_server_model=server.served_model_name if server.enabled else None,
            idle_stop_minutes=settings.idle_stop_minutes,
            access_log_days=settings.audit.access_log_days,
            egress_mode=settings.egress.mode,
            egress_allow=tuple(allowed_names(settings)),
            workspace_image=settings.egress.workspace_image,
            ship_bucket=settings.audit.bucket if settings.audit.ship_access_log else None,
        )


@dataclass(frozen=True)
class ModelServerBootstrap:
    """The static part of the model server's bootstrap."""

    name: str
    region: str
    model: str
    served_model_name: str
    max_model_len: int
    vllm_image: str
    use_modelscope: bool
    vpc_endpoints: bool = False  # egress allowlist/none: the cloud APIs through their VPC endpoints

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelServerBootstrap:
        server = settings.model_server
        return cls(name=settings.name, region=settings.region, model=server.model,
                   served_model_name=server.served_model_name, max_model_len=server.max_model_len,
                   vllm_image=server.vllm_image, use_modelscope=server.use_modelscope,
                   # the same whether its downloads are open or closed: closing them changes no user-data
                   vpc_endpoints=settings.egress.mode != "open")


@dataclass(frozen=True)
class ModelServerFacts:
    data_disk_id: str
    secret_parameters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BootstrapFacts:
    """The Terraform-time part (tokens): where things are."""

    data_disk_id: str
    password_hash: str  # bcrypt ($2a$...), as Caddy 2.6 basicauth and `caddy hash-password` use it
    site_host: str  # the domain, or <ip-with-dashes>.sslip.io
    secret_parameters: dict[str, str] = field(default_factory=dict)  # env name -> OOS parameter name
