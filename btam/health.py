"""``/healthz``: whether both stores answer, for load balancers and monitoring."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from btam import web
from btam.access.decorators import public
from btam.db import store_is_reachable

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
def healthz() -> ResponseReturnValue:
    stores = web.runtime().stores
    state = {
        "case_store": "ok" if store_is_reachable(stores.case_engine) else "unavailable",
        "audit_store": "ok" if store_is_reachable(stores.audit_engine) else "unavailable",
    }
    healthy = all(value == "ok" for value in state.values())
    return jsonify(status="ok" if healthy else "degraded", **state), 200 if healthy else 503
