"""Fake Alibaba Cloud endpoints for what runs on the instance: the ECS metadata service, OOS's
GetSecretParameter and ECS's StopInstance (the idle check). A SIMULATION of the documented behaviour
the instance relies on, no more:

- metadata (http_tokens = required): a token from `PUT /latest/api/token`, which must carry the TTL
  header (1-21600 s); every GET must carry a live token. Serves instance-id, region-id and the RAM
  role's STS credentials, the latter only after `attach_after` asks (the attachment comes late).
- OOS and ECS: `GET /?Action=...` signed with RPC signature v1 (HMAC-SHA1) by the role's
  credentials; the fake recomputes the signature, checks the security token, the clock skew and
  nonce reuse, then answers GetSecretParameter with the parameter's value, and records StopInstance
  (only on its own instance, as the role's policy allows: any other is Forbidden.RAM).
"""
from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import http.server
import json
import secrets
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class RoleCredentials:
    access_key_id: str = field(default_factory=lambda: "STS.N" + secrets.token_hex(10))
    access_key_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    security_token: str = field(default_factory=lambda: "CAIS" + secrets.token_urlsafe(48))

    def document(self) -> dict[str, str]:
        expiration = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1))
        return {"Code": "Success", "AccessKeyId": self.access_key_id, "AccessKeySecret": self.access_key_secret,
                "SecurityToken": self.security_token, "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "LastUpdated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}


@dataclass
class Cloud:
    """What the fakes know: one instance, its role and the account's secret parameters."""

    instance_id: str
    region: str
    role: str
    parameters: dict[str, str]
    credentials: RoleCredentials = field(default_factory=RoleCredentials)
    attach_after: int = 0
    tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry (monotonic)
    role_asks: int = 0
    nonces: set[str] = field(default_factory=set)
    log: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stops: list[dict[str, str]] = field(default_factory=list)  # the StopInstance requests accepted
    oss_bucket: str = ""  # the one bucket the fake OSS serves
    oss_writable: str = ""  # the key prefix the role's policy allows PutObject under
    objects: dict[str, bytes] = field(default_factory=dict)  # key -> body, as stored


class _Handler(http.server.BaseHTTPRequestHandler):
    cloud: Cloud

    def _reply(self, status: int, body: str, content_type: str = "text/plain") -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _note(self, what: str) -> None:
        with self.cloud.lock:
            self.cloud.log.append(what)

    def log_message(self, *args: object) -> None:
        pass


class MetadataHandler(_Handler):
    def do_PUT(self) -> None:  # noqa: N802
        ttl = self.headers.get("X-aliyun-ecs-metadata-token-ttl-seconds", "")
        if self.path != "/latest/api/token":
            return self._reply(404, "")
        if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            self._note(f"PUT token refused: ttl {ttl!r}")
            return self._reply(400, "X-aliyun-ecs-metadata-token-ttl-seconds must be 1-21600")
        token = secrets.token_urlsafe(32)
        with self.cloud.lock:
            self.cloud.tokens[token] = time.monotonic() + int(ttl)
        self._note("PUT token")
        self._reply(200, token)

    def do_GET(self) -> None:  # noqa: N802
        token = self.headers.get("X-aliyun-ecs-metadata-token", "")
        with self.cloud.lock:
            live = self.cloud.tokens.get(token, 0) > time.monotonic()
        if not live:
            self._note(f"GET {self.path} refused: no live token")
            return self._reply(401, "")
        self._note(f"GET {self.path}")
        cloud = self.cloud
        answers = {"/latest/meta-data/instance-id": cloud.instance_id, "/latest/meta-data/region-id": cloud.region}
        if self.path in answers:
            return self._reply(200, answers[self.path])
        if self.path == f"/latest/meta-data/ram/security-credentials/{cloud.role}":
            with cloud.lock:
                cloud.role_asks += 1
                attached = cloud.role_asks > cloud.attach_after
            if attached:
                return self._reply(200, json.dumps(cloud.credentials.document()), "application/json")
        self._reply(404, "")


def stale_or_replayed(timestamp: str, nonce: str, nonces: set[str], lock: threading.Lock) -> tuple[int, str, str] | None:
    """The API's refusal of a request whose time is malformed or more than 15 minutes off, or whose
    nonce was seen before (status, Code, Message); None for a fresh request."""
    try:
        sent = datetime.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return 400, "InvalidTimeStamp.Format", "Specified time stamp is not valid."
    skew = abs((datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - sent).total_seconds())
    if skew > 900:
        return 400, "InvalidTimeStamp.Expired", f"Specified time stamp is {skew:.0f} s off."
    with lock:
        replay = nonce in nonces
        nonces.add(nonce)
    if replay or not nonce:
        return 400, "SignatureNonceUsed", "Specified signature nonce was used already."
    return None


def percent_encode(value: str) -> str:
    """RFC 3986 encoding, as both of Alibaba Cloud's request signatures canonicalize values."""
    return urllib.parse.quote(value, safe="~")


def rpc_signature(params: dict[str, str], secret: str, method: str = "GET") -> str:
    """RPC signature v1 as the API computes it (the server side of the secret reader's signer)."""
    quote = percent_encode
    canonical = "&".join(f"{quote(k)}={quote(v)}" for k, v in sorted(params.items()))
    digest = hmac.new(f"{secret}&".encode(), f"{method}&%2F&{quote(canonical)}".encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class RpcHandler(_Handler):
    """OOS GetSecretParameter and ECS StopInstance, each only after the checks every RPC call passes."""

    def _error(self, status: int, code: str, message: str) -> None:
        self._note(f"API refused: {code}: {message}")
        self._reply(status, json.dumps({"Code": code, "Message": message, "RequestId": secrets.token_hex(8)}),
                    "application/json")

    def do_GET(self) -> None:  # noqa: N802
        cloud = self.cloud
        params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query, keep_blank_values=True))
        signature = params.pop("Signature", "")
        if params.get("AccessKeyId") != cloud.credentials.access_key_id:
            return self._error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if params.get("SecurityToken") != cloud.credentials.security_token:
            return self._error(400, "InvalidSecurityToken.MismatchWithAccessKey", "Specified SecurityToken mismatch.")
        if params.get("SignatureMethod") != "HMAC-SHA1" or params.get("SignatureVersion") != "1.0":
            return self._error(400, "UnsupportedSignatureMethod", "Signature method or version is not supported.")
        if not hmac.compare_digest(signature, rpc_signature(params, cloud.credentials.access_key_secret)):
            return self._error(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
        refused = stale_or_replayed(params.get("Timestamp", ""), params.get("SignatureNonce", ""), cloud.nonces, cloud.lock)
        if refused:
            return self._error(*refused)
        if params.get("RegionId") != cloud.region:
            return self._error(400, "InvalidRegionId", "Specified region is not found.")
        action = (params.get("Action"), params.get("Version"))
        if action == ("StopInstance", "2014-05-26"):
            return self._stop(params)
        if action != ("GetSecretParameter", "2019-06-01"):
            return self._error(400, "InvalidAction.NotFound", "Specified api is not found.")
        name = params.get("Name", "")
        if name not in cloud.parameters:
            return self._error(404, "EntityNotExists.Parameter", f"Parameter {name} does not exist.")
        if params.get("WithDecryption") != "true":
            return self._error(400, "MissingWithDecryption", "the value stays encrypted without WithDecryption")
        self._note(f"OOS GetSecretParameter {name}")
        body = {"RequestId": secrets.token_hex(8),
                "Parameter": {"Name": name, "Type": "Secret", "Value": cloud.parameters[name]}}
        self._reply(200, json.dumps(body), "application/json")


    def _stop(self, params: dict[str, str]) -> None:
        if params.get("InstanceId") != self.cloud.instance_id:
            return self._error(403, "Forbidden.RAM", "User not authorized to operate on the specified resource.")
        if params.get("StoppedMode", "KeepCharging") not in {"StopCharging", "KeepCharging"}:
            return self._error(400, "InvalidParameter.StoppedMode", "The specified StoppedMode is not valid.")
        with self.cloud.lock:
            self.cloud.stops.append(params)
        self._note(f"ECS StopInstance {params['InstanceId']} {params.get('StoppedMode', 'KeepCharging')}")
        self._reply(200, json.dumps({"RequestId": secrets.token_hex(8)}), "application/json")


@dataclass
class Served:
    server: http.server.ThreadingHTTPServer

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def oss_v4_authorization(method: str, bucket: str, key: str, headers: dict[str, str], key_id: str, secret: str,
                         region: str) -> str:
    """The Authorization OSS expects for a request: the official SDK's V4 signer (alibabacloud-oss-v2) on
    the request's own headers and time (x-oss-date)."""
    from alibabacloud_oss_v2 import types
    from alibabacloud_oss_v2.signer import SignerV4

    request = types.HttpRequest(method, f"https://{bucket}.oss-{region}-internal.aliyuncs.com/{key}",
                                headers={k: v for k, v in headers.items() if k.lower() != "authorization"})
    when = datetime.datetime.strptime(headers["x-oss-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    context = types.SigningContext(product="oss", region=region, bucket=bucket, key=key, request=request,
                                   credentials=types.Credentials(key_id, secret, headers.get("x-oss-security-token")),
                                   signing_time=when)
    SignerV4().sign(context)
    return request.headers["Authorization"]


class OssHandler(_Handler):
    """PutObject on the cloud's bucket: the V4 signature recomputed with the official SDK, the role's STS
    token, the role policy's prefix (else AccessDenied), x-oss-forbid-overwrite honoured (FileAlreadyExists)."""

    def do_PUT(self) -> None:  # noqa: N802
        cloud, key = self.cloud, urllib.parse.unquote(self.path.lstrip("/"))
        headers = {k.lower() if k.lower().startswith("x-oss-") else k: v for k, v in self.headers.items()}
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        creds = cloud.credentials
        try:
            expected = oss_v4_authorization("PUT", cloud.oss_bucket, key, headers, creds.access_key_id,
                                            creds.access_key_secret, cloud.region)
        except KeyError as missing:
            return self._reply(403, f"<Code>AccessDenied</Code><Message>missing {missing}</Message>")
        if self.headers.get("Authorization") != expected:
            self._note(f"OSS PUT {key} refused: signature")
            return self._reply(403, "<Code>SignatureDoesNotMatch</Code>")
        if headers.get("x-oss-security-token") != creds.security_token:
            return self._reply(403, "<Code>InvalidSecurityToken</Code>")
        if not key.startswith(cloud.oss_writable + "/"):
            self._note(f"OSS PUT {key} refused: policy")
            return self._reply(403, "<Code>AccessDenied</Code><Message>not allowed by the role's policy</Message>")
        with cloud.lock:
            if key in cloud.objects and headers.get("x-oss-forbid-overwrite") == "true":
                return self._reply(409, "<Code>FileAlreadyExists</Code>")
            cloud.objects[key] = body
        self._note(f"OSS PUT {key} {len(body)} bytes")
        self._reply(200, "")


def serve(handler: type[_Handler], cloud: Cloud, tls: tuple[Path, Path] | None = None, port: int = 0) -> Served:
    """Serve `handler` for `cloud` on 127.0.0.1 (HTTPS with the (cert, key) given)."""
    bound = type(handler.__name__, (handler,), {"cloud": cloud})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), bound)
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(tls[0]), str(tls[1]))
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return Served(server)


def parameters_from_state(state: dict[str, Any]) -> dict[str, str]:
    """The OOS secret parameters in a Terraform state of the stub provider: name -> value."""
    found = {}
    for resource in state["resources"]:
        if resource["type"] == "alicloud_oos_secret_parameter":
            for instance in resource["instances"]:
                attributes = instance["attributes"]
                found[attributes["secret_parameter_name"]] = attributes["value"]
    return found
