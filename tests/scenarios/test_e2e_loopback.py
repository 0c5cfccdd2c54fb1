"""End to end on loopback: the real `opencode serve` (npm opencode-ai 1.18.33) with the rendered
opencode.json as its managed config and the upstream password, behind the real Caddy with the
rendered Caddyfile (adapted to loopback ports and `tls internal`), which logs users in with the web
password and passes only the upstream password on. Both processes are stopped at the end."""
from __future__ import annotations

import base64
import json
import os
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, rendered_bootstrap
from opencode_alicloud.instance.files import render_caddyfile
from opencode_alicloud.instance.layout import ACCESS_LOG, OPENCODE_PORT
from support import on_instance_module

OPENCODE = ROOT / ".cache" / "tools" / "node_modules" / ".bin" / "opencode"
PASSWORD = "e2e-Test-Password-42"  # the web password: the proxy's bcrypt hash is made from it
UPSTREAM = "e2eUpstreamOnly0123456789abcdefg"  # what the instance makes at first boot; OpenCode's own
TLS = ssl._create_unverified_context()  # Caddy's internal CA; trust is not what this test is about


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(url: str, auth: tuple[str, str] | None = None, timeout: float = 10) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(url)
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(":".join(auth).encode()).decode())
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=TLS), NoRedirect())
    try:
        with opener.open(req, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


def wait_for(predicate, seconds: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("e2e")
    boot, files, _ = rendered_bootstrap("default")
    (tmp / "managed").mkdir()
    (tmp / "managed" / "opencode.json").write_text(files["/etc/opencode/opencode.json"])
    backend, https, http = free_port(), free_port(), free_port()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp / "home"),
        "OPENCODE_TEST_MANAGED_CONFIG_DIR": str(tmp / "managed"),  # stands for /etc/opencode in the container
        "OPENCODE_SERVER_PASSWORD": UPSTREAM,
        "ANTHROPIC_API_KEY": "sk-ant-test-not-a-real-key",
    }
    logs = tmp / "opencode.log"
    opencode = subprocess.Popen(
        [str(OPENCODE), "serve", "--hostname", "127.0.0.1", "--port", str(backend)],
        env=env, cwd=tmp, stdout=logs.open("w"), stderr=subprocess.STDOUT,
    )
    caddy_env = {**os.environ, "XDG_DATA_HOME": str(tmp / "caddy-data"), "XDG_CONFIG_HOME": str(tmp / "caddy-config"),
                 # what the systemd drop-in gives Caddy from upstream.env
                 "OPENCODE_UPSTREAM_AUTH": base64.b64encode(f"opencode:{UPSTREAM}".encode()).decode()}
    bcrypt_hash = subprocess.run(
        ["caddy", "hash-password", "--plaintext", PASSWORD], capture_output=True, text=True, check=True, env=caddy_env
    ).stdout.strip()
    internal = type(boot)(**{**boot.__dict__, "tls_mode": "internal"})
    caddyfile = render_caddyfile(internal, bcrypt_hash, f"localhost:{https}")
    # Adapted to loopback: unprivileged ports, no admin API, no trust store changes, our backend port.
    adapted = (
        f"{{\n\tadmin off\n\tskip_install_trust\n\thttp_port {http}\n\thttps_port {https}\n}}\n"
        + caddyfile.replace(f"127.0.0.1:{OPENCODE_PORT}", f"127.0.0.1:{backend}").replace(ACCESS_LOG, str(tmp / "access.log"))
    )
    (tmp / "Caddyfile").write_text(adapted)
    caddy = subprocess.Popen(
        ["caddy", "run", "--config", str(tmp / "Caddyfile"), "--adapter", "caddyfile"],
        env=caddy_env, cwd=tmp, stdout=(tmp / "caddy.log").open("w"), stderr=subprocess.STDOUT,
    )
    try:
        try:
            wait_for(lambda: request(f"http://127.0.0.1:{backend}/global/health")[0] == 401, 120, "opencode serve")
            wait_for(lambda: request(f"https://localhost:{https}/")[0] == 401, 60, "caddy")
        except AssertionError as error:
            raise AssertionError(
                f"{error}\nopencode log:\n{logs.read_text()[-2000:]}\ncaddy log:\n{(tmp / 'caddy.log').read_text()[-2000:]}"
            ) from None
        yield {"backend": backend, "https": https, "http": http, "access_log": tmp / "access.log"}
    finally:
        for process in (caddy, opencode):
            process.terminate()
        for process in (caddy, opencode):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def test_no_or_wrong_credentials_get_401(stack: dict[str, int]) -> None:
    base = f"https://localhost:{stack['https']}"
    assert request(f"{base}/")[0] == 401
    assert request(f"{base}/global/health")[0] == 401
    assert request(f"{base}/", ("opencode", "wrong-password"))[0] == 401
    assert request(f"{base}/", ("admin", PASSWORD))[0] == 401


def test_right_credentials_get_the_ui_and_health(stack: dict[str, int]) -> None:
    base = f"https://localhost:{stack['https']}"
    status, headers, body = request(f"{base}/", ("opencode", PASSWORD))
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b"<html" in body.lower() or b"<!doctype html" in body.lower()
    status, _, body = request(f"{base}/global/health", ("opencode", PASSWORD))
    assert status == 200 and json.loads(body)["healthy"] is True


def test_opencode_itself_requires_the_upstream_password_and_not_the_web_one(stack: dict[str, int]) -> None:
    """Defence in depth: the backend on loopback asks for a password too, and it is not the web
    password, which therefore never has to be in the agent's container."""
    backend = f"http://127.0.0.1:{stack['backend']}/global/health"
    assert request(backend)[0] == 401
    assert request(backend, ("opencode", PASSWORD))[0] == 401
    assert request(backend, ("opencode", UPSTREAM))[0] == 200


def test_the_upstream_password_does_not_open_the_proxy(stack: dict[str, int]) -> None:
    """What the agent holds (the upstream password) is worth nothing from outside."""
    assert request(f"https://localhost:{stack['https']}/global/health", ("opencode", UPSTREAM))[0] == 401


def test_http_redirects_to_https(stack: dict[str, int]) -> None:
    status, headers, _ = request(f"http://localhost:{stack['http']}/some/path")
    assert status in (301, 308) and headers["Location"].startswith("https://localhost")


def test_event_stream_is_not_buffered(stack: dict[str, int]) -> None:
    context = ssl._create_unverified_context()
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", stack["https"]), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            token = base64.b64encode(f"opencode:{PASSWORD}".encode()).decode()
            tls.sendall(
                f"GET /event HTTP/1.1\r\nHost: localhost:{stack['https']}\r\nAuthorization: Basic {token}\r\n"
                "Accept: text/event-stream\r\n\r\n".encode()
            )
            received = b""
            while b"data:" not in received:
                assert time.monotonic() - started < 2.0, f"no event within 2 s through the proxy: {received[:300]!r}"
                chunk = tls.recv(4096)
                assert chunk, "connection closed before the first event"
                received += chunk
    elapsed = time.monotonic() - started
    assert received.startswith(b"HTTP/1.1 200")
    assert b'"type":"server.connected"' in received
    assert elapsed < 2.0


def test_the_access_log_records_who_did_what_and_never_a_credential(stack: dict[str, Any], tmp_path: Path) -> None:
    base = f"https://localhost:{stack['https']}"
    started = time.time()
    assert request(f"{base}/global/health", ("opencode", PASSWORD))[0] == 200
    assert request(f"{base}/global/health?probe=1", ("opencode", "wrong-password"))[0] == 401
    log = stack["access_log"]
    wait_for(lambda: "probe=1" in log.read_text(), 10, "the access log")
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    signed_in = [e for e in entries if e["request"]["uri"] == "/global/health" and e["user_id"] == "opencode"]
    assert signed_in and signed_in[-1]["status"] == 200 and signed_in[-1]["size"] > 0
    assert signed_in[-1]["request"]["method"] == "GET" and signed_in[-1]["request"]["remote_ip"] == "127.0.0.1"
    refused = next(e for e in entries if e["request"]["uri"] == "/global/health?probe=1")
    assert (refused["status"], refused["user_id"]) == (401, "")
    text = log.read_text()
    for secret in (PASSWORD, UPSTREAM, base64.b64encode(f"opencode:{PASSWORD}".encode()).decode(), "wrong-password",
                   "Authorization", "headers"):
        assert secret not in text
    # The idle check reads this log: its newest signed-in request is the one just made, the 401 is not one.
    idle = on_instance_module(tmp_path, "/usr/local/sbin/opencode-idle", "all-options")
    assert started - 1 <= idle.last_signed_in(text.splitlines()) <= time.time()


def test_the_idle_check_sees_a_busy_agent_through_opencodes_own_session_status(tmp_path: Path) -> None:
    """The real OpenCode: a session in a folder of its own waits on a model that never answers; the idle
    check (which asks every folder a session has) calls that busy, and idle once it is aborted."""
    import http.server
    import threading

    class Silent(http.server.BaseHTTPRequestHandler):  # a model API that takes the request and never answers
        asked = threading.Event()

        def do_POST(self) -> None:  # noqa: N802
            Silent.asked.set()
            time.sleep(60)

        def log_message(self, *args: object) -> None:
            pass

    model = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Silent)
    model.daemon_threads = True
    threading.Thread(target=model.serve_forever, daemon=True).start()
    config = {"$schema": "https://opencode.ai/config.json", "model": "custom/m", "autoupdate": False, "share": "disabled",
              "provider": {"custom": {"npm": "@ai-sdk/openai-compatible", "name": "silent",
                                      "options": {"baseURL": f"http://127.0.0.1:{model.server_address[1]}/v1", "apiKey": "k"},
                                      "models": {"m": {}}}}}
    (tmp_path / "managed").mkdir()
    (tmp_path / "managed" / "opencode.json").write_text(json.dumps(config))
    (tmp_path / "workspace" / "project").mkdir(parents=True)
    port = free_port()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path / "home"), "OPENCODE_SERVER_PASSWORD": UPSTREAM,
           "OPENCODE_TEST_MANAGED_CONFIG_DIR": str(tmp_path / "managed")}
    server = subprocess.Popen([str(OPENCODE), "serve", "--hostname", "127.0.0.1", "--port", str(port)], env=env,
                              cwd=tmp_path / "workspace", stdout=(tmp_path / "opencode.log").open("w"), stderr=subprocess.STDOUT)
    (tmp_path / "idle").mkdir()
    idle = on_instance_module(tmp_path / "idle", "/usr/local/sbin/opencode-idle", "all-options")
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": "Basic " + base64.b64encode(f"opencode:{UPSTREAM}".encode()).decode(), "Content-Type": "application/json"}

    def post(path: str, body: dict) -> bytes:
        with urllib.request.urlopen(urllib.request.Request(base + path, json.dumps(body).encode(), auth), timeout=10) as answer:
            return answer.read()
    try:
        wait_for(lambda: request(f"{base}/global/health", ("opencode", UPSTREAM))[0] == 200, 120, "opencode serve")
        assert idle.statuses(UPSTREAM, base) == {}
        assert idle.statuses("wrong", base) is None  # no answer: the check will not stop
        folder = str(tmp_path / "workspace" / "project")
        session = json.loads(post(f"/session?directory={urllib.parse.quote(folder)}", {}))["id"]
        post(f"/session/{session}/prompt_async?directory={urllib.parse.quote(folder)}", {"parts": [{"type": "text", "text": "hi"}]})
        assert Silent.asked.wait(30), (tmp_path / "opencode.log").read_text()[-2000:]
        found = idle.statuses(UPSTREAM, base)
        assert found == {session: {"type": "busy"}}
        a_day = {"wall": time.time() - 60, "mono": time.monotonic() - 60, "since": time.time() - 86400}  # idle a day
        go, why, _ = idle.decide([], found, time.time(), time.monotonic(), a_day, 60)
        assert not go and "an agent is working" in why
        post(f"/session/{session}/abort?directory={urllib.parse.quote(folder)}", {})
        wait_for(lambda: idle.statuses(UPSTREAM, base).get(session, {"type": "idle"})["type"] == "idle", 30, "the abort")
        assert idle.decide([], idle.statuses(UPSTREAM, base), time.time(), time.monotonic(), a_day, 60)[0]
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        model.shutdown()
