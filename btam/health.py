"""``/healthz``: whether both stores take a write, for load balancers and monitoring."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from btam import web
from btam.access.decorators import public
from btam.store_probe import audit_store_probe, case_store_probe, takes_writes

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
def healthz() -> ResponseReturnValue:
    stores = web.runtime().stores
    # A store that answers reads but refuses writes fails every audited action, so only an
    # INSERT (rolled back) tells the truth.
    writable = {
        "case_store": takes_writes(stores.case_engine, case_store_probe),
        "audit_store": takes_writes(stores.audit_engine, audit_store_probe),
    }
    state = {store: "ok" if ok else "unavailable" for store, ok in writable.items()}
    healthy = all(value == "ok" for value in state.values())
    return jsonify(status="ok" if healthy else "degraded", **state), 200 if healthy else 503
