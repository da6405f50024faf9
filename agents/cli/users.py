"""`run.py user ...`: the operator adds users, issues and revokes their API tokens, lists and disables them.

Users are written only here (the operator's tool, writing the compacted users topic directly);
the HTTP API reads them and never changes them. A token is printed once and stored only as its
hash: `user token ID` issues a new one, which revokes the old on every worker as soon as it reads
the new record.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import replace

from agents.kafka.admin import ensure_topics
from agents.kafka.compacted import CompactedReader
from agents.kafka.connection import KafkaConnection
from agents.kafka.reachable import check_reachable
from agents.kafka.topology import core_topics
from agents.store.filters import ProducerSend
from pipeline.settings import Settings
from pipeline.streams.validation import InvalidField, user_id
from pipeline.users.records import User, UserBook, new_user
from pipeline.users.tokens import issue_token
from .needs_broker import lacks_broker


def cmd_user(args: argparse.Namespace) -> int:
    settings = Settings.from_env(bootstrap=getattr(args, "bootstrap", None))  # as main's settings_from
    if lacks_broker(f"user {args.action}", settings):
        return 2
    try:
        return asyncio.run(manage(args, settings))
    except InvalidField as error:
        print(f"refused: {error}", file=sys.stderr)
        return 2


async def load_users(settings: Settings, kafka: KafkaConnection) -> UserBook:
    book = UserBook()
    await ensure_topics(kafka, core_topics(settings))
    await CompactedReader(kafka, {settings.users_topic: book.apply}).read_all()
    return book


def describe(user: User) -> str:
    flags = [f for f, on in (("admin", user.admin), ("disabled", user.disabled), ("no-token", not user.token_hash)) if on]
    return f"{user.id:<6} {user.name:<24} {user.email or '-':<32} {' '.join(flags)}".rstrip()


async def manage(args: argparse.Namespace, settings: Settings) -> int:
    kafka = KafkaConnection.from_settings(settings)
    check_reachable(kafka)
    book = await load_users(settings, kafka)
    if args.action == "list":
        for user in sorted(book.users.values(), key=lambda u: u.id):
            print(describe(user))
        return 0
    if args.action == "add":
        user, token = issue_token(new_user(book, args.name, email_address=args.email, admin=args.admin, now=time.time()))
    else:
        number = user_id("id", args.id)
        found = book.get(number)
        if found is None:
            print(f"no user {number}", file=sys.stderr)
            return 1
        user, token = issue_token(found) if args.action == "token" else (replace(found, disabled=True), None)
    async with ProducerSend(kafka, settings.max_message_bytes) as send:
        await send(settings.users_topic, user.key, user.to_json(), None)
    if token is None:
        print(f"user {user.id} disabled: their token is refused from now on")
    else:
        print(f"user {user.id}" if args.action == "add" else f"user {user.id}: new token; the old one is revoked")
        print(f"token {token}  (shown once: only its hash is stored)")
    return 0
