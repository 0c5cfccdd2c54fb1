"""The model-server concern: an optional private vLLM server in the workspace's VPC."""
from __future__ import annotations

import ipaddress
import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .fields import Cidr, _resource_id, matching


_GPU_TYPE_RE = re.compile(r"^ecs\.(ebm)?(gn|sgn|vgn|gi)[0-9][a-z0-9]*-[a-z0-9]+\.[a-z0-9]+$")


class ModelServerSettings(BaseModel):
    """An optional private model server: vLLM on a GPU instance in the same VPC, no public port."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(False, description="Run a private vLLM model server and point OpenCode at it.")
    instance_type: str = Field(
        "ecs.gn7i-c8g1.2xlarge", description="GPU instance type (default: 1x NVIDIA A10 24 GB, 8 vCPU, 30 GiB)."
    )
    model: str = Field("Qwen/Qwen3-4B-Instruct-2507", description="Model id to serve (ModelScope / Hugging Face).")
    served_model_name: str = Field("qwen3-4b", description="Name OpenCode uses for the model.")
    max_model_len: int = Field(32768, ge=1024, le=262144, description="Maximum context length, in tokens.")
    vllm_image: str = Field("vllm/vllm-openai:v0.11.0", description="vLLM OpenAI-compatible server image, pinned.")
    use_modelscope: bool = Field(True, description="Download weights from ModelScope (fast in Alibaba regions); false: Hugging Face.")
    weights_disk_size: int = Field(60, ge=40, le=2048, description="GiB of the disk that caches weights and images.")
    vswitch_cidr: Cidr = Field("10.42.2.0/24", description="CIDR of the model server's vSwitch (its own zone with GPUs).")
    vswitch_id: str | None = Field(None, description="Existing vSwitch for the model server (required with vpc_id).")
    private_ip: str | None = Field(None, description="Private IP of the model server; unset: the 10th address of vswitch_cidr.")
    downloads: bool = Field(True, description="With egress.mode allowlist or none: let the model server reach the internet "
                            "(HTTPS, HTTP) for its image, weights and GPU driver; false, once they are on disk, closes "
                            "even that (its security group keeps DNS, time and Alibaba Cloud's in-region endpoints).")

    def address(self) -> str:
        """The model server's private IP (fixed, so the workspace needs no dependency on it)."""
        if self.private_ip:
            return self.private_ip
        return str(ipaddress.ip_network(self.vswitch_cidr).network_address + 10)

    _gpu = field_validator("instance_type")(matching(
        _GPU_TYPE_RE.pattern,
        "{value!r} is not a GPU instance type; use a GPU family such as ecs.gn7i-c8g1.2xlarge (A10 24 GB)"))

    @field_validator("model")
    @classmethod
    def _repo_id(cls, value: str) -> str:
        # A Hugging Face / ModelScope repo id: it becomes one argument of `vllm serve`.
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}", value) or ".." in value:
            raise ValueError(f"{value!r} is not a model repo id such as Qwen/Qwen3-4B-Instruct-2507")
        return value

    _pinned = field_validator("vllm_image")(matching(
        r"[a-z0-9./_-]+:v?\d+\.\d+\.\d+", "{value!r} must be pinned to a version, e.g. vllm/vllm-openai:v0.11.0"))
    _served = field_validator("served_model_name")(matching(
        r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", "{value!r} must be 1-64 chars of letters, digits, '.', '_', '-'"))

    @field_validator("vswitch_id")
    @classmethod
    def _vsw(cls, value: str | None) -> str | None:
        return _resource_id("vswitch_id", value)



def model_server_problems(server: ModelServerSettings, vpc_id: str | None, vpc_cidr: str,
                          vswitch_cidr: str) -> list[tuple[str, str]]:
    """How the model server fits the network around it."""
    problems: list[tuple[str, str]] = []
    if not server.enabled:
        return problems
    if vpc_id and not server.vswitch_id:
        problems.append(("model_server.vswitch_id", "is required when vpc_id is set: name a vSwitch in a GPU zone of that VPC"))
    if server.vswitch_id and not server.private_ip:
        problems.append(("model_server.private_ip", "is required with model_server.vswitch_id: a free address in that vSwitch"))
    if server.private_ip:
        try:
            address = ipaddress.IPv4Address(server.private_ip)
        except ValueError:
            problems.append(("model_server.private_ip", f"{server.private_ip!r} is not an IPv4 address"))
        else:
            problems += _address_problems(address, server, vpc_cidr)
    if not vpc_id:
        vpc, vsw = ipaddress.ip_network(vpc_cidr), ipaddress.ip_network(vswitch_cidr)
        msw = ipaddress.ip_network(server.vswitch_cidr)
        if msw.version != vpc.version or not msw.subnet_of(vpc):  # type: ignore[arg-type]
            problems.append(("model_server.vswitch_cidr", f"{msw} must lie inside vpc_cidr {vpc}"))
        elif msw.overlaps(vsw):
            problems.append(("model_server.vswitch_cidr", f"{msw} overlaps vswitch_cidr {vsw}; pick another range"))
    return problems


def _address_problems(address: ipaddress.IPv4Address, server: ModelServerSettings, vpc_cidr: str) -> list[tuple[str, str]]:
    """The model server's address lies in its vSwitch (the one created from vswitch_cidr; a reused one is
    known only to lie in the VPC) and is not one Alibaba Cloud reserves: a vSwitch's first and last three."""
    field = "vswitch_cidr" if not server.vswitch_id else None
    network = ipaddress.ip_network(server.vswitch_cidr if field else vpc_cidr)
    if address not in network:
        return [("model_server.private_ip", f"{address} is outside {'model_server.' + field if field else 'vpc_cidr'} "
                 f"{network}: give an address inside it")]
    if field and (address == network.network_address or int(network.broadcast_address) - int(address) < 3):
        return [("model_server.private_ip", f"{address} is one of the addresses Alibaba Cloud reserves in a vSwitch "
                 f"(the first and the last three of {network})")]
    return []
