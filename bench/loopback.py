"""What the benchmarks share: a free loopback port and the nginx target they measure against.

The benchmarks run as scripts (``python bench/daemon.py``), so their own folder is on
``sys.path`` and they import this module as ``loopback``.
"""

from __future__ import annotations

import socket
from pathlib import Path

NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/{error_log} warn;
events {{ worker_connections {connections}; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{ return 200 "ok\\n"; }}
    }}
}}
"""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def nginx_conf(directory: str | Path, port: int, *, connections: int = 4096,
               error_log: str = "error.log") -> str:
    """nginx answering ``200 ok`` on 127.0.0.1:``port``, every path under ``directory``."""
    return NGINX_CONF.format(dir=directory, port=port, connections=connections,
                             error_log=error_log)
