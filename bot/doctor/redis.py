"""Redis: reachable, new enough, never evicting, and persistent.

What we need of it: SET ... NX GET (storage/markers.py: Redis 7.0 allowed NX with GET) and
XAUTOCLAIM (the outbox: 6.2), so 7.0 or newer. maxmemory-policy must be noeviction: an
allkeys-* policy can evict opt-outs and the consent ledger (keys without a TTL), a volatile-*
one evicts dedupe records and job markers first (keys with one), and a redelivered job could
then text someone twice. Persistence: the append-only file or RDB snapshots keep opt-outs
across a restart. A managed Redis may refuse CONFIG GET (and INFO): then what can't be seen is
said to be not visible, never a crash. On a Redis Cluster every primary is asked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError, ResponseError

from bot.doctor.report import Finding, Mark, fail, ok, warn

MIN_VERSION = (7, 0)
NEEDS = "SET NX GET needs 7.0, XAUTOCLAIM 6.2"
MANAGED = "a managed Redis's configuration page"


# ---- pure -----------------------------------------------------------------------------------


def parse_version(text: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in text.split(".")[:3])
    except ValueError:
        return None


def version_finding(server: Mapping[str, Any] | None) -> Finding:
    if server is None:
        return warn(
            "version", "not visible (INFO refused)", f"make sure it is Redis 7.0 or newer ({NEEDS})"
        )
    redis_version = str(server.get("redis_version", "?"))
    name = f"Redis {redis_version}"
    if server.get("valkey_version"):
        name = f"Valkey {server['valkey_version']} (Redis {redis_version} compatible)"
    version = parse_version(redis_version)
    if version is None:
        return warn("version", f"{name}: can't read the version", f"make sure it is 7.0+ ({NEEDS})")
    if version < MIN_VERSION:
        return fail("version", f"{name} is too old ({NEEDS})", "upgrade to Redis 7.0 or newer")
    return ok("version", name)


def policy_finding(policy: str | None) -> Finding:
    fix = f"set maxmemory-policy to noeviction (redis.conf, CONFIG SET, or {MANAGED})"
    if policy is None:
        return warn("eviction", "maxmemory-policy not visible (CONFIG GET and INFO refused)", fix)
    if policy == "noeviction":
        return ok("eviction", "maxmemory-policy noeviction: nothing is ever evicted")
    if policy.startswith("allkeys-"):
        return fail(
            "eviction",
            f"maxmemory-policy {policy}: under memory pressure Redis may evict opt-outs and the "
            "consent ledger",
            fix,
        )
    if policy.startswith("volatile-"):
        return fail(
            "eviction",
            f"maxmemory-policy {policy}: under memory pressure Redis evicts dedupe records and "
            "job markers first, and a redelivered job could then text someone twice",
            fix,
        )
    return warn("eviction", f"maxmemory-policy {policy}: unknown to the doctor", fix)


def persistence_finding(aof: bool | None, save: str | None) -> Finding:
    """aof: INFO persistence's aof_enabled; save: CONFIG GET save ("" is off)."""
    if aof:
        return ok("persistence", "append-only file on")
    if save:
        return ok(
            "persistence",
            f"RDB snapshots (save {save}); the append-only file would lose less on a crash",
        )
    fix = f"turn on the append-only file (appendonly yes in redis.conf, or {MANAGED})"
    if aof is None or save is None:
        return warn(
            "persistence",
            "not visible (CONFIG GET refused): opt-outs live only in Redis",
            f"make sure persistence is on ({MANAGED})",
        )
    return warn(
        "persistence",
        "neither the append-only file nor RDB snapshots: a restart loses every opt-out",
        fix,
    )


def merge(node_findings: Sequence[tuple[str, Finding]]) -> list[Finding]:
    """One finding when every node says the same; else one per node, named, worst first."""
    if not node_findings:
        return []
    first = node_findings[0][1]
    if len(node_findings) == 1:
        return [first]
    if len({(f.mark, f.found) for _, f in node_findings}) == 1:
        found = f"{first.found} (all {len(node_findings)} primaries)"
        return [Finding(first.mark, first.subject, found, first.fix)]
    order = {Mark.FAIL: 0, Mark.WARN: 1, Mark.INFO: 2, Mark.OK: 3}
    ranked = sorted(node_findings, key=lambda pair: order[pair[1].mark])
    return [Finding(f.mark, f"{f.subject} ({node})", f.found, f.fix) for node, f in ranked]


# ---- I/O ------------------------------------------------------------------------------------


async def _per_node(redis: Redis, method: str, *args: Any) -> list[tuple[str, Any]]:
    """(node, answer) from the one server, or from every primary of a cluster; an answer is
    None where the server refused the command (a managed Redis refusing CONFIG)."""
    try:
        if isinstance(redis, RedisCluster):
            answers = await getattr(redis, method)(*args, target_nodes=RedisCluster.PRIMARIES)
            if isinstance(answers, dict) and all(":" in str(k) for k in answers):
                return [(str(node), answer) for node, answer in answers.items()]
            return [("", answers)]
        return [("", await getattr(redis, method)(*args))]
    except ResponseError:
        return [("", None)]


async def check(redis: Redis, where: str, found: list[Finding]) -> None:
    try:
        await redis.ping()
    except (RedisError, OSError) as exc:
        found.append(
            fail(
                "reachable",
                f"can't reach {where} ({type(exc).__name__}: {exc})",
                "check REDIS_URL (host, port, password; rediss:// for TLS) and the firewall",
            )
        )
        return
    found.append(ok("reachable", where))
    servers = await _per_node(redis, "info", "server")
    found.extend(merge([(node, version_finding(answer)) for node, answer in servers]))
    nodes = [node for node, _ in servers]
    memory = dict(await _per_node(redis, "info", "memory"))
    policies = dict(await _per_node(redis, "config_get", "maxmemory-policy"))
    persistence = dict(await _per_node(redis, "info", "persistence"))
    saves = dict(await _per_node(redis, "config_get", "save"))

    def field(answers: dict[str, Any], node: str, name: str) -> Any:
        """The node's answer's field; a refused command answered None for every node."""
        answer = answers.get(node, answers.get(""))
        return answer.get(name) if isinstance(answer, dict) else None

    judged_policy, judged_persistence = [], []
    for node in nodes:
        # CONFIG refused: INFO memory names the policy too.
        policy = field(policies, node, "maxmemory-policy") or field(
            memory, node, "maxmemory_policy"
        )
        judged_policy.append((node, policy_finding(policy)))
        aof = field(persistence, node, "aof_enabled")
        save = field(saves, node, "save")
        judged_persistence.append(
            (node, persistence_finding(None if aof is None else bool(int(aof)), save))
        )
    found.extend(merge(judged_policy))
    found.extend(merge(judged_persistence))
