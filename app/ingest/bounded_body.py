"""Reading a pulled page within a ceiling on its decoded size.

httpx's own decoding (``iter_bytes``) inflates each network read in one step: one 64 KiB read of a gzip bomb
becomes ~64 MiB at once, and stacked encodings (``Content-Encoding: gzip, gzip``) multiply that without limit.
So the body is read raw and inflated here at most ``CHUNK`` bytes at a time: whatever the sender packs, memory
stays within the ceiling plus one chunk, and the read stops as soon as the ceiling is passed.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import httpx

CHUNK = 64 * 1024
ACCEPT_ENCODING = "gzip"  # the only coding we ask for, so the only one a well-behaved server sends


class BodyRefused(Exception):
    """The body is too large or in an encoding we did not ask for: asking again would get the same."""


class BodyCorrupt(Exception):
    """The compressed body does not decode (cut short or damaged): the next try may be whole."""


def _gzip_or_identity(response: httpx.Response) -> bool:
    codings = [c.strip().lower() for c in response.headers.get("content-encoding", "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if codings in ([], ["gzip"], ["x-gzip"]):
        return bool(codings)
    shown = ", ".join(codings)[:60].encode("ascii", "backslashreplace").decode()
    raise BodyRefused(f"Content-Encoding {shown!r} was not asked for (only {ACCEPT_ENCODING})")


def decoded_chunks(response: httpx.Response) -> Iterator[bytes]:
    """The decoded body of a streamed response, no piece longer than a network read or ``CHUNK``."""
    if not _gzip_or_identity(response):
        yield from response.iter_raw()
        return
    inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
    try:
        for raw in response.iter_raw():
            pending = raw
            while pending and not inflate.eof:
                piece = inflate.decompress(pending, CHUNK)
                pending = inflate.unconsumed_tail
                if piece:
                    yield piece
            if inflate.eof:  # what follows the gzip stream is ignored, as httpx does; not even read
                return
        while not inflate.eof:  # output zlib still holds once the input has run out
            piece = inflate.decompress(b"", CHUNK)
            if not piece:
                raise BodyCorrupt("the gzip body ends early")
            yield piece
    except zlib.error as exc:
        raise BodyCorrupt(f"the gzip body does not decode ({exc})") from None


def read_capped(response: httpx.Response, limit: int, setting: str) -> bytes:
    """The whole decoded body, refused (``BodyRefused`` naming ``setting``) once it passes ``limit`` bytes.

    A ``Content-Length`` above the limit is refused before anything is read: it counts the encoded bytes, and
    a gzip body is never more than a few bytes per 32 KiB larger than what it decodes to.
    """
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyRefused(f"the page's Content-Length {int(declared)} is above the {limit}-byte limit ({setting})")
    body = bytearray()
    for piece in decoded_chunks(response):
        body += piece
        if len(body) > limit:
            raise BodyRefused(f"the page is larger than the {limit}-byte limit ({setting}); stopped reading it")
    return bytes(body)


def read_snippet(response: httpx.Response, size: int = 200) -> str:
    """The start of an error response for the message, never more of it: a refusal may be a bomb too."""
    head = bytearray()
    try:
        for piece in decoded_chunks(response):
            head += piece
            if len(head) >= size:
                break
    except (BodyRefused, BodyCorrupt, httpx.HTTPError):
        pass
    return head[:size].decode("utf-8", "replace")
