"""The delivery client's HTTP/1.1 transport against scripted servers on 127.0.0.1.

Each server reads a request as a platform would and answers with exactly the bytes the test
gives (or closes, or stays silent), so framing, reuse and every failure are the real ones.
"""

from __future__ import annotations

import asyncio
import gzip
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from channels._http import NOT_SENT
from syndicator.delivery.http import Http11Transport, delivery_client

pytestmark = pytest.mark.integration

Reply = Callable[["Seen", asyncio.StreamWriter], Awaitable[None]]
Runner = Callable[[Awaitable[object]], object]


@dataclass
class Seen:
    """What the server read: one request."""

    head: bytes
    body: bytes
    connection: int


@dataclass
class Script:
    replies: list[Reply]
    seen: list[Seen] = field(default_factory=list)
    connections: int = 0
    url: str = ""


async def _read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").lower().split("\r\n")
    length = next((int(x.split(":", 1)[1]) for x in lines if x.startswith("content-length:")), 0)
    if any(x.startswith("transfer-encoding:") and "chunked" in x for x in lines):
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return head, body
            body += chunk[:-2]
    return head, await reader.readexactly(length)


@asynccontextmanager
async def serving(*replies: Reply, tls: ssl.SSLContext | None = None) -> AsyncIterator[Script]:
    """A server answering its n-th request with ``replies[n]``, on any connection."""
    script = Script(list(replies))

    writers: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        script.connections += 1
        number = script.connections
        try:
            while True:
                try:
                    head, body = await _read_request(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                seen = Seen(head, body, number)
                script.seen.append(seen)
                await script.replies[len(script.seen) - 1](seen, writer)
                if writer.is_closing():
                    return
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    script.url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    async with server:
        yield script
        server.close()
        for writer in writers:  # connections still kept alive: closed before the loop ends
            writer.close()
        await asyncio.sleep(0.01)


def answer(status: int = 200, body: bytes = b'{"ok":true}', *, extra: bytes = b"") -> Reply:
    async def reply(seen: Seen, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s"
            % (status, len(body), extra, body)
        )
        await writer.drain()

    return reply


def raw(data: bytes, *, close: bool = False, pause: float = 0.0) -> Reply:
    async def reply(seen: Seen, writer: asyncio.StreamWriter) -> None:
        if pause:
            await asyncio.sleep(pause)
        writer.write(data)
        await writer.drain()
        if close:
            writer.close()

    return reply


async def hang_up(seen: Seen, writer: asyncio.StreamWriter) -> None:
    """Read the request, answer nothing, close: the platform may have acted on it."""
    writer.close()


def silent(seconds: float) -> Reply:
    async def reply(seen: Seen, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(seconds)

    return reply


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Callable[[Awaitable[object]], object]:
    """Runs a test's coroutine on asyncio's own loop and on uvloop (the services' loop)."""

    def runner(coro: Awaitable[object]) -> object:
        async def main() -> object:
            return await coro

        if request.param == "uvloop":
            import uvloop

            return uvloop.run(main())
        return asyncio.run(main())

    return runner


# -- what a delivery relies on -------------------------------------------------------------


def test_requests_reuse_one_connection_and_arrive_intact(run: Runner) -> None:
    async def go() -> None:
        async with (
            serving(answer(body=b'{"id":"a"}'), answer(201, b'{"id":"b"}'), answer()) as srv,
            delivery_client(timeout=5) as client,
        ):
            first = await client.post(
                srv.url + "/hook?x=1", content="正文".encode(), headers={"X-Key": "k-1"}
            )
            second = await client.post(srv.url + "/hook", json={"标题": "辟谣"})
            third = await client.get(srv.url + "/status")
            assert (first.status_code, first.json()) == (200, {"id": "a"})
            assert (second.status_code, second.json()) == (201, {"id": "b"})
            assert third.status_code == 200 and third.http_version == "HTTP/1.1"
            assert srv.connections == 1
            head = srv.seen[0].head.decode()
            assert head.startswith("POST /hook?x=1 HTTP/1.1\r\n")
            assert "x-key: k-1" in head.lower() and "host: 127.0.0.1:" in head.lower()
            assert srv.seen[0].body == "正文".encode()
            assert b'"\\u6807\\u9898"' in srv.seen[1].body or "标题".encode() in srv.seen[1].body

    run(go())


def test_chunked_close_delimited_and_gzip_answers_are_read_whole(run: Runner) -> None:
    packed = gzip.compress(b'{"packed":true}')
    chunked = raw(
        b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n3\r\n 1}\r\n0\r\n\r\n'
    )
    zipped = answer(body=packed, extra=b"Content-Encoding: gzip\r\n")
    until_close = raw(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"x" * 70_000, close=True)

    async def go() -> None:
        async with serving(chunked, zipped, until_close) as srv, delivery_client() as client:
            assert (await client.get(srv.url)).json() == {"a": 1}
            assert (await client.get(srv.url)).json() == {"packed": True}
            assert (await client.get(srv.url)).content == b"x" * 70_000

    run(go())


def test_an_interim_100_continue_is_skipped(run: Runner) -> None:
    interim = raw(
        b"HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Final: yes\r\n\r\nok"
    )

    async def go() -> None:
        async with serving(interim, answer()) as srv, delivery_client() as client:
            response = await client.post(srv.url, content=b"x")
            assert (response.status_code, response.text) == (200, "ok")
            assert response.headers["x-final"] == "yes" and response.reason_phrase == "OK"
            assert "x-interim" not in response.headers
            assert (await client.get(srv.url)).status_code == 200  # still in step

    run(go())


def test_a_server_hanging_up_after_the_request_may_have_acted_on_it(run: Runner) -> None:
    async def go() -> None:
        async with serving(hang_up) as srv, delivery_client() as client:
            with pytest.raises(httpx.RemoteProtocolError) as caught:
                await client.post(srv.url + "/send", content=b"{}")
            assert len(srv.seen) == 1  # it had the whole request
            assert not isinstance(caught.value, NOT_SENT)  # the adapters: unconfirmed

    run(go())


def test_nothing_listening_is_a_connect_error_nothing_was_sent(run: Runner) -> None:
    async def go() -> None:
        async with serving() as srv:
            url = srv.url
        async with delivery_client() as client:
            with pytest.raises(httpx.ConnectError) as caught:
                await client.post(url, content=b"{}")
            assert isinstance(caught.value, NOT_SENT)

    run(go())


def test_silence_is_a_read_timeout_but_a_trickling_answer_is_not_cut(run: Runner) -> None:
    trickle_head = raw(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab")

    async def rest(seen: Seen, writer: asyncio.StreamWriter) -> None:
        await trickle_head(seen, writer)
        for part in (b"c", b"d"):
            await asyncio.sleep(0.2)  # each gap shorter than the read timeout, all longer
            writer.write(part)
            await writer.drain()

    async def go() -> None:
        async with (
            serving(silent(2.0), rest) as srv,
            delivery_client(timeout=httpx.Timeout(5, read=0.3)) as client,
        ):
            with pytest.raises(httpx.ReadTimeout):
                await client.post(srv.url, content=b"{}")
            # The timed-out connection is not reused: the next request opens another.
            assert (await client.get(srv.url)).text == "abcd"
            assert srv.connections == 2

    run(go())


def test_a_connection_the_server_closed_while_idle_is_not_reused(run: Runner) -> None:
    async def answer_and_close(seen: Seen, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.close()  # keep-alive ended by the server, after the answer

    async def go() -> None:
        async with serving(answer_and_close, answer()) as srv, delivery_client() as client:
            assert (await client.get(srv.url)).text == "ok"
            await asyncio.sleep(0.2)
            assert (await client.post(srv.url, content=b"{}")).status_code == 200
            assert srv.connections == 2

    run(go())


def test_a_header_with_a_line_break_is_refused_before_anything_is_sent(run: Runner) -> None:
    async def go() -> None:
        async with serving(answer()) as srv, delivery_client() as client:
            with pytest.raises(httpx.LocalProtocolError, match=r"X-Evil.*nothing was sent"):
                await client.post(srv.url, content=b"{}", headers={"X-Evil": "a\r\nX-Admin: 1"})
            assert srv.seen == [] and srv.connections == 0

    run(go())


def test_streamed_bodies_arrive_whole_with_length_or_chunked(run: Runner) -> None:
    async def parts() -> AsyncIterator[bytes]:
        for part in (b"one,", b"", b"two,", b"three"):
            yield part

    async def go() -> None:
        async with serving(answer(), answer()) as srv, delivery_client() as client:
            image = bytes(range(256)) * 400
            await client.post(srv.url + "/upload", files={"media": ("cover.jpg", image)})
            await client.post(srv.url + "/stream", content=parts())
            upload, streamed = srv.seen
            assert image in upload.body and b'name="media"' in upload.body
            assert b"transfer-encoding: chunked" in streamed.head.lower()
            assert streamed.body == b"one,two,three"

    run(go())


def test_a_refusal_before_an_upload_ends_is_the_answer(run: Runner) -> None:
    pulled: list[int] = []

    async def upload() -> AsyncIterator[bytes]:
        for number in range(20):
            pulled.append(number)
            yield b"x" * 1000
            if number == 0:
                await asyncio.sleep(0.3)  # the refusal arrives meanwhile

    async def refuse_early(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 413 Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        await reader.read()  # drain whatever still comes, then close
        writer.close()
        await writer.wait_closed()
        handled.set()

    handled = asyncio.Event()

    async def go() -> None:
        server = await asyncio.start_server(refuse_early, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server, delivery_client() as client:
            response = await client.post(f"http://127.0.0.1:{port}/upload", content=upload())
            assert response.status_code == 413
            assert pulled == [0, 1]  # the rest of the upload was never read
            await asyncio.wait_for(handled.wait(), 5)  # the client let the connection go
            server.close()

    run(go())


def test_a_large_body_is_written_as_the_server_reads_it(run: Runner) -> None:
    cover = bytes(range(256)) * 32_768  # 8 MiB: far over the socket's buffers

    async def go() -> None:
        async with serving(answer()) as srv, delivery_client() as client:
            assert (await client.post(srv.url + "/media", content=cover)).status_code == 200
            assert srv.seen[0].body == cover

    run(go())


def test_a_server_that_stops_reading_is_a_write_timeout(run: Runner) -> None:
    stalled = asyncio.Event()

    async def stop_reading(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await stalled.wait()  # reads nothing more until the client gave up
        writer.close()
        await writer.wait_closed()

    async def go() -> None:
        server = await asyncio.start_server(stop_reading, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server, delivery_client(timeout=httpx.Timeout(5, write=0.3)) as client:
            with pytest.raises(httpx.WriteTimeout) as caught:
                await client.post(f"http://127.0.0.1:{port}/media", content=b"x" * 32_000_000)
            assert not isinstance(caught.value, NOT_SENT)  # part of it went out
            stalled.set()
            await asyncio.sleep(0.05)
            server.close()

    run(go())


def test_the_pool_limit_makes_the_next_request_wait_then_time_out(run: Runner) -> None:
    async def go() -> None:
        transport = Http11Transport(limits=httpx.Limits(max_connections=1))
        async with (
            serving(raw(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", pause=0.5)) as srv,
            httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(5, pool=0.2)) as client,
        ):
            first = asyncio.ensure_future(client.get(srv.url + "/slow"))
            await asyncio.sleep(0.05)
            with pytest.raises(httpx.PoolTimeout) as caught:
                await client.get(srv.url + "/next")
            assert isinstance(caught.value, NOT_SENT)
            assert (await first).status_code == 200
            assert len(srv.seen) == 1  # the request that waited never went out

    run(go())


def test_an_answer_over_the_limit_is_refused(run: Runner) -> None:
    async def go() -> None:
        transport = Http11Transport(max_response_bytes=1000)
        async with (
            serving(answer(body=b"x" * 5000)) as srv,
            httpx.AsyncClient(transport=transport) as client,
        ):
            with pytest.raises(httpx.RemoteProtocolError, match="larger than 1000 bytes"):
                await client.get(srv.url)

    run(go())


def test_head_and_204_answers_have_no_body_and_the_client_stays_in_step(run: Runner) -> None:
    head = raw(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n")
    empty = raw(b"HTTP/1.1 204 No Content\r\n\r\n")

    async def go() -> None:
        async with serving(head, empty, answer()) as srv, delivery_client() as client:
            assert (await client.head(srv.url)).content == b""
            assert (await client.delete(srv.url)).status_code == 204
            assert (await client.get(srv.url)).json() == {"ok": True}

    run(go())


def test_stray_bytes_on_an_idle_connection_retire_it(run: Runner) -> None:
    async def answer_then_junk(seen: Seen, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokJUNK")
        await writer.drain()

    async def go() -> None:
        async with serving(answer_then_junk, answer()) as srv, delivery_client() as client:
            assert (await client.get(srv.url)).text == "ok"
            assert (await client.get(srv.url)).json() == {"ok": True}
            assert srv.connections == 2

    run(go())


def test_a_malformed_answer_is_a_protocol_error(run: Runner) -> None:
    async def go() -> None:
        async with serving(raw(b"NOT HTTP AT ALL\r\n\r\n")) as srv, delivery_client() as client:
            with pytest.raises(httpx.RemoteProtocolError, match="malformed"):
                await client.get(srv.url)

    run(go())


def test_with_a_proxy_in_the_environment_requests_go_through_it(
    run: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def go() -> None:
        async with serving(answer(body=b'{"via":"proxy"}')) as proxy:
            monkeypatch.setenv("HTTP_PROXY", proxy.url)
            async with delivery_client() as client:
                response = await client.get("http://oa.example.gov.cn/hooks/x")
            assert response.json() == {"via": "proxy"}
            assert proxy.seen[0].head.startswith(b"GET http://oa.example.gov.cn/hooks/x HTTP/1.1")

    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    run(go())


# -- TLS -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def test_https_is_verified_against_the_trusted_authorities(
    certificate: tuple[Path, Path], run: Runner
) -> None:
    cert, key = certificate
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert, key)

    async def go() -> None:
        async with serving(answer(body=b'{"tls":1}'), answer(), tls=server_side) as srv:
            trusting = Http11Transport(verify=ssl.create_default_context(cafile=str(cert)))
            async with httpx.AsyncClient(transport=trusting) as client:
                assert (await client.get(srv.url + "/x")).json() == {"tls": 1}
                assert (await client.get(srv.url + "/y")).status_code == 200
                assert srv.connections == 1  # kept alive over TLS too
            async with delivery_client() as client:  # certifi: a self-signed one is refused
                with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                    await client.get(srv.url + "/z")

    run(go())
