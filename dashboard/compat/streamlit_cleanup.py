"""Keep Streamlit's after-run cleanup from starving (or breaking) a training thread.

After every script run and every fragment run, Streamlit 1.67 calls
`script_runner._clean_problem_modules()`, which runs `keras.backend.clear_session()`,
and then `gc.collect(2)` when `runner.postScriptGC` is true. With TensorFlow loaded
each takes about 0.4 s holding the GIL, so a page polling once a second made
training 2 to 10 times slower; and clearing the Keras session from the script
thread while another thread trains is a correctness risk.

The fix: `.streamlit/config.toml` sets `runner.postScriptGC = false` (and `install`
sets it again in case the app runs from another directory), and `install` swaps the
private `_clean_problem_modules` for one that leaves Keras alone and keeps the
matplotlib part. Streamlit is pinned in requirements.txt, and
tests/app/test_streamlit_cleanup.py fails if that private hook changes, so an upgrade
cannot silently bring the stall back. Memory is still freed: the training module
runs a full collection when a run is deleted or a session ends, while nothing trains.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from streamlit.runtime.scriptrunner import script_runner

_LOG = logging.getLogger(__name__)
_INSTALLED = False
# Streamlit's own hook, kept for tests that show what it did.
ORIGINAL_HOOK = getattr(script_runner, "_clean_problem_modules", None)


def _clean_problem_modules_keeping_keras() -> None:
    """Streamlit's cleanup minus `keras.backend.clear_session()`."""
    if "matplotlib.pyplot" in sys.modules:
        try:
            plt: Any = sys.modules["matplotlib.pyplot"]
            plt.close("all")
        except Exception:  # as Streamlit's own: cleanup must never break a run
            pass


def install() -> bool:
    """Patch Streamlit's cleanup once per process; True if the patch is in place."""
    global _INSTALLED
    if _INSTALLED:
        return True
    from streamlit import config

    try:
        config.set_option("runner.postScriptGC", False)
    except Exception:  # some versions refuse runtime changes; config.toml has it too
        _LOG.warning("could not set runner.postScriptGC=false at runtime")
    if not hasattr(script_runner, "_clean_problem_modules"):
        _LOG.warning(
            "streamlit.runtime.scriptrunner.script_runner._clean_problem_modules is gone; "
            "check that this Streamlit version no longer clears the Keras session after runs"
        )
        return False
    script_runner._clean_problem_modules = _clean_problem_modules_keeping_keras
    _INSTALLED = True
    return True


def is_installed() -> bool:
    return (
        getattr(script_runner, "_clean_problem_modules", None)
        is _clean_problem_modules_keeping_keras
    )
