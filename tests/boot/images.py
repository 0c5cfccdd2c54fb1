"""The rehearsal's images, built here from Debian's archive and cached under the user's cache folder: the VM's boot disk (a Debian 13 cloud-like image) and the container base image the
workspace Dockerfile names (`debian:trixie-slim`), served by a local registry as Docker Hub's mirror.

A REHEARSAL AID: Alibaba Cloud's public Debian 13 image is not this image; both are Debian 13 with
cloud-init, systemd-networkd and an SSH server, which is what the bootstrap relies on."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SUITE = "trixie"
MIRROR = "http://deb.debian.org/debian"
# What a cloud image of Debian 13 has and the bootstrap relies on; nothing the user-data installs. (Tried on
# 2026-12-02: without curl, sudo, gnupg and python3 here, Squid's start timed out on reverse lookups of the
# instance's hostname, "rDNS test failed", and the egress boot failed: something they bring makes the hostname
# resolve. Kept until that is understood; curl and python3 are in the user-data's packages all the same.)
VM_PACKAGES = (
    "linux-image-cloud-amd64", "systemd-sysv", "systemd-resolved", "udev", "dbus", "cloud-init",
    "openssh-server", "curl", "ca-certificates", "python3", "iproute2", "e2fsprogs", "sudo", "gnupg",
)
BASE_IMAGE = "library/debian:trixie-slim"  # what the workspace Dockerfile's FROM resolves to on Docker Hub


HOST_CAS = Path("/usr/local/share/ca-certificates")
BUILD_SECONDS = 30 * 60  # an image build from Debian's archive (about 4 minutes when it works)
STEP_SECONDS = 10 * 60  # any other step of making the images


def host_extra_cas() -> list[Path]:
    """The CAs this machine's administrator added (here: a TLS-inspecting egress proxy's). The VM and
    the base image trust them too, so that they reach npm as this host does; on a machine with
    direct egress there are none. ECS needs none of this."""
    return sorted(HOST_CAS.rglob("*.crt")) if HOST_CAS.is_dir() else []


def cache_dir() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "opencode-alicloud" / "rehearse-boot"


def _stamp(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class VmImage:
    disk: Path  # an ext4 file system, label "root" (raw), or a baked disk (qcow2)
    kernel: Path
    initrd: Path
    disk_format: str = "raw"


def vm_image(log=print) -> VmImage:
    """The boot disk, built once per package list (mmdebstrap, then mke2fs -d)."""
    folder = cache_dir() / f"vm-{SUITE}-{_stamp(SUITE, *VM_PACKAGES)}"
    image = VmImage(folder / "root.raw", folder / "vmlinuz", folder / "initrd.img")
    if image.disk.exists() and image.kernel.exists() and image.initrd.exists():
        return image
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as work:
        root = Path(work) / "root"
        log(f"building the VM image (Debian {SUITE}, mmdebstrap; cached in {folder})")
        subprocess.run(["mmdebstrap", "--variant=minbase", "--quiet", f"--include={','.join(VM_PACKAGES)}",
                        SUITE, str(root), MIRROR], check=True, timeout=BUILD_SECONDS)
        (root / "etc/fstab").write_text("LABEL=root / ext4 defaults,errors=remount-ro 0 1\n")
        (root / "etc/hostname").write_text("rehearsal\n")
        # Networking is cloud-init's (systemd-networkd renderer), as on a cloud image.
        subprocess.run(["chroot", str(root), "systemctl", "enable", "systemd-networkd", "systemd-resolved"], check=True, timeout=STEP_SECONDS)
        kernels = sorted((root / "boot").glob("vmlinuz-*"))
        initrds = sorted((root / "boot").glob("initrd.img-*"))
        shutil.copy(kernels[-1], image.kernel)
        shutil.copy(initrds[-1], image.initrd)
        partial = folder / "root.raw.partial"
        subprocess.run(["mke2fs", "-q", "-t", "ext4", "-L", "root", "-d", str(root), str(partial), "6G"], check=True, timeout=STEP_SECONDS)
        partial.rename(image.disk)
    return image


def base_image_layout(log=print) -> Path:
    """`debian:trixie-slim` as Docker Hub's official build makes it (mmdebstrap minbase), in an OCI
    layout (umoci), tagged `trixie-slim`, plus this host's extra CAs in /usr/local/share/ca-certificates
    (picked up when the Dockerfile installs ca-certificates). Returns the layout folder."""
    cas = host_extra_cas()
    folder = cache_dir() / f"oci-{SUITE}-slim-{_stamp(SUITE, *(ca.read_text() for ca in cas))}"
    if (folder / "index.json").exists() and (folder / ".complete").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent) as work:
        rootfs = Path(work) / "rootfs.tar"
        log(f"building the container base image {BASE_IMAGE} (mmdebstrap + umoci; cached in {folder})")
        hooks = [f"--customize-hook=mkdir -p $1{HOST_CAS}"]
        hooks += [f"--customize-hook=copy-in {ca} {HOST_CAS}" for ca in cas]
        subprocess.run(["mmdebstrap", "--variant=minbase", "--quiet", "--format=tar",
                        "--dpkgopt=path-exclude=/usr/share/doc/*", "--dpkgopt=path-exclude=/usr/share/man/*",
                        *hooks, SUITE, str(rootfs), MIRROR], check=True, timeout=BUILD_SECONDS)
        tag = f"{folder}:trixie-slim"
        subprocess.run(["umoci", "init", "--layout", str(folder)], check=True, timeout=STEP_SECONDS)
        subprocess.run(["umoci", "new", "--image", tag], check=True, timeout=STEP_SECONDS)
        subprocess.run(["umoci", "raw", "add-layer", "--image", tag, str(rootfs)], check=True, timeout=STEP_SECONDS)
        subprocess.run(["umoci", "config", "--image", tag, "--config.cmd", "bash",
                        "--config.env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], check=True, timeout=STEP_SECONDS)
        (folder / ".complete").write_text("")
    return folder


def push(layout: Path, registry: str, log=print) -> None:
    """Copy the layout's image into the local registry (plain HTTP, on loopback)."""
    subprocess.run(["skopeo", "copy", "--quiet", "--dest-tls-verify=false",
                    f"oci:{layout}:trixie-slim", f"docker://{registry}/{BASE_IMAGE}"], check=True, timeout=STEP_SECONDS)
    log(f"pushed {BASE_IMAGE} to {registry}")
