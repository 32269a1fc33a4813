"""Run one async test scenario to completion from a synchronous test."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def run(scenario: Callable[[], Awaitable[T]], timeout: float = 60.0) -> T:
    """Run one async scenario with an overall bound, naming it when it gives up.

    The loop runs in a thread of its own: once pytest-playwright's sync driver has started
    in this process (another test module of the same xdist worker), the main thread counts
    as inside a running event loop and `asyncio.run` there is refused.
    """
    async def bounded() -> T:
        try:
            return await asyncio.wait_for(scenario(), timeout)
        except TimeoutError:
            raise TimeoutError(f"scenario {scenario.__name__} not done in {timeout} s") from None

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="scenario") as pool:
        return pool.submit(asyncio.run, bounded()).result()
