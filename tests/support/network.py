"""A TCP server for the tests that check grading kernels have no network: what they must not reach."""

import socket
from collections.abc import Iterator
from contextlib import contextmanager

import psutil

# Run in a grading kernel: prints, as JSON, its network interfaces and how trying to reach each
# address ended ("connected" or the error's name).
REACH = """
import json, socket
def reach(address):
    try:
        socket.create_connection(address, timeout=5).close()
        return "connected"
    except OSError as error:
        return type(error).__name__
print(json.dumps([sorted(name for _, name in socket.if_nameindex()), [reach(a) for a in {addresses!r}]]))
"""


def machine_addresses() -> list[str]:
    """127.0.0.1 and this machine's other IPv4 addresses (a service may listen on any of them)."""
    found = {a.address for addrs in psutil.net_if_addrs().values() for a in addrs if a.family == socket.AF_INET}
    return ["127.0.0.1", *sorted(found - {"127.0.0.1"})]


@contextmanager
def listening() -> Iterator[list[tuple[str, int]]]:
    """A server accepting TCP connections on every IPv4 address of the machine; yields its addresses.

    Checked from the test's own process first, so that a kernel failing to connect proves the
    kernel's isolation, not a server that was never reachable.
    """
    with socket.create_server(("0.0.0.0", 0), backlog=16) as server:
        port = server.getsockname()[1]
        addresses = [(host, port) for host in machine_addresses()]
        for address in addresses:
            socket.create_connection(address, timeout=5).close()
        yield addresses
