"""The real gunicorn with the repository's config (``config/gunicorn.conf.py``, as ``make run``
starts it): a tipster's address reaches neither the access log nor the error log, whether the
tip goes through, the store fails under it or the request is malformed; and a store failure
is answered with the hardened 500 page while the logs hold none of its values.

The tipster connects from its own loopback address (127.0.0.77), so any line naming it is
found. gunicorn listens on a socket the test opened and handed over (``--bind fd://``): the
first connection waits in the socket's queue until a worker takes it, so nothing needs to
poll for the server to be up.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

import pytest
from flask import Flask

from tests.functional.test_headers import assert_hardened
from tests.support.intake import CODE, tip_form
from tests.support.outage import refusing_inserts
from tests.support.personas import World

ROOT = Path(__file__).resolve().parents[2]
TIPSTER = "127.0.0.77"
# Minutes, not seconds: only a server that never stops makes the test wait this long.
STOP_WITHIN = 120


class Served:
    """gunicorn serving the test's stores, with stdout and stderr kept in files."""

    def __init__(self, overrides: dict[str, object], logs: Path) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.access = logs / "stdout.log"
        self.errors = logs / "stderr.log"
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("BTAM_") or key.startswith("BTAM_TEST_")
        }
        env |= {
            "BTAM_CONFIG": "testing",
            "BTAM_INSTANCE": str(overrides["instance"]),
            "BTAM_DATABASE_URL": str(overrides["database_url"]),
            "BTAM_AUDIT_DATABASE_URL": str(overrides["audit_database_url"]),
            "BTAM_SECRET_KEY": str(overrides["secret_key"]),
        }
        fd = self.listener.fileno()
        with self.access.open("wb") as out, self.errors.open("wb") as err:
            self.process = subprocess.Popen(  # noqa: S603 (a fixed command: the test's own server)
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--config",
                    "config/gunicorn.conf.py",
                    "--bind",
                    f"fd://{fd}",
                    "--workers",
                    "1",
                    "wsgi:app",
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=err,
                pass_fds=(fd,),
            )

    def request(
        self, method: str, path: str, body: dict[str, object] | None = None
    ) -> http.client.HTTPResponse:
        """One request from the tipster's address; the answer, read."""
        conn = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=STOP_WITHIN, source_address=(TIPSTER, 0)
        )
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
        conn.request(method, path, body=urlencode(body or {}), headers=headers)
        response = conn.getresponse()
        response.text = response.read().decode()  # type: ignore[attr-defined]
        conn.close()
        return response

    def malformed(self) -> bytes:
        """A request gunicorn cannot parse, from the tipster's address."""
        with socket.create_connection(
            ("127.0.0.1", self.port), timeout=STOP_WITHIN, source_address=(TIPSTER, 0)
        ) as conn:
            conn.sendall(b"POST /tip HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")
            return conn.recv(4096)

    def stop(self) -> tuple[str, str]:
        """Stop gracefully (the worker finishes and logs what it served); both logs."""
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(STOP_WITHIN)
        self.listener.close()
        return self.access.read_text(), self.errors.read_text()


@pytest.fixture
def served(overrides: dict[str, object], world: World, tmp_path: Path) -> Served:
    server = Served(overrides, tmp_path)
    yield server
    if server.process.poll() is None:
        server.process.kill()
        server.process.wait(STOP_WITHIN)


def test_no_log_of_the_served_app_holds_a_tipsters_address(
    app: Flask, world: World, served: Served
) -> None:
    page = served.request("GET", "/tip")
    assert page.status == 200
    sent = served.request("POST", "/tip", tip_form(world, what="A knife in the gym, row 4471."))
    assert sent.status == 200, sent.text  # type: ignore[attr-defined]
    request_id = sent.getheader("X-Request-Id")
    assert request_id
    code = CODE.search(sent.text)  # type: ignore[attr-defined]
    assert code
    follow_up = served.request("POST", "/tip/follow-up", {"code": code.group(1)})
    assert follow_up.status == 200
    assert served.request("GET", "/no/such/page").status == 302
    assert served.malformed().startswith(b"HTTP/1.1 400")

    access, errors = served.stop()
    assert TIPSTER not in access and TIPSTER not in errors
    # The access log is there, and names the tip by its request id.
    [tip_line] = [line for line in access.splitlines() if "POST /tip " in line]
    assert request_id in tip_line and " 200 " in tip_line
    assert "row 4471" not in access + errors


def test_a_store_failure_under_the_served_app_is_a_hardened_500_and_logs_no_value(
    app: Flask, world: World, served: Served
) -> None:
    with refusing_inserts(app, "reports") as store_message:
        failed = served.request("POST", "/tip", tip_form(world, what="Zebulon said 7731."))
    assert failed.status == 500
    assert "Something went wrong" in failed.text  # type: ignore[attr-defined]
    assert_hardened(_as_test_response(failed))

    access, errors = served.stop()
    logs = access + errors
    assert "unhandled" in errors  # logged, by type and frames
    for value in (TIPSTER, store_message, "Zebulon", "7731", "INSERT", "[parameters"):
        assert value not in logs, value


def _as_test_response(response: http.client.HTTPResponse) -> object:
    """The few parts of a werkzeug TestResponse that ``assert_hardened`` reads."""
    from werkzeug.datastructures import Headers

    class Answer:
        headers = Headers(response.getheaders())
        status_code = response.status

    return Answer()
