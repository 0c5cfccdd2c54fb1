"""The boot rehearsal's own pieces (scripts/rehearse-boot runs the VM itself, after the test suite):
its vendor-data and how it reads the bootstrap's phases."""
from __future__ import annotations

import base64
import io
import json
import subprocess
import tarfile
from pathlib import Path

import yaml

from conftest import cloud_config, rendered_bootstrap
from rehearse import phases
from vendor import ACME_HOST, VendorSettings, vendor_data

SETTINGS = VendorSettings(region="ap-southeast-1", registry_port=5000, acme_port=14000,
                          ca_pems=("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",),
                          ssh_public_key="ssh-ed25519 AAAAC3Nza rehearsal")


def test_vendor_data_is_valid_cloud_config_that_leaves_the_user_data_alone(tmp_path: Path) -> None:
    text = vendor_data(SETTINGS)
    (tmp_path / "vendor-data").write_text(text)
    result = subprocess.run(["cloud-init", "schema", "-c", str(tmp_path / "vendor-data")], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and "Valid cloud-config" in result.stdout, result.stdout + result.stderr
    # cloud-init lets user-data keys replace vendor-data keys: none may be shared, or one side is lost.
    user_data = cloud_config(rendered_bootstrap("default")[2])
    assert set(yaml.safe_load(text)) & set(user_data) == set()


def test_vendor_data_points_docker_and_caddy_at_the_local_services_and_names_the_fake_oos() -> None:
    document = yaml.safe_load(vendor_data(SETTINGS))
    hosts, files = document["bootcmd"]
    assert "100.100.100.201 oos.ap-southeast-1.aliyuncs.com" in hosts[2] and f"100.100.100.2 {ACME_HOST}" in hosts[2]
    blob = files[2].split()[1]
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode(blob))) as tar:
        written = {member.name: tar.extractfile(member).read().decode() for member in tar.getmembers()}  # type: ignore[union-attr]
    assert json.loads(written["etc/docker/daemon.json"])["registry-mirrors"] == ["http://100.100.100.2:5000"]
    assert f"acme_ca https://{ACME_HOST}:14000/dir" in written["usr/local/sbin/rehearsal-acme-ca"]
    assert "ExecStartPre=+/usr/local/sbin/rehearsal-acme-ca" in written["etc/systemd/system/caddy.service.d/rehearsal-acme.conf"]
    assert document["ca_certs"]["trusted"] == list(SETTINGS.ca_pems)


def test_phases_come_from_the_bootstraps_log_lines() -> None:
    log = ("2026-12-01T10:00:00Z [70.12s] start\n"
           "2026-12-01T10:00:01Z [70.50s] data disk d-abc\n"
           "some docker output\n"
           "2026-12-01T10:03:00Z [250.00s] ready 250.00s after boot\n")
    assert phases(log) == [("start", 70.12), ("data disk d-abc", 70.5), ("ready 250.00s after boot", 250.0)]


def test_the_test_ca_satisfies_strict_verification_as_debian_13s_python_does(tmp_path: Path) -> None:
    """Python 3.13 (Debian 13) verifies with VERIFY_X509_STRICT: the fake OOS's certificate must pass it."""
    import ssl
    import urllib.request

    from fake_alibaba import Cloud, RpcHandler, serve
    from pki import TestCA

    ca = TestCA.create(tmp_path / "pki")
    cloud = Cloud(instance_id="i-x", region="ap-southeast-1", role="r", parameters={})
    server = serve(RpcHandler, cloud, tls=ca.issue(["localhost"], tmp_path / "pki" / "oos"))
    context = ssl.create_default_context(cafile=str(ca.cert))
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    try:
        with urllib.request.urlopen(f"https://localhost:{server.port}/", context=context, timeout=5) as response:
            raise AssertionError(f"an unsigned request was answered {response.status}")
    except urllib.error.HTTPError as error:  # TLS held; the API refused the unsigned request
        assert json.loads(error.read())["Code"] == "InvalidAccessKeyId.NotFound"
    finally:
        server.close()
