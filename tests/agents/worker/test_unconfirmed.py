"""The worker's bound on unacknowledged data: a slow broker makes it wait, not grow."""
import asyncio

from agents.worker.unconfirmed import Unconfirmed


async def test_waits_for_the_oldest_batch_only_while_over_the_limit():
    loop = asyncio.get_running_loop()
    unconfirmed = Unconfirmed(max_bytes=100)
    first, second = loop.create_future(), loop.create_future()
    unconfirmed.add(first, 60)
    await asyncio.wait_for(unconfirmed.settle(), 1)  # under the limit: returns with the batch still in flight
    unconfirmed.add(second, 60)
    settling = asyncio.ensure_future(unconfirmed.settle())
    await asyncio.sleep(0)
    assert not settling.done() and unconfirmed.bytes == 120
    first.set_result(None)
    await asyncio.wait_for(settling, 1)
    assert unconfirmed.bytes == 60 and list(unconfirmed.batches) == [(second, 60)]


async def test_forgets_confirmed_batches_without_waiting():
    loop = asyncio.get_running_loop()
    unconfirmed = Unconfirmed(max_bytes=10**9)
    done = loop.create_future()
    done.set_result(None)
    unconfirmed.add(done, 5)
    await unconfirmed.settle()
    assert unconfirmed.bytes == 0 and not unconfirmed.batches
