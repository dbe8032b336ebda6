"""Signing in to the dashboard: the API's write token kept in a cookie, and CSRF tokens.

The token a user signs in with is kept in an HttpOnly, SameSite=Strict cookie, so scripts
cannot read it and other sites cannot send it. Every form that writes also carries a CSRF
token: an HMAC of the session's token, which a page of another origin cannot compute.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from starlette.requests import Request

SESSION_COOKIE = "benchdb_session"


def valid(token: str | None, tokens: Sequence[str]) -> bool:
    """Whether ``token`` is one of the configured write tokens (in constant time)."""
    given = (token or "").encode()
    return bool(given) and any(hmac.compare_digest(given, t.encode()) for t in tokens)


def signed_in(request: Request, tokens: Sequence[str]) -> str | None:
    """The session's token when the cookie holds a configured one; None otherwise (a cookie
    with anything else in it is as good as none)."""
    token = request.cookies.get(SESSION_COOKIE)
    return token if valid(token, tokens) else None


def bearer(request: Request, tokens: Sequence[str]) -> bool:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and valid(token, tokens)


def csrf_token(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"benchdb dashboard form", hashlib.sha256).hexdigest()


def csrf_valid(session_token: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(csrf_token(session_token), given or "")
