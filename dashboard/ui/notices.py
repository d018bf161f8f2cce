"""One way to tell a learner what just happened: a notice set by a callback or a page,
shown once at its place on the page's next run.

Button callbacks run before the page draws, so they cannot show anything themselves;
they `set_notice(where, kind, text)` and the page calls `show_notice(where)` where the
message belongs (next to the button that caused it).
"""

from __future__ import annotations

import streamlit as st

from dashboard.ui import state

KINDS = ("error", "warning", "success", "info")


def set_notice(where: str, kind: str, text: str) -> None:
    """Keep a message for `where` (e.g. 'build', 'upload'); kind is one of KINDS."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    state.set_notice(where, kind, text)


def show_notice(where: str) -> bool:
    """Draw the message kept for `where`, once; True if there was one."""
    notice = state.pop_notice(where)
    if notice is None:
        return False
    kind, text = notice
    getattr(st, kind)(text)
    return True
