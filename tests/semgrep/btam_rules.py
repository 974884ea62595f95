"""What the rules of ``.semgrep.yml`` catch and leave alone (never imported or run):
``semgrep scan --config .semgrep.yml tests/semgrep/`` reports exactly the lines after each
``ruleid`` (the annotations of ``semgrep --test``) and nothing else."""
# ruff: noqa

from flask import Blueprint, request
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from wtforms import SelectField

csrf = CSRFProtect()
bp = Blueprint("x", __name__)


# ruleid: btam-csrf-exempt
@csrf.exempt
def decorated() -> str:
    return ""


def plain() -> str:
    return ""


# ruleid: btam-csrf-exempt
csrf.exempt(plain)
# ruleid: btam-csrf-exempt
csrf.exempt(bp)
# ruleid: btam-csrf-exempt
csrf.exempt("x.plain")
# ok: btam-csrf-exempt
csrf.protect()


class Tokenless(FlaskForm):
    # ruleid: btam-form-without-csrf
    class Meta:
        csrf = False


class Guarded(FlaskForm):
    # ok: btam-form-without-csrf
    class Meta:
        csrf = True


class Pick(FlaskForm):
    # ruleid: btam-int-of-typed-text
    team = SelectField(coerce=int)


def page() -> int:
    # ruleid: btam-int-of-typed-text
    return int(request.args.get("page", "1"))
