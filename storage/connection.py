"""Builds the Redis client from REDIS_URL: one server, or a Redis Cluster.

`redis+cluster://host:port` (or `rediss+cluster://` for TLS) names any node of a cluster; the
client learns the others from it. Everything else is a single server (or a proxy in front of
one). The storage code is the same for both: every multi-key script and transaction touches one
hash slot (see storage/keys.py).
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Any, cast

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterPipeline, RedisCluster

CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


class _Cluster(RedisCluster):
    """RedisCluster that learns the cluster's layout before its first command goes out.

    redis-py 8.1 initialises a cluster client lazily, and a burst of first commands from many
    tasks at once (a worker starting up, a webhook burst) fails about one time in three with
    AttributeError: 'NoneType' object has no attribute 'writelines' (reproduced with 40
    concurrent INCRs on a fresh client). Initialising first, under the client's own lock, does
    not; initialize() returns at once when it is done already. Not done at startup: a process
    that starts while Redis is down must still come up and answer /healthz.

    Its own turns, too: redis-py keeps up to `max_connections` per node and fails a command
    that finds none free (MaxConnectionsError), which under a burst of jobs left a text's
    marker half-written. A command or a pipeline holds at most one connection per node, so
    with at most `max_connections` of them in flight none can fail so: one waits its turn, as
    on a single server's blocking pool.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.turns = asyncio.Semaphore(options["max_connections"])  # connect() always sets it

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        async with _turn(self.turns):
            await self.initialize()
            return await super().execute_command(*args, **kwargs)

    def pipeline(self, transaction: Any | None = None, shard_hint: Any | None = None) -> Any:
        if shard_hint:
            return super().pipeline(transaction, shard_hint)  # refused as redis-py refuses it
        return _Pipeline(self, transaction)  # type: ignore[abstract]  # as redis-py builds one


class _Pipeline(ClusterPipeline):
    async def execute(self, raise_on_error: bool = True, allow_redirections: bool = True) -> Any:
        cluster = cast(_Cluster, self.cluster_client)
        async with _turn(cluster.turns):
            return await super().execute(raise_on_error, allow_redirections)


# Set while a task holds a turn: a pipeline's redirected command runs within its turn, not
# waiting for a second one (which a full house of pipelines would never get).
_holding: ContextVar[bool] = ContextVar("holding_a_redis_turn", default=False)


class _turn:
    def __init__(self, turns: asyncio.Semaphore) -> None:
        self.turns = turns
        self.taken = False

    async def __aenter__(self) -> None:
        if not _holding.get():
            await self.turns.acquire()
            self.taken = True
            self.token = _holding.set(True)

    async def __aexit__(self, *exc: object) -> None:
        if self.taken:
            _holding.reset(self.token)
            self.turns.release()


def is_cluster(url: str) -> bool:
    return url.split("://", 1)[0].lower() in CLUSTER_SCHEMES


def plain_url(url: str) -> str:
    """The URL redis-py understands: the +cluster marker taken off the scheme."""
    scheme, rest = url.split("://", 1)
    return f"{CLUSTER_SCHEMES.get(scheme.lower(), scheme)}://{rest}"


def connect(
    url: str, *, max_connections: int = 64, read_block_ms: int = 0, **options: Any
) -> Redis:
    """A client for `url`, responses decoded. Typed as Redis: RedisCluster has the same command
    methods, and storage/ only uses those that work on both.

    Single server: a blocking pool, so under a burst a job waits for a free connection instead
    of failing with "Too many connections". Cluster: redis-py keeps a pool per node, up to
    `max_connections` each, and would fail a command finding none free; at most
    `max_connections` commands and pipelines in flight (_Cluster's turns) keep each node's
    pool from running out, so there too a command waits instead.
    """
    if is_cluster(url):
        cluster = _Cluster.from_url(
            plain_url(url),
            max_connections=max_connections,
            decode_responses=True,
            health_check_interval=15,
            socket_connect_timeout=5,
            # Above a worker's blocking read, so an idle XREADGROUP is not taken for a dead node.
            socket_timeout=5 + read_block_ms / 1000,
            **options,
        )
        return cast(Redis, cluster)
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=10,
        decode_responses=True,
        health_check_interval=15,
        socket_connect_timeout=5,
        # redis-py's default is 5 s: a worker's blocking read (10 s) would time out, and be
        # sent again on a new connection, every 5 s. Above the read's block instead.
        socket_timeout=5 + read_block_ms / 1000,
        retry_on_timeout=True,
        **options,
    )
    return Redis.from_pool(pool)  # owns the pool: aclose() closes its connections
