"""The ingress's policy and the nginx configuration that carries it out.

Production puts the platform behind an ingress that terminates TLS, holds the slow-client and
body-size shields and stamps request ids; the reference stack does the same with Debian's nginx
(``service/stack/ingress.py`` runs it). ``IngressPolicy`` is what the ingress must do, with the
values derived from the stack's own service policy (``policy_from_env``: the header deadline and
body limit the API enforces are the ones the edge enforces), and ``render`` turns it into one
self-contained ``nginx.conf`` whose every path lies in the stack's directory. Self-tests break
the ingress through the policy (``StackOptions.ingress_overrides``), the way an operator's
configuration goes wrong: response buffering on for the stream, the header timeout left at
nginx's 60 s, the client's request id dropped, the scheme not forwarded (so no HSTS).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from service.settings import Settings

# Where nginx connects to the API from. Loopback has all of 127/8, so the ingress gets an address
# of its own and the API trusts X-Forwarded-* from that address only: a local client that talks
# to the API directly (from 127.0.0.1) cannot pass a forged X-Forwarded-For as its address.
INGRESS_SOURCE_ADDRESS = "127.0.0.2"
# Mozilla's "intermediate" TLS 1.2 suites (TLS 1.3 suites are OpenSSL's and all strong): forward
# secrecy and AEAD only, so the weak-cipher probes of protection.tls are refused.
TLS12_CIPHERS = ":".join(
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
    )
)
# Where nginx's own 400 answer is rendered (internal: no client can ask for it).
BAD_REQUEST_PAGE = "/.ingress/400.json"
# The route whose answer may be an SSE stream: relayed as it comes, never collected first.
STREAM_ROUTE = "/v1/chat/completions"


class IngressPolicy(BaseModel):
    """What the ingress enforces; every field can be overridden (``--ingress-set NAME=VALUE``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    client_header_timeout_s: float = Field(
        gt=0, description="request line and headers complete within this (slowloris shield)"
    )
    client_max_body_bytes: int = Field(ge=0, description="larger bodies get 413 at the edge")
    client_body_timeout_s: float = Field(
        default=10.0, gt=0, description="longest pause between two reads of a request body"
    )
    send_timeout_s: float = Field(
        default=10.0, gt=0, description="longest pause between two writes to a client that reads"
    )
    keepalive_timeout_s: float = Field(
        default=5.0, ge=0, description="an idle client connection is closed after this"
    )
    # Below the API's idle timeout (service/stack/api.py KEEP_ALIVE_S): nginx drops an idle
    # upstream connection before the API would, so it never sends a request into a connection
    # the API is closing (a POST there would fail, and nginx does not retry a POST).
    upstream_keepalive_timeout_s: float = Field(
        default=4.0, gt=0, description="idle connections to the API are kept this long"
    )
    upstream_keepalive_connections: int = Field(
        default=64, ge=0, description="idle connections to the API kept per nginx worker"
    )
    upstream_read_timeout_s: float = Field(
        default=90.0,
        gt=0,
        description="longest silence from the API (above the gateway's 60 s read timeout)",
    )
    max_head_bytes: int = Field(
        default=16384, ge=1024, description="largest request header line (the API's head cap)"
    )
    worker_connections: int = Field(
        default=4096, ge=64, description="connections per worker, client and upstream sides"
    )
    stream_buffering: bool = Field(
        default=False,
        description="buffer the chat route's answers whatever the API's X-Accel-Buffering says,"
        " as a load balancer that knows no such header does (breaks streaming: off)",
    )
    forward_request_id: bool = Field(
        default=True,
        description="pass the client's X-Request-ID (valid ones) or one of nginx's to the API,"
        " and return it",
    )
    forwarded_proto: bool = Field(
        default=True,
        description="tell the API the client's scheme (X-Forwarded-Proto): its HSTS depends on it",
    )


def policy_from_env(env: Mapping[str, str], overrides: Mapping[str, str]) -> IngressPolicy:
    """The ingress policy of a stack whose service gets ``env``, with ``overrides`` applied.

    The edge enforces the service's own header deadline and body limit (a misconfigured service
    setting is then also the ingress's, as one policy would be deployed to both).
    """
    fields = Settings.model_fields
    derived: dict[str, object] = {
        "client_header_timeout_s": env.get(
            "PLATFORM_HTTP_HEADER_TIMEOUT_S", fields["http_header_timeout_s"].default
        ),
        "client_max_body_bytes": env.get(
            "PLATFORM_MAX_BODY_BYTES", fields["max_body_bytes"].default
        ),
    }
    return IngressPolicy.model_validate({**derived, **overrides})


@dataclass(frozen=True)
class IngressPaths:
    """Where one nginx keeps its things, all under the stack's directory."""

    directory: Path
    cert_file: Path
    key_file: Path
    access_log: Path
    error_log: Path

    @property
    def config(self) -> Path:
        return self.directory / "nginx.conf"

    @property
    def pid_file(self) -> Path:
        return self.directory / "nginx.pid"


def _ms(seconds: float) -> str:
    return f"{max(1, round(seconds * 1000))}ms"


def _json_error(status: int, kind: str, code: str, message: str) -> str:
    """A ``return`` of the API's error shape, for answers nginx gives itself."""
    body = (
        f'{{"error": {{"message": "{message}", "type": "{kind}", "code": "{code}", '
        f'"param": null, "request_id": "$preflight_request_id"}}}}'
    )
    return f"default_type application/json; return {status} '{body}';"


def _request_id(policy: IngressPolicy) -> str:
    if not policy.forward_request_id:
        return 'proxy_set_header X-Request-ID "";'
    # nginx's copy is the one returned, so its own answers (413, 502) carry the id too.
    return (
        "proxy_set_header X-Request-ID $preflight_request_id;\n"
        "        proxy_hide_header X-Request-ID;\n"
        "        add_header X-Request-ID $preflight_request_id always;"
    )


def render(
    policy: IngressPolicy,
    paths: IngressPaths,
    *,
    port: int,
    upstreams: list[str],
    run_as: str | None,
) -> str:
    """``nginx.conf`` for nginx on 127.0.0.1:``port`` in front of the API at ``upstreams``
    (host:port each). ``run_as``: the worker processes' user when nginx starts as root (the
    stack's directory is private to its owner; nginx would otherwise drop to ``nobody``)."""
    servers = "\n".join(f"        server {address};" for address in upstreams)
    temp = paths.directory / "temp"
    user = f"user {run_as};\n" if run_as else ""
    proto = "proxy_set_header X-Forwarded-Proto $scheme;" if policy.forwarded_proto else ""
    body_limit = policy.client_max_body_bytes
    too_large = _json_error(
        413,
        "invalid_request_error",
        "body_too_large",
        f"request body larger than {body_limit} bytes",
    )
    malformed = _json_error(400, "invalid_request_error", "bad_request", "malformed request")
    bad_gateway = _json_error(502, "server_error", "bad_gateway", "the API did not answer")
    late = _json_error(504, "server_error", "gateway_timeout", "the API answered too late")
    buffering = "on; proxy_ignore_headers X-Accel-Buffering" if policy.stream_buffering else "off"
    return f"""# Written by service/stack/ingress_config.py at every boot; edits are lost.
{user}daemon off;
master_process on;
worker_processes 1;
pid {paths.pid_file};
error_log {paths.error_log} warn;
events {{
    worker_connections {policy.worker_connections};
}}
http {{
    server_tokens off;
    # No URI, query or header a client controls (personal data): the path is in the API's
    # access record, found by the request id.
    log_format preflight escape=json '{{"ts": "$time_iso8601", "level": "INFO", '
        '"logger": "ingress.access", "message": "request", '
        '"request_id": "$preflight_request_id", "client_ip": "$remote_addr", '
        '"method": "$request_method", "status": $status, "bytes": $body_bytes_sent, '
        '"request_time_s": $request_time, "upstream": "$upstream_addr", '
        '"upstream_status": "$upstream_status", "upstream_time_s": "$upstream_response_time"}}';
    access_log {paths.access_log} preflight;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;

    client_header_timeout {_ms(policy.client_header_timeout_s)};
    client_body_timeout {_ms(policy.client_body_timeout_s)};
    send_timeout {_ms(policy.send_timeout_s)};
    keepalive_timeout {_ms(policy.keepalive_timeout_s)};
    client_max_body_size {body_limit};
    large_client_header_buffers 4 {policy.max_head_bytes};

    # The client's id when it is one the API accepts, else nginx's own (32 hex digits).
    map $http_x_request_id $preflight_request_id {{
        "~^[A-Za-z0-9._-]{{1,128}}$" $http_x_request_id;
        default $request_id;
    }}

    upstream platform_api {{
{servers}
        keepalive {policy.upstream_keepalive_connections};
        keepalive_timeout {_ms(policy.upstream_keepalive_timeout_s)};
        keepalive_requests 100000;
    }}

    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {paths.cert_file};
        ssl_certificate_key {paths.key_file};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers {TLS12_CIPHERS};
        ssl_prefer_server_ciphers off;
        ssl_session_cache shared:preflight_tls:1m;
        # Plain HTTP sent to this port: a redirect to HTTPS, not nginx's 400 page.
        error_page 497 =301 https://$host:$server_port$request_uri;
        # nginx's own refusals in the API's error shape: a path climbing above the root (400,
        # before any API process sees it), a body over the limit, an API that does not answer.
        # (a URI, not a named location: nginx cannot hand a request without one to the latter)
        error_page 400 {BAD_REQUEST_PAGE};
        error_page 413 @body_too_large;
        error_page 502 @bad_gateway;
        error_page 504 @gateway_timeout;

        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $http_host;
        # The edge trusts nothing a client says about its address.
        proxy_set_header X-Forwarded-For $remote_addr;
        {proto}
        {_request_id(policy)}
        proxy_bind {INGRESS_SOURCE_ADDRESS};
        proxy_connect_timeout 2s;
        proxy_send_timeout {_ms(policy.send_timeout_s)};
        proxy_read_timeout {_ms(policy.upstream_read_timeout_s)};

        location / {{
            proxy_pass http://platform_api;
        }}
        location = {STREAM_ROUTE} {{
            proxy_pass http://platform_api;
            proxy_buffering {buffering};
        }}
        location = {BAD_REQUEST_PAGE} {{
            internal;
            {malformed}
        }}
        location @body_too_large {{
            {too_large}
        }}
        location @bad_gateway {{
            {bad_gateway}
        }}
        location @gateway_timeout {{
            {late}
        }}
    }}
}}
"""
