"""This browser tab's session: its token (kept in the URL, bound to the browser by a
cookie, so a link never hands the session to another browser) and the work a reload
of the tab must find again (`keep`, `restore_kept_work`).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard.ui import sessions

SESSION_QUERY_KEY = "session"
SESSION_TOKEN_KEY = "session_token"


def _script_session_id() -> str | None:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else None


BROWSER_KEY = "browser_id"


def browser_cookie() -> str | None:
    """This browser's id from its cookies (st.context.cookies), if it has one."""
    try:
        cookies = st.context.cookies
        xsrf, ours = cookies.get(sessions.XSRF_COOKIE), cookies.get(sessions.BROWSER_COOKIE)
    except Exception:  # no browser behind this script run (bare mode)
        return None
    if isinstance(xsrf, str) and xsrf:
        return sessions.browser_id_from_xsrf(xsrf)
    return ours if sessions.valid_token(ours) else None


def browser_id() -> str:
    """This browser's id: from its cookie, else a new one that the page stores in a
    cookie (set once by a script in the page; the server never sends it in a URL)."""
    browser = st.session_state.get(BROWSER_KEY)
    if browser is None:
        browser = browser_cookie()
        if browser is None:
            browser = sessions.new_token()
            _set_browser_cookie(browser)
        st.session_state[BROWSER_KEY] = browser
    return browser


def _set_browser_cookie(browser: str) -> None:
    days = sessions.BROWSER_COOKIE_DAYS
    st.html(
        "<script>document.cookie = "
        f"'{sessions.BROWSER_COOKIE}={browser}; path=/; max-age={days * 86400}; "
        "SameSite=Strict' + (location.protocol === 'https:' ? '; Secure' : '');</script>",
        unsafe_allow_javascript=True,
    )


def session_token() -> str:
    """This tab's token, kept in the URL: the URL's own on the first run if this browser
    made it (a reload), else a new one, bound to this browser."""
    token = st.session_state.get(SESSION_TOKEN_KEY)
    if token is None:
        browser = browser_id()
        candidate = st.query_params.get(SESSION_QUERY_KEY)
        if sessions.valid_token(candidate) and sessions.STORE.claim(candidate, browser):
            token = candidate
        else:  # none, or another browser's: a link never hands over a session
            token = sessions.new_token()
            sessions.STORE.claim(token, browser, new=True)
        st.session_state[SESSION_TOKEN_KEY] = token
    if st.query_params.get(SESSION_QUERY_KEY) != token:
        # Page switches may drop query params; put the token back so F5 keeps the runs.
        st.query_params[SESSION_QUERY_KEY] = token
    sessions.STORE.touch(token, _script_session_id())
    return token


# The tab's other work (the model being built, the chosen and uploaded data, the
# Train settings, the run shown live, the Convolution page's image) is kept beside
# its runs, so a reload finds that too. Every setter of such a value goes through
# keep; values edited in place (the spec, the uploads) are the kept objects.
KEPT_RESTORED_KEY = "kept_work_restored"


def keep(key: str, value: Any) -> None:
    """Set a session-state value that a reload of this tab must find again."""
    st.session_state[key] = value
    sessions.STORE.kept(session_token())[key] = value


def restore_kept_work() -> None:
    """On a Streamlit session's first run, bring back what this tab's token kept (after
    a reload); values this session already has win."""
    if st.session_state.get(KEPT_RESTORED_KEY):
        return
    st.session_state[KEPT_RESTORED_KEY] = True
    for key, value in sessions.STORE.kept(session_token()).items():
        st.session_state.setdefault(key, value)
