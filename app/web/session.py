"""The web view's cookies: a signed, expiring session and a CSRF token, both HttpOnly and SameSite=Strict.

**The session never holds the API key.** Signing in checks the key once; the cookie then carries the key's
public id, the moment the session ends and a random nonce, signed with HMAC-SHA256 under
``VPT_SESSION_SECRET``. Every page looks the key up by its public id (one indexed read), so a revoked or expired
key ends its sessions at once, and a stolen cookie is worth one session, not a key that works with the API for
months. The secret key itself is never in a cookie, a URL or a log line.

**CSRF** (double submit, signed): a random token lives in its own cookie; each form that changes something
carries ``HMAC(secret, token)``, which a page on another origin can neither read nor compute. SameSite=Strict
already keeps the cookies off cross-site requests; the token also covers a browser without SameSite, and the
login form (no session yet) is covered the same way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from fastapi import Request, Response

from app.config import Settings

SESSION_COOKIE = "vpt_session"
CSRF_COOKIE = "vpt_csrf"
CSRF_FIELD = "csrf_token"
_PROCESS_SECRET = secrets.token_bytes(32)  # unset VPT_SESSION_SECRET: sessions last as long as the process


def secret_of(settings: Settings) -> bytes:
    if settings.session_secret is None:
        return _PROCESS_SECRET
    return hashlib.sha256(b"vpt-web-session:" + settings.session_secret.get_secret_value().encode()).digest()


def _sign(secret: bytes, purpose: str, payload: bytes) -> str:
    return hmac.new(secret, purpose.encode() + b":" + payload, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class WebSession:
    key_id: str  # the API key's public id
    expires: int  # Unix time


def encode_session(settings: Settings, key_id: str, now: float | None = None) -> str:
    expires = int((time.time() if now is None else now) + settings.session_max_age_seconds)
    body = json.dumps({"k": key_id, "e": expires, "n": secrets.token_urlsafe(8)}, separators=(",", ":")).encode()
    payload = base64.urlsafe_b64encode(body).decode().rstrip("=")
    return f"{payload}.{_sign(secret_of(settings), 'session', payload.encode())}"


def decode_session(settings: Settings, cookie: str | None, now: float | None = None) -> WebSession | None:
    """The session a cookie stands for; None when absent, forged, altered, malformed or expired."""
    if not cookie or len(cookie) > 512 or cookie.count(".") != 1:
        return None
    payload, signature = cookie.split(".")
    if not hmac.compare_digest(signature, _sign(secret_of(settings), "session", payload.encode())):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        session = WebSession(key_id=str(data["k"]), expires=int(data["e"]))
    except (ValueError, KeyError, TypeError):
        return None
    return session if session.expires > (time.time() if now is None else now) else None


def csrf_token(settings: Settings, cookie_value: str) -> str:
    """What a form carries for the CSRF cookie ``cookie_value``."""
    return _sign(secret_of(settings), "csrf", cookie_value.encode())


def csrf_valid(settings: Settings, request: Request, submitted: str | None) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not submitted:
        return False
    return hmac.compare_digest(submitted, csrf_token(settings, cookie))


def csrf_cookie_value(request: Request) -> tuple[str, bool]:
    """The browser's CSRF cookie, or a new one (then True: the response must set it); one per request."""
    current = request.cookies.get(CSRF_COOKIE)
    if current and 16 <= len(current) <= 64 and current.replace("-", "").replace("_", "").isalnum():
        return current, False
    made: str | None = getattr(request.state, "new_csrf_cookie", None)
    if made is None:
        made = request.state.new_csrf_cookie = secrets.token_urlsafe(24)
    return made, True


def _secure(settings: Settings, request: Request) -> bool:
    """Secure cookies where the browser reaches us over HTTPS (directly, or as the public base URL says)."""
    return request.url.scheme == "https" or settings.public_base_url.startswith("https://")


def set_cookie(response: Response, settings: Settings, request: Request, name: str, value: str,
               max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="strict",
                        secure=_secure(settings, request))


def clear_cookie(response: Response, settings: Settings, request: Request, name: str) -> None:
    response.delete_cookie(name, path="/", httponly=True, samesite="strict", secure=_secure(settings, request))
