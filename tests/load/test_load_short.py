"""A short load run in the suite: real processes, 10 s of missed calls and replies.

No timing assertion (speed is printed by `python -m tests.load`); only that nothing was lost or
sent twice under load.
"""

from __future__ import annotations

from tests.load.run import LoadConfig, run, table


async def test_ten_seconds_of_load_loses_nothing_and_duplicates_nothing(
    redis_url: str, clean_env: None
) -> None:
    # On the product's defaults, in the Procfile's shape; a short idle watch covers its code.
    config = LoadConfig(
        rate=20, seconds=10, replies=True, redis_url=redis_url, drain_timeout=120, idle_seconds=2
    )
    figures = await run(config, progress=lambda line: None)
    print(table(figures, config))
    assert figures.calls == 200
    assert figures.replies == 200
    assert figures.lost == 0
    assert figures.duplicated == 0
