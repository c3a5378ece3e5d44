"""Local servers for the scripts (demo and benchmarks): a free 127.0.0.1 port, waiting until
something listens on it, and moto_server started on one. Only 127.0.0.1 is used."""

import os
import socket
import subprocess
import sys
import time


def free_port():
    """A port nothing listens on now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, seconds=30.0):
    """Returns once 127.0.0.1:port accepts a connection; exits with a message after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"nothing listening on 127.0.0.1:{port} after {seconds:.0f} s")


def start_moto():
    """Starts $MOTO_SERVER (set by scripts/lib.sh) on a free port and waits for it. Returns the
    process (the caller terminates it) and the port."""
    port = free_port()
    moto = subprocess.Popen([os.environ["MOTO_SERVER"], "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
    except SystemExit:
        moto.terminate()
        raise
    return moto, port
