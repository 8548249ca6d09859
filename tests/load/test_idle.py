"""Idle Redis commands are told apart by process: each client port maps to its socket's owner."""

from __future__ import annotations

import os
import socket

from tests.load.idle import (
    TcpSocket,
    parse_tcp_table,
    ports_by_process,
    rates_by_process,
    read_ports_by_process,
)
from tests.load.run import Figures, LoadConfig, table

# /proc/<pid>/net/tcp: 127.0.0.1:52000 -> 127.0.0.1:6379 (inode 111), :52001 -> :6379 (222),
# a listener on :3000 (333), and :52002 -> :8080, not Redis (444).
TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:CB20 0100007F:18EB 01 00000000:00000000 00:00000000 00000000     0        0 111 1 0
   1: 0100007F:CB21 0100007F:18EB 01 00000000:00000000 00:00000000 00000000     0        0 222 1 0
   2: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 333 1 0
   3: 0100007F:CB22 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 444 1 0
"""


def test_the_tcp_table_gives_ports_and_inodes() -> None:
    assert parse_tcp_table(TCP)[0] == TcpSocket(local_port=52000, remote_port=6379, inode=111)
    assert len(parse_tcp_table(TCP)) == 4


def test_each_redis_client_port_maps_to_the_process_holding_its_socket() -> None:
    fds = {
        "web": ["/dev/null", "socket:[111]", "socket:[333]", "pipe:[9]"],
        "worker": ["socket:[222]", "socket:[444]"],
    }
    assert ports_by_process(parse_tcp_table(TCP), fds, 6379) == {52000: "web", 52001: "worker"}


def test_a_live_connection_maps_to_this_process() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname()) as client:
            client_port = client.getsockname()[1]
            ports = read_ports_by_process({"me": os.getpid()}, server.getsockname()[1])
    assert ports == {client_port: "me"}


def test_rates_count_only_the_named_processes_per_second() -> None:
    seen = [(52000, "XREADGROUP"), (52000, "XREADGROUP"), (52001, "EVALSHA"), (50000, "GET")]
    rates = rates_by_process(seen, {52000: "web", 52001: "worker"}, seconds=2)
    assert rates == {"web": {"XREADGROUP": 1.0}, "worker": {"EVALSHA": 0.5}}


def test_the_table_calls_it_idle_only_when_no_jobs_are_left() -> None:
    config = LoadConfig(rate=1, seconds=1)
    idle = Figures(idle_commands={"web": {"EVALSHA": 1.0}})
    busy = Figures(idle_commands={"web": {"EVALSHA": 1.3}}, outbox_left={"slack.update": 7})
    assert "web: idle Redis commands/s" in table(idle, config)
    assert "web: Redis commands/s after the load, 7 jobs queued" in table(busy, config)
    assert "idle Redis" not in table(busy, config)
