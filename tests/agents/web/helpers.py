"""Users and a running web app for the web pages' tests: users made as the operator makes them,
records on the users topic (new_user + issue_token), and the app served on a free local port."""
from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

from aiohttp.test_utils import TestClient, TestServer

from agents.kafka.admin import ensure_topics
from agents.store.filters import ProducerSend
from agents.web.app import create_web_app
from agents.web.state import users_topic
from pipeline.settings import Settings
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
