"""Users and a running web app for the web pages' tests: users made as the operator makes them,
records on the users topic (new_user + issue_token), and the app served on a free local port."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from agents.dev.broker import free_port
from agents.dev.worker_process import settings_env
from agents.kafka.admin import ensure_topics
from agents.store.filters import ProducerSend
from agents.web.app import create_web_app
from agents.web.state import users_topic
from pipeline.settings import REPO_ROOT, Settings
from pipeline.users.records import User, UserBook, new_user
from pipeline.users.tokens import issue_token
from tests.conftest import connection


def with_own_users(settings: Settings) -> Settings:
    return replace(settings, users_topic=f"users-{uuid.uuid4().hex[:8]}")


async def add_users(settings: Settings, *names: str, admin: bool = False) -> list[tuple[User, str]]:
    """New users with tokens, published to the users topic; returns each user and its token."""
    kafka = connection(settings)
    await ensure_topics(kafka, [users_topic(settings)])
    book, made = UserBook(), []
    async with ProducerSend(kafka, settings.max_message_bytes) as send:
        for name in names:
            user, token = issue_token(new_user(book, name, email_address=f"{name}@example.org", admin=admin, now=0.0))
            book.apply(user.key, user.to_json())
            await send(settings.users_topic, user.key, user.to_json(), None)
            made.append((user, token))
    return made


@asynccontextmanager
async def web_client(settings: Settings) -> AsyncIterator[TestClient]:
    """The web app on 127.0.0.1 with its own cookie jar (one browser)."""
    client = TestClient(TestServer(create_web_app(settings, connection(settings)), host="127.0.0.1"))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


async def sign_in(client: TestClient, token: str) -> None:
    page = await (await client.get("/signin")).text()
    response = await client.post("/signin", data={"csrf": csrf_of(page), "token": token}, allow_redirects=False)
    assert response.status == 303, await response.text()


class WebProcess:
    """`run.py web` as a separate process on a free port, as it is deployed."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.settings = replace(settings, ui_port=free_port())
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.ui_port}"

    def start(self, timeout: float = 60.0) -> WebProcess:
        """Start it and return once it answers (it listens only after reading the topics)."""
        env = dict(os.environ, **settings_env(self.settings))
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([sys.executable, str(REPO_ROOT / "run.py"), "web"], env=env, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=REPO_ROOT)
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(self.url + "/signin", timeout=5) as response:
                    if response.status == 200:
                        return self
            except OSError:
                pass  # not listening yet
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"web server did not start; log: {self.log_path.read_text()[-2000:]}")
            time.sleep(0.2)

    def stop(self) -> int:
        if self.process is None:
            return 0
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()
