"""Page sessions: a signed cookie naming the user, and a CSRF token bound to it.

The cookie holds only the user id, the user's session epoch and a random nonce, signed with
itsdangerous (the secret comes from DUBAN_SECRET_KEY or the data folder); it is HttpOnly and
SameSite=Lax, and Secure when the page came over HTTPS. Signing out, a new password or a disabled
account bump the user's epoch (services/sessions.py): every cookie issued before is refused by
the next page, whichever worker serves it. Every form carries a token derived from the nonce, so a
form posted from another site, or from a session that has since changed, is refused (the token
is masked afresh on each page: see `csrf_token`). A new nonce
is issued at sign-in, so a session fixed before sign-in is worthless after it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "duban_session"
MAX_AGE = 12 * 3600  # one working day and then some; sign in again the next morning


class LoginRequired(Exception):
    """A page needs a signed-in user; the app answers with a redirect to /login."""


@dataclass(frozen=True)
class WebSession:
    user_id: int | None
    nonce: str
    epoch: int = -1  # the user's session_epoch at sign-in; -1 (no user, or an older cookie) matches none


class Sessions:
    def __init__(self, secret: str) -> None:
        self._secret = secret.encode("utf-8")
        self._serializer = URLSafeTimedSerializer(secret, salt="duban-session")

    @property
    def secret(self) -> bytes:
        """The signing secret, for a key derived from it (the public pages' challenge)."""
        return self._secret

    def load(self, request: Request) -> WebSession | None:
        raw = request.cookies.get(COOKIE)
        if not raw or len(raw) > 4096:
            return None
        try:
            data = self._serializer.loads(raw, max_age=MAX_AGE)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("n"), str):
            return None
        user_id, epoch = data.get("u"), data.get("e")
        return WebSession(user_id=user_id if isinstance(user_id, int) else None, nonce=data["n"],
                          epoch=epoch if isinstance(epoch, int) else -1)

    @staticmethod
    def new(user_id: int | None = None, epoch: int = -1) -> WebSession:
        return WebSession(user_id=user_id, nonce=secrets.token_urlsafe(16), epoch=epoch)

    def save(self, response: Response, session: WebSession, *, secure: bool) -> None:
        value = self._serializer.dumps({"u": session.user_id, "n": session.nonce, "e": session.epoch})
        response.set_cookie(COOKIE, value, max_age=MAX_AGE, httponly=True, samesite="lax", secure=secure,
                            path="/")

    @staticmethod
    def clear(response: Response) -> None:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")

    def _csrf_key(self, session: WebSession) -> bytes:
        return hmac.new(self._secret, b"csrf:" + session.nonce.encode("ascii"), hashlib.sha256).digest()

    def csrf_token(self, session: WebSession) -> str:
        """The session's form token, masked afresh on every page (a random pad and the token
        XORed with it). Pages are gzipped: a token that read the same on every page could be
        guessed from the compressed sizes of pages that also echo what an attacker sent (BREACH).
        """
        key = self._csrf_key(session)
        pad = secrets.token_bytes(len(key))
        return (pad + bytes(a ^ b for a, b in zip(pad, key, strict=True))).hex()

    def csrf_ok(self, session: WebSession | None, token: str | None) -> bool:
        if session is None or not token or len(token) != 128:
            return False
        try:
            masked = bytes.fromhex(token)
        except ValueError:
            return False
        pad, sealed = masked[:32], masked[32:]
        return hmac.compare_digest(bytes(a ^ b for a, b in zip(pad, sealed, strict=True)),
                                   self._csrf_key(session))
