"""Records too large for one Kafka message (watchlists, areas) on a compacted topic.

A record is a JSON header under key `<id>` and its body (bytes) cut into chunks of at most
CHUNK_BYTES under keys `<id>/<version>/<chunk>`. The version numbers the body: it goes up when
the body changes; a header-only change (name, active, default radius) keeps the version and the
chunks. A writer sends the chunks first, then the header, then tombstones for the chunks of the
version it replaced; a header tombstone deletes the record.

The book (ChunkBook) shows a record only once its header and every chunk of the header's
version are present and their SHA-256 matches the header's: never half of an update, whatever
order partitions deliver in. Until a new version is whole, the previous one is served.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import orjson

CHUNK_BYTES = 500_000  # well under Kafka's default 1 MB message limit, with room for the key and headers
Record = tuple[bytes, bytes | None]  # (key, value); a None value is a tombstone
B = TypeVar("B")  # a decoded body
T = TypeVar("T")  # a complete record


def chunk_key(record_id: int, version: int, index: int) -> bytes:
    return f"{record_id}/{version}/{index}".encode()


def header_key(record_id: int) -> bytes:
    return str(record_id).encode()


def encode_chunked(fields: dict[str, Any], body: bytes, chunk_bytes: int = CHUNK_BYTES) -> list[Record]:
    """Chunk records then the header record of `fields` (which hold `id` and `version`) and `body`."""
    record_id, version = fields["id"], fields["version"]
    chunks = [body[i:i + chunk_bytes] for i in range(0, len(body), chunk_bytes)] or [b""]
    header = {**fields, "n_chunks": len(chunks), "sha256": hashlib.sha256(body).hexdigest()}
    return [(chunk_key(record_id, version, i), c) for i, c in enumerate(chunks)] + [(header_key(record_id), orjson.dumps(header))]


def chunk_tombstones(header: dict[str, Any]) -> list[Record]:
    """Tombstones for the chunks a header names: sent after a new version's header, or after a deletion."""
    return [(chunk_key(header["id"], header["version"], i), None) for i in range(header["n_chunks"])]


def _parse_key(key: bytes | None) -> tuple[int, int, int] | tuple[int] | None:
    try:
        parts = tuple(int(p) for p in (key or b"").decode().split("/"))
    except (UnicodeDecodeError, ValueError):
        return None
    return parts if len(parts) in (1, 3) else None  # type: ignore[return-value]


class ChunkBook(Generic[B, T]):
    """The complete records of a chunked topic, for readers and writers alike.

    `apply` every record read back (any order across partitions); `items` then holds each
    complete record as a subclass builds it (`make`) from its header and its body, decoded once
    (`decode_body`). A record that does not decode is left out, its reason kept in `invalid`.
    `generation` goes up at every change of `items`: a worker rebuilds its index when it moves.
    """

    def __init__(self) -> None:
        self.items: dict[int, T] = {}
        self.invalid: dict[int, str] = {}
        self.generation = 0
        self.highest_id = 0
        self._headers: dict[int, dict[str, Any]] = {}  # the latest header of each id, complete or not
        self._held: dict[int, tuple[dict[str, Any], B]] = {}  # header and decoded body of each complete record
        self._chunks: dict[int, dict[tuple[int, int], bytes]] = {}

    def decode_body(self, body: bytes) -> B:
        raise NotImplementedError

    def make(self, header: dict[str, Any], body: B) -> T:
        raise NotImplementedError

    def next_id(self) -> int:
        """An id no record seen so far has used (while a deleted id's tombstone is still on the topic)."""
        return self.highest_id + 1

    def writes(self, fields: dict[str, Any], body: Callable[[], bytes]) -> list[Record]:
        """Records that store `fields` (with `id` and `version`): the header alone if the version is the one
        held, else the body's chunks, the header, and tombstones for the chunks of the version replaced."""
        held = self._held.get(fields["id"])
        if held and int(held[0]["version"]) == fields["version"]:
            header = {**fields, "n_chunks": held[0]["n_chunks"], "sha256": held[0]["sha256"]}
            return [(header_key(fields["id"]), orjson.dumps(header))]
        return encode_chunked(fields, body()) + (chunk_tombstones(held[0]) if held else [])

    def deletion(self, record_id: int) -> list[Record]:
        """The header tombstone first (readers drop the record at once), then tombstones for the chunks of
        the version served and of a newer one whose chunks are still arriving."""
        headers = [h for h in (self._held.get(record_id, (None,))[0], self._headers.get(record_id)) if h]
        chunks = dict.fromkeys(k for h in headers for k in chunk_tombstones(h))
        return [(header_key(record_id), None), *chunks]

    def apply(self, key: bytes | None, value: bytes | None) -> bool:
        """Take one record read back; True if `items` changed."""
        parts = _parse_key(key)
        if parts is None:
            return False
        record_id = parts[0]
        self.highest_id = max(self.highest_id, record_id)
        if len(parts) == 3:
            changed = self._chunk(record_id, parts[1], parts[2], value)
        elif value is None:
            changed = self._delete(record_id)
        else:
            changed = self._header(record_id, value)
        self.generation += changed
        return changed

    def _header(self, record_id: int, value: bytes) -> bool:
        try:
            header = orjson.loads(value)
            version, n_chunks, digest = int(header["version"]), int(header["n_chunks"]), str(header["sha256"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            self.invalid[record_id] = "its header is not JSON with version, n_chunks and sha256"
            return self._delete(record_id)
        self._headers[record_id] = header
        held = self._held.get(record_id)
        if held and (int(held[0]["version"]), int(held[0]["n_chunks"]), held[0]["sha256"]) == (version, n_chunks, digest):
            return self._keep(record_id, header, held[1])  # a header-only update: the body stands
        chunks = self._chunks.get(record_id, {})
        for stale in [k for k in chunks if k[0] < version]:
            del chunks[stale]
        return self._assemble(record_id)

    def _chunk(self, record_id: int, version: int, index: int, value: bytes | None) -> bool:
        chunks = self._chunks.setdefault(record_id, {})
        if value is None:
            chunks.pop((version, index), None)
            return False
        header = self._headers.get(record_id)
        if header is not None and version < int(header["version"]):
            return False
        chunks[(version, index)] = value
        return self._assemble(record_id)

    def _assemble(self, record_id: int) -> bool:
        header = self._headers.get(record_id)
        if header is None:
            return False
        version, n_chunks = int(header["version"]), int(header["n_chunks"])
        chunks = self._chunks.get(record_id, {})
        if any((version, i) not in chunks for i in range(n_chunks)):
            return False
        body = b"".join(chunks[(version, i)] for i in range(n_chunks))
        if hashlib.sha256(body).hexdigest() != header["sha256"]:
            return False  # chunks of another write of this version: wait for the right ones
        for i in range(n_chunks):
            del chunks[(version, i)]
        try:
            decoded = self.decode_body(body)
        except (ValueError, KeyError, TypeError) as e:
            self.invalid[record_id] = f"its body does not decode: {e}"
            return self._drop(record_id)
        return self._keep(record_id, header, decoded)

    def _keep(self, record_id: int, header: dict[str, Any], body: B) -> bool:
        try:
            item = self.make(header, body)
        except (ValueError, KeyError, TypeError) as e:
            self.invalid[record_id] = f"its header is not valid: {e}"
            return self._drop(record_id)
        self.invalid.pop(record_id, None)
        self._held[record_id] = (header, body)
        self.items[record_id] = item
        return True

    def _delete(self, record_id: int) -> bool:
        header = self._headers.pop(record_id, None)
        if header is not None:
            chunks = self._chunks.get(record_id, {})
            for stale in [k for k in chunks if k[0] <= int(header["version"])]:
                del chunks[stale]
        return self._drop(record_id)

    def _drop(self, record_id: int) -> bool:
        self._held.pop(record_id, None)
        return self.items.pop(record_id, None) is not None
