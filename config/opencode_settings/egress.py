"""The egress concern: where the agent may send data. `open` (as before), `allowlist` (the agent's only
way out is a forward proxy on the host that allows HTTPS to listed names) or `none` (the agent reaches
only the private model server: code never leaves the account)."""
from __future__ import annotations

import ipaddress
import re
from typing import Literal, Protocol
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .model import ModelSettings
from .model_server import ModelServerSettings

EgressMode = Literal["open", "allowlist", "none"]

# The model provider's API host, when model.base_url does not name one.
PROVIDER_API_HOST = {
    "anthropic": "api.anthropic.com",
    "openai": "api.openai.com",
    "google": "generativelanguage.googleapis.com",
}
# What an agent needs besides its model: GitHub (web, API, archives, raw files, release assets),
# the npm registry and PyPI (index and files).
DEFAULT_ALLOW = (
    "github.com", "api.github.com", "codeload.github.com", "raw.githubusercontent.com",
    "objects.githubusercontent.com", "registry.npmjs.org", "pypi.org", "files.pythonhosted.org",
)
_PSL = PublicSuffixList()  # the list as the installed package ships it (it is released with each list update)

# The agent's internal Docker network (no route out): the host is .1 (the proxy), OpenCode .2.
AGENT_SUBNET = "192.168.254.0/24"
_NAME_RE = re.compile(r"^\.?(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
# An image in a registry the VPC reaches without the internet: ACR's VPC endpoints
# (registry-vpc.<region>.aliyuncs.com, <instance>-registry-vpc.<region>.cr.aliyuncs.com).
_VPC_IMAGE_RE = re.compile(
    r"^(?P<host>(registry-vpc|[a-z0-9-]+-registry-vpc)\.(?P<region>[a-z0-9-]+)\.(cr\.)?aliyuncs\.com)"
    r"/[a-z0-9._/-]+(:[A-Za-z0-9._-]{1,128}|@sha256:[0-9a-f]{64})$"
)


class EgressSettings(BaseModel):
    """Where the agent may connect: open, an allowlist through a proxy, or none (only the private model)."""

    model_config = ConfigDict(extra="forbid")

    mode: EgressMode = Field("open", description="open: the agent reaches the internet as before; allowlist: only "
                             "HTTPS to the model's API, GitHub, npm, PyPI and egress.allow, through a proxy on the host; "
                             "none: only the private model server (needs model_server.enabled).")
    allow: list[str] = Field(default_factory=list, description="More names the agent may reach in allowlist mode "
                             "(HTTPS only); a leading dot takes the subdomains too (.example.com).")
    workspace_image: str | None = Field(None, description="egress.mode = none: the workspace image, built from "
                                        "scripts/workspace-image and pushed to ACR, pulled through ACR's VPC endpoint "
                                        "(anonymous pull), e.g. registry-vpc.ap-southeast-1.aliyuncs.com/acme/opencode:1.18.33.")

    @field_validator("allow")
    @classmethod
    def _names(cls, values: list[str]) -> list[str]:
        names = [value.strip().lower() for value in values]
        bad = [name for name in names if not _NAME_RE.match(name)]
        if bad:
            raise ValueError(f"{', '.join(map(repr, bad))}: not a host name such as api.example.com or .example.com "
                             "(names only: no scheme, port, path, address or wildcard)")
        public = [name for name in names if is_public_suffix(name)]
        if public:
            raise ValueError(f"{', '.join(map(repr, public))} is a public suffix (Public Suffix List): it would allow "
                             "every site under it; name the sites, such as api.example.com or .example.com")
        return names

    @field_validator("workspace_image")
    @classmethod
    def _vpc_image(cls, value: str | None) -> str | None:
        if value is not None and not _VPC_IMAGE_RE.match(value):
            raise ValueError(f"{value!r} is not an image at an ACR VPC endpoint, such as "
                             "registry-vpc.ap-southeast-1.aliyuncs.com/acme/opencode:1.18.33 "
                             "(with egress.mode = none the host reaches no public registry)")
        return value


class EgressInputs(Protocol):
    """What the egress rules read of a workspace's settings (the Settings model has them all)."""

    @property
    def egress(self) -> EgressSettings: ...
    @property
    def model(self) -> ModelSettings: ...
    @property
    def model_server(self) -> ModelServerSettings: ...
    @property
    def vpc_cidr(self) -> str: ...
    @property
    def tls_mode(self) -> str: ...
    @property
    def region(self) -> str: ...


def model_api_host(settings: EgressInputs) -> str | None:
    """The public model API's host name (None with the private model server)."""
    if settings.model_server.enabled:
        return None
    if settings.model.base_url:
        return (urlsplit(settings.model.base_url).hostname or "").lower()
    return PROVIDER_API_HOST[settings.model.provider]


def allowed_names(settings: EgressInputs) -> list[str]:
    """The proxy's allowlist: the model's API host, the defaults and egress.allow; sorted, without
    names a listed `.parent` already covers (the proxy warns about those)."""
    if settings.egress.mode != "allowlist":
        return []
    host = model_api_host(settings)
    names = set(DEFAULT_ALLOW) | set(settings.egress.allow) | ({host} if host else set())
    parents = {name for name in names if name.startswith(".")}
    covered = {name for name in names for parent in parents
               if name != parent and (name == parent[1:] or name.endswith(parent))}
    return sorted(names - covered)


def is_public_suffix(name: str) -> bool:
    """`com`, `co.uk`, `githubusercontent.com`: names under which anyone may register a site, by the Public
    Suffix List that the publicsuffixlist package ships (a leading dot, as the allowlist writes subdomains, aside)."""
    return bool(_PSL.is_public(name.lstrip(".")))


def _model_host_problems(host: str) -> list[tuple[str, str]]:
    """The model API's host joins the allowlist as it is: it is held to the allowlist's own rules."""
    try:
        ipaddress.ip_address(host)
        return [("model.base_url", f"names the address {host}: egress.mode = allowlist allows host "
                 "names only (use the API's name, or the private model server)")]
    except ValueError:
        pass
    if host.startswith(".") or not _NAME_RE.match(host):
        return [("model.base_url", f"{host!r} is not a host name such as api.example.com: it would join the allowlist as it is")]
    if is_public_suffix(host):
        return [("model.base_url", f"{host} is a public suffix (Public Suffix List): as an allowlist name it would "
                 "allow every site under it")]
    return []


def egress_problems(settings: EgressInputs) -> list[tuple[str, str]]:
    egress = settings.egress
    problems: list[tuple[str, str]] = []
    if egress.allow and egress.mode != "allowlist":
        problems.append(("egress.allow", f"only applies with egress.mode = allowlist (it is {egress.mode})"))
    if egress.workspace_image and egress.mode != "none":
        problems.append(("egress.workspace_image", f"only applies with egress.mode = none (it is {egress.mode}): "
                         "otherwise the host builds the image"))
    if egress.mode == "allowlist" and not settings.model_server.enabled and settings.model.base_url:
        problems += _model_host_problems(model_api_host(settings) or "")
    if egress.mode == "open" and not settings.model_server.downloads:
        problems.append(("model_server.downloads", "only applies with egress.mode allowlist or none: with open "
                         "the model server's outbound is not limited at all"))
    if egress.mode != "open" and ipaddress.ip_network(settings.vpc_cidr).overlaps(ipaddress.ip_network(AGENT_SUBNET)):
        problems.append(("vpc_cidr", f"{settings.vpc_cidr} overlaps {AGENT_SUBNET}, the agent's network with "
                         f"egress.mode = {egress.mode}: choose another VPC range"))
    if egress.mode != "none":
        return problems
    if not settings.model_server.enabled:
        problems.append(("egress.mode", f"none keeps code in the account, but model.provider = {settings.model.provider} "
                         "is a public API outside it: enable [model_server] (the private model), or choose "
                         "egress.mode = allowlist"))
    if settings.tls_mode == "acme":
        problems.append(("tls_mode", "acme needs the host to reach Let's Encrypt on the internet, which egress.mode = "
                         "none closes: choose internal or tunnel-only"))
    if not egress.workspace_image:
        problems.append(("egress.workspace_image", "is required with egress.mode = none: the host cannot build the "
                         "image from Docker Hub, Debian and npm; push scripts/workspace-image's build to ACR and "
                         "name it at the registry's VPC endpoint"))
    else:
        region = _VPC_IMAGE_RE.match(egress.workspace_image)["region"]  # type: ignore[index]
        if region != settings.region:
            problems.append(("egress.workspace_image", f"is in {region}, the workspace in {settings.region}: "
                             "a VPC endpoint serves its own region only"))
    return problems
