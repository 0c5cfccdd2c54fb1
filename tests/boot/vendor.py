"""The rehearsal's NoCloud vendor-data: everything only the rehearsal needs, so that the user-data
boots unchanged. cloud-init merges it under the user-data; it uses only keys the user-data does not
(bootcmd, ca_certs, ssh keys), and each file it writes is listed here.

TEST-ONLY OVERRIDES, none of which exists on ECS:
- /etc/hosts: OOS's and ECS's real host names -> the fake API (OOS GetSecretParameter, ECS StopInstance); the ACME server's name -> Pebble on the host.
- the test CA in the trust store (the fake OOS and Pebble present certificates it signed), Pebble's
  root (which signs the site's certificate, as Let's Encrypt's root does on ECS), and the host's own extra CAs (here a TLS-inspecting egress proxy's), so the VM reaches npm as the host does.
- Docker's registry mirror: the local registry that serves the base image offline.
- Caddy's ACME CA: a systemd drop-in puts `acme_ca <Pebble>` in the Caddyfile's global options
  before each start (the production Caddyfile asks Let's Encrypt).
- root's SSH key, for the checks.
"""
from __future__ import annotations

import base64
import io
import json
import tarfile
from dataclasses import dataclass

import yaml

from vm import GATEWAY, OOS_ADDRESS

ACME_HOST = "acme.rehearsal.test"


@dataclass(frozen=True)
class VendorSettings:
    region: str
    registry_port: int
    acme_port: int
    ca_pems: tuple[str, ...]  # the test CA, and this host's extra CAs (images.host_extra_cas)
    ssh_public_key: str

    @property
    def acme_directory(self) -> str:
        return f"https://{ACME_HOST}:{self.acme_port}/dir"


def vendor_files(settings: VendorSettings) -> dict[str, tuple[str, int]]:
    """path -> (content, mode) of every file the vendor-data writes."""
    mirror = f"http://{GATEWAY}:{settings.registry_port}"
    acme_script = (
        "#!/bin/sh\n"
        "# REHEARSAL ONLY: point Caddy at the local ACME server (Pebble) instead of Let's Encrypt.\n"
        "grep -q '^\tacme_ca ' /etc/caddy/Caddyfile && exit 0\n"
        f"printf '{{\\n\\tacme_ca {settings.acme_directory}\\n}}\\n\\n' | cat - /etc/caddy/Caddyfile >/etc/caddy/Caddyfile.new\n"
        "mv /etc/caddy/Caddyfile.new /etc/caddy/Caddyfile\n"
    )
    return {
        "/etc/docker/daemon.json": (json.dumps({"registry-mirrors": [mirror],
                                                "insecure-registries": [f"{GATEWAY}:{settings.registry_port}"]}) + "\n", 0o644),
        "/usr/local/sbin/rehearsal-acme-ca": (acme_script, 0o755),
        "/etc/systemd/system/caddy.service.d/rehearsal-acme.conf": (
            "[Service]\n# REHEARSAL ONLY (+: outside the unit's ProtectSystem, which makes /etc read-only)\nExecStartPre=+/usr/local/sbin/rehearsal-acme-ca\n", 0o644),
    }


def _tarball(files: dict[str, tuple[str, int]]) -> str:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path, (content, mode) in files.items():
            data = content.encode()
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return base64.b64encode(buffer.getvalue()).decode()


def vendor_data(settings: VendorSettings) -> str:
    hosts = f"{OOS_ADDRESS} oos.{settings.region}.aliyuncs.com ecs.{settings.region}.aliyuncs.com\n{GATEWAY} {ACME_HOST}\n"
    document = {
        "bootcmd": [
            ["sh", "-c", f"grep -q {ACME_HOST} /etc/hosts || printf '%s' '{hosts}' >>/etc/hosts"],
            ["sh", "-c", f"echo {_tarball(vendor_files(settings))} | base64 -d | tar -xz -C /"],
        ],
        "ca_certs": {"trusted": list(settings.ca_pems)},
        "disable_root": False,
        "ssh_authorized_keys": [settings.ssh_public_key],
    }
    return "#cloud-config\n" + yaml.safe_dump(document, sort_keys=False, width=100000)
