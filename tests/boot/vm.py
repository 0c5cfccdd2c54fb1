"""One QEMU virtual machine shaped like an ECS instance: a boot disk (a copy-on-write overlay of the
cached image), a data disk whose serial is the ECS disk id (so it appears as
/dev/disk/by-id/virtio-<id without d->), a NoCloud seed, and user-mode networking on
100.100.100.0/24 in which 100.100.100.200 is the metadata service."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from images import VmImage

NET = "100.100.100.0/24"
GATEWAY = "100.100.100.2"  # the host's loopback, as the VM sees it
METADATA = "100.100.100.200"
OOS_ADDRESS = "100.100.100.201"  # where the VM's hosts file sends OOS's real host name


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def qemu() -> str | None:
    return shutil.which("qemu-system-x86_64")


def accelerator(image: VmImage, workdir: Path) -> str:
    """'kvm' where a probe boot under KVM reaches the kernel's init, else 'tcg'. (Seen here: KVM opens
    but guests stop with 'KVM internal error. Suberror: 1, emulation failure'.)"""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "tcg"
    serial = workdir / "kvm-probe.log"
    try:
        subprocess.run([qemu(), "-accel", "kvm", "-cpu", "host", "-m", "512", "-display", "none", "-no-reboot",
                        "-serial", f"file:{serial}", "-monitor", "none", "-kernel", str(image.kernel),
                        "-initrd", str(image.initrd), "-append", "console=ttyS0 panic=-1 rdinit=/nonexistent"],
                       capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        return "tcg"
    text = serial.read_text(errors="replace") if serial.exists() else ""
    return "kvm" if "Kernel panic" in text or "No working init" in text else "tcg"


@dataclass
class Machine:
    workdir: Path
    image: VmImage
    data_disk: Path
    data_serial: str
    seed: Path
    accel: str
    forwards: dict[str, int]  # guest "ip:port" -> host port on 127.0.0.1 (guestfwd)
    memory_mb: int = 4096
    ssh_port: int = field(default_factory=free_port)
    https_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    boot_disk: Path | None = None

    @property
    def serial(self) -> Path:
        return self.workdir / "serial.log"

    def new_boot_disk(self) -> None:
        """A fresh system disk from the image (what a replaced ECS instance gets)."""
        self.boot_disk = self.workdir / "boot.qcow2"
        self.boot_disk.unlink(missing_ok=True)
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", self.image.disk_format, "-b", str(self.image.disk),
                        str(self.boot_disk)], check=True, timeout=60)

    def start(self) -> None:
        assert self.boot_disk is not None
        accel = ["-accel", "kvm", "-cpu", "host"] if self.accel == "kvm" else ["-accel", "tcg,thread=multi", "-cpu", "max"]
        # cmd: runs socat for each connection (a tcp: chardev is one connection for the VM's whole life).
        guestfwd = ",".join(f"guestfwd=tcp:{target}-cmd:socat - TCP:127.0.0.1:{port}" for target, port in self.forwards.items())
        netdev = (f"user,id=n0,net={NET},host={GATEWAY},dns=100.100.100.3,dhcpstart=100.100.100.15,"
                  f"hostfwd=tcp:127.0.0.1:{self.ssh_port}-:22,hostfwd=tcp:127.0.0.1:{self.https_port}-:443,{guestfwd}")
        command = [
            qemu(), *accel, "-machine", "q35", "-m", str(self.memory_mb), "-smp", "2",
            "-display", "none", "-monitor", "none", "-serial", f"file:{self.serial}",
            "-kernel", str(self.image.kernel), "-initrd", str(self.image.initrd),
            "-append", "root=LABEL=root rw console=ttyS0 ds=nocloud",
            "-drive", f"file={self.data_disk},if=none,id=data,format=qcow2",
            "-device", f"virtio-blk-pci,drive=data,serial={self.data_serial}",
            "-drive", f"file={self.boot_disk},if=virtio,format=qcow2",
            "-drive", f"file={self.seed},if=virtio,format=raw,readonly=on",
            "-netdev", netdev, "-device", "virtio-net-pci,netdev=n0",
        ]
        with open(self.serial, "ab") as _:
            pass
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=open(self.workdir / "qemu.err", "ab"))

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def shutdown(self, key: Path, seconds: int = 180) -> bool:
        """A clean power-off, as ECS stops an instance before it is replaced (SIGTERM to QEMU is a
        power cut: what the guest had not written back would be lost). Whether the guest powered off by
        itself within `seconds` (else QEMU was stopped)."""
        self.ssh(key, "systemctl poweroff", timeout=30)
        clean = False
        if self.process:
            try:
                self.process.wait(timeout=seconds)
                clean = True
            except subprocess.TimeoutExpired:
                pass
        self.stop()
        return clean

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def ssh(self, key: Path, command: str, timeout: int = 120, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """`command` as root in the VM (rehearsal-only key), `stdin` fed to it (never in its arguments).
        Bounded: past `timeout` it answers exit 124 with a 'timed out' stderr (the caller's check fails
        on it), never an exception."""
        try:
            return subprocess.run(
                self.ssh_argv(key, command),
                input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
                capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(command, 124, "", f"ssh timed out after {timeout} s: {command[:80]}")

    def ssh_argv(self, key: Path, command: str) -> list[str]:
        """The ssh command line that runs `command` as root in the VM (rehearsal-only key)."""
        return ["ssh", "-i", str(key), "-p", str(self.ssh_port), "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10",
                "-o", "BatchMode=yes", "-o", "ServerAliveInterval=15", "root@127.0.0.1", command]

    def wait_for_ssh(self, key: Path, deadline: float) -> bool:
        while time.monotonic() < deadline and self.running():
            if self.ssh(key, "true", timeout=30).returncode == 0:
                return True
            time.sleep(5)
        return False

    def serial_size(self) -> int:
        return self.serial.stat().st_size if self.serial.exists() else 0

    def serial_since(self, offset: int) -> str:
        """What the serial console printed after `offset` bytes."""
        if not self.serial.exists():
            return ""
        with open(self.serial, "rb") as handle:
            handle.seek(offset)
            return handle.read().decode(errors="replace")
