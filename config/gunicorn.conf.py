"""gunicorn's settings for BTAM: `make run` serves with them, and so should a production unit
(`gunicorn --config config/gunicorn.conf.py --bind ... wsgi:app`).

No log line names a client. The access log tells requests apart by the id the app gives
each one (its X-Request-Id response header, which the audit trail's entries carry too), never
by the address that sent it, and it logs the path without the query string; gunicorn's own
warning about a malformed request has its address removed. A tipster's address reaches no
file on this host (README, "The tip line and the logs", for the reverse proxy in front).
"""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

accesslog = "-"
errorlog = "-"
loglevel = "info"
# time, request id, method, path (no query string), protocol, status, bytes, milliseconds
access_log_format = '%(t)s %({x-request-id}o)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'

_ADDRESS = re.compile(r"\bip=\S+")


class AnonymousLogger(Logger):
    """gunicorn's logger, less the client address it writes into its own warnings."""

    def warning(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        super().warning(_ADDRESS.sub("ip=(not logged)", str(msg)), *args, **kwargs)


logger_class = AnonymousLogger
