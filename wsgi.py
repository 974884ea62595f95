"""The WSGI entry point for gunicorn: ``gunicorn wsgi:app``."""

import sys

from btam import ConfigError, create_app

try:
    app = create_app()
except ConfigError as exc:
    # One line for the operator; a traceback here would only bury the reason.
    print(f"btam: refusing to start: {exc}", file=sys.stderr)
    sys.exit(3)
