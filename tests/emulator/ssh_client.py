"""The paramiko client side of the SSH tests (psh and lab controller), as the harness uses it."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import paramiko

HOST = "127.0.0.1"


def ssh_connect(port: int, username: str, password: str) -> paramiko.SSHClient:
    """Log in with a password over a TCP_NODELAY socket (about 6 ms instead of 60 per exec)."""
    sock = socket.create_connection((HOST, port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # a fresh test key each run
    client.connect(HOST, port, username=username, password=password, sock=sock, timeout=10,
                   banner_timeout=10, auth_timeout=10, look_for_keys=False, allow_agent=False)
    return client


@dataclass
class ExecResult:
    status: int
    stdout: str
    stderr: str


def ssh_exec(client: paramiko.SSHClient, command: str, timeout: float) -> ExecResult:
    """One exec request on a logged-in client, which is closed afterwards."""
    try:
        _, stdout, stderr = client.exec_command(command, timeout=timeout)
        out = stdout.read().decode()
        err = stderr.read().decode()
        return ExecResult(stdout.channel.recv_exit_status(), out, err)
    finally:
        client.close()
