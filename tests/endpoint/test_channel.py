"""The pool's end of a forked worker's socket (sparql_api.workers._Channel), over a real
socket pair with the test as the worker: what each way a reply can end becomes."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from sparql_api.workers import OversizedReply, _Channel, _NotTaken
from sparql_api.workers_child import RESULT, encode_reply


async def _with_channel(scenario: Callable[[_Channel, socket.socket], Awaitable[Any]]) -> Any:
    ours, theirs = socket.socketpair()
    _, channel = await asyncio.get_running_loop().create_unix_connection(_Channel, sock=ours)
    try:
        return await scenario(channel, theirs)
    finally:
        channel.close()
        theirs.close()


def test_a_reply_in_pieces_is_handed_over_whole() -> None:
    frame = encode_reply(RESULT, b"x" * 10_000, 0, 7, taken=True)

    async def scenario(channel: _Channel, worker: socket.socket) -> tuple[bytes, bytes]:
        pending = asyncio.ensure_future(channel.reply(max_body=20_000))
        for start in range(0, len(frame), 999):  # the bytes arrive in many reads
            worker.send(frame[start : start + 999])
            await asyncio.sleep(0.001)
        return await asyncio.wait_for(pending, 5)

    head, body = asyncio.run(_with_channel(scenario))
    assert head + body == frame


def test_two_replies_in_one_read_go_to_two_jobs() -> None:
    one, two = (encode_reply(RESULT, b, 0, 1, taken=True) for b in (b"one", b"two"))

    async def scenario(channel: _Channel, worker: socket.socket) -> list[bytes]:
        worker.send(one + two)
        await asyncio.sleep(0.05)
        return [(await channel.reply())[1], (await channel.reply())[1]]

    assert asyncio.run(_with_channel(scenario)) == [b"one", b"two"]


def test_an_oversized_reply_is_refused_unread() -> None:
    async def scenario(channel: _Channel, worker: socket.socket) -> None:
        worker.send(struct.pack(">BBIQ", 0, RESULT, 1, 1 << 40))
        await channel.reply(max_body=1024)

    with pytest.raises(OversizedReply):
        asyncio.run(_with_channel(scenario))


def test_the_deadline_ends_the_wait() -> None:
    async def scenario(channel: _Channel, worker: socket.socket) -> None:
        await channel.reply(deadline=asyncio.get_running_loop().time() + 0.05)

    with pytest.raises(TimeoutError):
        asyncio.run(_with_channel(scenario))


def test_an_end_of_file_mid_reply_is_a_death_on_the_job() -> None:
    async def scenario(channel: _Channel, worker: socket.socket) -> None:
        worker.send(encode_reply(RESULT, b"x" * 100, 0, 1, taken=True)[:50])
        worker.shutdown(socket.SHUT_WR)
        await channel.reply()

    with pytest.raises(asyncio.IncompleteReadError) as caught:
        asyncio.run(_with_channel(scenario))
    assert len(caught.value.partial) == 50


def test_a_worker_gone_with_the_job_unread_ran_nothing() -> None:
    """A Unix socket closed with unread data resets its peer: the job was never read."""

    async def scenario(channel: _Channel, worker: socket.socket) -> None:
        await channel.send(b"a job nobody reads")
        await asyncio.sleep(0.05)
        worker.close()  # with the job unread in it
        await channel.reply()

    with pytest.raises(_NotTaken):
        asyncio.run(_with_channel(scenario))


def test_a_closed_socket_takes_no_job() -> None:
    async def scenario(channel: _Channel, worker: socket.socket) -> None:
        worker.close()
        await asyncio.sleep(0.05)
        await channel.send(b"a job")

    with pytest.raises(ConnectionError):
        asyncio.run(_with_channel(scenario))


def test_a_job_larger_than_the_socket_is_sent_once_the_kernel_holds_it() -> None:
    """No write buffer: ``send`` returns only when every byte is in the kernel, so a
    worker that dies afterwards had read the job or had not (never "part still with us")."""
    job = b"j" * (8 * 1024 * 1024)

    async def scenario(channel: _Channel, worker: socket.socket) -> tuple[bool, int]:
        loop = asyncio.get_running_loop()
        sending = asyncio.ensure_future(channel.send(job))
        await asyncio.sleep(0.1)
        waited = not sending.done()  # the kernel cannot hold 8 MiB: it waits
        worker.setblocking(False)
        got = 0
        while got < len(job):
            got += len(await loop.sock_recv(worker, 1 << 20))
        await asyncio.wait_for(sending, 5)
        return waited, got

    assert asyncio.run(_with_channel(scenario)) == (True, len(job))


def test_a_job_given_up_mid_reply_leaves_nothing_waiting() -> None:
    frame = encode_reply(RESULT, b"x" * 100, 0, 1, taken=True)

    async def scenario(channel: _Channel, worker: socket.socket) -> tuple[bytes, bytes]:
        waiting = asyncio.ensure_future(channel.reply())
        worker.send(frame[:30])
        await asyncio.sleep(0.02)
        waiting.cancel()  # the client left: the pool kills this worker
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert channel._reply is None
        worker.send(frame[30:])  # what still comes is kept, never handed to anyone gone
        await asyncio.sleep(0.02)
        return await asyncio.wait_for(channel.reply(), 5)

    head, body = asyncio.run(_with_channel(scenario))
    assert head + body == frame


def test_bytes_nobody_asked_for_stop_the_reading() -> None:
    """A worker out of step (bytes with no job waiting) is not read without end: past
    UNASKED_BYTES the socket is not read until a job asks."""
    from sparql_api.workers import UNASKED_BYTES

    async def scenario(channel: _Channel, worker: socket.socket) -> tuple[bool, bool]:
        worker.setblocking(False)
        blob = b"z" * (UNASKED_BYTES + 65536)
        sent = 0
        for _ in range(200):
            try:
                sent += worker.send(blob[sent:])
            except BlockingIOError:
                pass
            await asyncio.sleep(0.01)
            if sent == len(blob):
                break
        assert channel.transport is not None
        paused = not channel.transport.is_reading()  # type: ignore[attr-defined]
        asking = asyncio.ensure_future(channel.reply(deadline=asyncio.get_running_loop().time()))
        with pytest.raises((TimeoutError, ConnectionError)):
            await asking  # (what it finds is no frame of ours: refused)
        return paused, len(channel._buffer) <= UNASKED_BYTES + (1 << 20)

    paused, bounded = asyncio.run(_with_channel(scenario))
    assert paused and bounded
