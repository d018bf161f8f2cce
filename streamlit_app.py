"""CNN Lab entry point: page config, navigation and the guarded page, in one call.

Each page starts with dashboard.ui.navigation.start_page(), which installs the
training-safe cleanup and keeps the session token in the URL.
"""

from dashboard.ui.navigation import run_app

run_app()
