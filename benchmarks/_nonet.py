"""Refuse every non-loopback connection and DNS look-up in this process, and count attempts.

Installed in every worker and kernel that runs CodeCarbon or jupyter-carbon, so that neither can
reach the network during a benchmark (CodeCarbon runs offline; jupyter-carbon promises no network
I/O unless a live provider is configured). ``attempts`` lists what was refused.
"""
from __future__ import annotations

import ipaddress
import socket

attempts: list[str] = []
_installed = False
_LOCAL_NAMES = {"localhost", "ip6-localhost", "ip6-loopback", ""}


def _is_local_host(host) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).strip("[]")
    if host in _LOCAL_NAMES:
        return True
    try:
        ip = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return ip.is_loopback or ip.is_unspecified


def _check(family, address) -> None:
    if family == getattr(socket, "AF_UNIX", object()) or not isinstance(address, tuple):
        return
    if not _is_local_host(address[0]):
        attempts.append(f"connect {address[0]}:{address[1] if len(address) > 1 else ''}")
        raise OSError(101, "network disabled by the benchmark harness")


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    orig_connect, orig_connect_ex = socket.socket.connect, socket.socket.connect_ex
    orig_getaddrinfo = socket.getaddrinfo

    def connect(self, address):
        _check(self.family, address)
        return orig_connect(self, address)

    def connect_ex(self, address):
        _check(self.family, address)
        return orig_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if not _is_local_host(host):
            attempts.append(f"dns {host}")
            raise socket.gaierror(socket.EAI_NONAME, "network disabled by the benchmark harness")
        return orig_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.getaddrinfo = getaddrinfo
