"""Runs per browser session, kept across page reloads, freed when the session ends.

A reload (F5) starts a new Streamlit session, so runs cannot live in
st.session_state alone. Each tab gets an unguessable token that state.py keeps
in the URL query (`?session=...`); the runs live here under that token, and so
does the tab's other work (the model being built, the chosen and uploaded data,
the Train settings: see tab_session.keep). A model's share link never carries the
token (the build page builds links from the bare URL).

A token grants nothing to a stranger: it is bound to the browser that made it, by a
browser id taken from that browser's cookies. A link carrying another browser's token
(pasted in a workshop chat, read off a projected address bar) opens a new, empty
session; a reload in the same browser sends the same cookies and finds its work. The
id comes from Streamlit's own XSRF cookie, which the server sets on the page's first
HTTP response (so it is there before the first script run); without XSRF protection,
from a cookie of ours that the page sets by script.

A session has ended for good when none of the Streamlit sessions that used its
token is connected and none was seen for `ttl` seconds (CNNLAB_SESSION_TTL, 15
minutes by default). Then its runs stop and their memory is freed. No TensorFlow.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
XSRF_COOKIE = "_streamlit_xsrf"  # set by Streamlit's server (server.enableXsrfProtection)
BROWSER_COOKIE = "cnnlab_browser"
BROWSER_COOKIE_DAYS = 30
DEFAULT_TTL_SECONDS = 15 * 60


def new_token() -> str:
    """192 random bits, URL-safe: not guessable, not derived from anything a user sees."""
    return secrets.token_urlsafe(24)


def valid_token(value: Any) -> bool:
    return isinstance(value, str) and bool(TOKEN_PATTERN.match(value))


def browser_id_from_xsrf(cookie: str) -> str:
    """A browser id from Streamlit's XSRF cookie: the digest of its secret token.

    Tornado's version-2 cookie is "2|mask|masked token|time" and gets a new mask each
    time it is set, so the unmasked token is what stays the same for the browser.
    """
    token = cookie.encode()
    parts = cookie.split("|")
    if len(parts) == 4 and parts[0] == "2":
        with contextlib.suppress(ValueError):
            mask, masked = bytes.fromhex(parts[1]), bytes.fromhex(parts[2])
            if mask:
                token = bytes(b ^ mask[i % len(mask)] for i, b in enumerate(masked))
    return hashlib.blake2b(token, digest_size=24, person=b"cnnlab-browser").hexdigest()


@dataclass
class _Entry:
    browser: str | None = None  # the browser id that made this token; only it may use it
    runs: dict[str, Any] = field(default_factory=dict)
    kept: dict[str, Any] = field(default_factory=dict)  # session-state key -> value
    last_seen: float = field(default_factory=time.monotonic)
    session_ids: set[str] = field(default_factory=set)


def _streamlit_session_is_connected(session_id: str) -> bool:
    """True while the browser tab of this Streamlit session is connected."""
    from streamlit import runtime

    if not runtime.exists():
        return False
    try:
        return runtime.get_instance().is_active_session(session_id)
    except Exception:
        return False


class SessionStore:
    """Token -> that browser session's runs (a dict run id -> Run) and kept work,
    thread-safe."""

    def __init__(
        self,
        ttl: float | None = None,
        is_connected: Callable[[str], bool] = _streamlit_session_is_connected,
        auto_reap: bool = True,
    ) -> None:
        if ttl is None:
            ttl = float(os.environ.get("CNNLAB_SESSION_TTL", DEFAULT_TTL_SECONDS))
        self.ttl = ttl
        self._is_connected = is_connected
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._reaper: threading.Thread | None = None
        self._auto_reap = auto_reap  # False: only explicit reap() calls (tests)

    def claim(self, token: str, browser: str, *, new: bool = False) -> bool:
        """May `browser` use `token`? True for the browser that made it. `new` makes a
        fresh token this browser's; a token the store does not know (the server
        restarted, or a guess) is never adopted, so it cannot be planted either."""
        with self._lock:
            entry = self._entries.get(token)
            if new and entry is None:
                self._entries[token] = _Entry(browser=browser)
                return True
            return entry is not None and entry.browser is not None and entry.browser == browser

    def runs(self, token: str) -> dict[str, Any]:
        """The token's runs; the same dict object on every call, so edits are shared."""
        with self._lock:
            return self._entries.setdefault(token, _Entry()).runs

    def kept(self, token: str) -> dict[str, Any]:
        """The token's other work to keep across reloads; shared like runs()."""
        with self._lock:
            return self._entries.setdefault(token, _Entry()).kept

    def touch(self, token: str, session_id: str | None = None) -> None:
        """The session with this token is alive now (called on every script run)."""
        with self._lock:
            entry = self._entries.setdefault(token, _Entry())
            entry.last_seen = time.monotonic()
            if session_id:
                entry.session_ids.add(session_id)
        self._ensure_reaper()

    def tokens(self) -> list[str]:
        with self._lock:
            return list(self._entries)

    def reap(self, now: float | None = None) -> list[str]:
        """End every session that has been gone longer than the TTL: stop its runs and
        drop them. Returns the ended tokens."""
        now = time.monotonic() if now is None else now
        ended: list[_Entry] = []
        tokens = []
        with self._lock:
            for token, entry in list(self._entries.items()):
                connected = {sid for sid in entry.session_ids if self._is_connected(sid)}
                entry.session_ids = connected
                if connected:
                    entry.last_seen = now
                elif now - entry.last_seen > self.ttl:
                    ended.append(self._entries.pop(token))
                    tokens.append(token)
        for entry in ended:
            for run in list(entry.runs.values()):
                stop = getattr(run, "stop", None)
                if stop is not None:
                    stop()
            entry.runs.clear()  # st.session_state may still hold this dict: empty it
            entry.kept.clear()
        if ended:
            from dashboard.training import collect_garbage_if_idle

            collect_garbage_if_idle()
        return tokens

    def _ensure_reaper(self) -> None:
        if not self._auto_reap:
            return
        if self._reaper is not None and self._reaper.is_alive():
            return
        with self._lock:
            if self._reaper is not None and self._reaper.is_alive():
                return
            interval = max(0.2, min(30.0, self.ttl / 3))
            self._reaper = threading.Thread(
                target=self._reap_forever, args=(interval,), name="session-reaper", daemon=True
            )
            self._reaper.start()

    def _reap_forever(self, interval: float) -> None:
        while True:
            time.sleep(interval)
            with contextlib.suppress(Exception):  # outlive any one bad entry
                self.reap()


STORE = SessionStore()
