"""TOTP codes (RFC 6238) with replay refusal, recovery codes and the server-rendered QR code."""

from __future__ import annotations

import base64
import re
import string
import xml.etree.ElementTree as ET
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from btam.security import mfa

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = 1_800_000_015.0  # 15 seconds into a time step
STEP = int(NOW // 30)


def code_at(step: int, secret: str = SECRET) -> str:
    return pyotp.TOTP(secret).at(step * 30)


# --- accepting codes -----------------------------------------------------------------------


def test_the_current_code_is_accepted_and_its_step_returned() -> None:
    assert mfa.accept_totp(SECRET, code_at(STEP), last_step=0, now=NOW) == STEP


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_a_code_one_step_either_side_is_accepted_for_clock_drift(offset: int) -> None:
    assert mfa.accept_totp(SECRET, code_at(STEP + offset), last_step=0, now=NOW) == STEP + offset


@pytest.mark.parametrize("offset", [-3, -2, 2, 3, -100])
def test_a_code_further_away_is_refused(offset: int) -> None:
    code = code_at(STEP + offset)
    assert code not in {code_at(STEP - 1), code_at(STEP), code_at(STEP + 1)}
    assert mfa.accept_totp(SECRET, code, last_step=0, now=NOW) is None


def test_the_window_follows_the_clock() -> None:
    code = code_at(STEP)
    assert mfa.accept_totp(SECRET, code, last_step=0, now=NOW + 30) == STEP
    assert mfa.accept_totp(SECRET, code, last_step=0, now=NOW + 60) is None


def test_a_code_of_another_secret_is_refused() -> None:
    other = "KRUGKIDROVUWG2ZAMJZG653OEBTG66BA"
    assert code_at(STEP, other) != code_at(STEP)
    assert mfa.accept_totp(SECRET, code_at(STEP, other), last_step=0, now=NOW) is None


def test_a_used_code_cannot_be_replayed() -> None:
    step = mfa.accept_totp(SECRET, code_at(STEP), last_step=0, now=NOW)
    assert step == STEP
    assert mfa.accept_totp(SECRET, code_at(STEP), last_step=step, now=NOW) is None


def test_after_a_code_is_used_no_earlier_code_works_either() -> None:
    """A code seen over a shoulder a minute ago is worthless once a later one was used."""
    last = mfa.accept_totp(SECRET, code_at(STEP + 1), last_step=0, now=NOW)
    assert last == STEP + 1
    for step in (STEP - 1, STEP, STEP + 1):
        assert mfa.accept_totp(SECRET, code_at(step), last_step=last, now=NOW) is None


def test_a_later_code_still_works_after_an_earlier_one() -> None:
    assert mfa.accept_totp(SECRET, code_at(STEP + 1), last_step=STEP, now=NOW) == STEP + 1


@given(last_step=st.integers(min_value=STEP + 1, max_value=STEP + 10**6))
def test_nothing_is_accepted_at_or_before_the_last_step(last_step: int) -> None:
    for step in (STEP - 1, STEP, STEP + 1):
        assert mfa.accept_totp(SECRET, code_at(step), last_step=last_step, now=NOW) is None


def test_spaces_typed_inside_a_code_do_not_matter() -> None:
    code = code_at(STEP)
    spaced = f" {code[:3]} {code[3:]}\t"
    assert mfa.accept_totp(SECRET, spaced, last_step=0, now=NOW) == STEP


@pytest.mark.parametrize(
    "code",
    [
        "",
        " ",
        "12345",
        "1234567",
        "abcdef",
        "12345a",
        "-12345",
        "+12345",
        "123.45",
        "12345\x00",
        "0x1234",
        "1" * 1000,
        "١٢٣٤٥٦",  # Arabic-Indic digits
        "１２３４５６",  # full-width digits
        "²³⁴⁵⁶⁷",  # superscripts: str.isdigit() says yes
        "𝟏𝟐𝟑𝟒𝟓𝟔",  # mathematical bold digits
    ],
)
def test_malformed_codes_are_refused_without_error(code: str) -> None:
    assert mfa.accept_totp(SECRET, code, last_step=0, now=NOW) is None


def test_a_non_ascii_lookalike_of_the_right_code_is_refused() -> None:
    code = code_at(STEP)
    fullwidth = "".join(chr(ord("０") + int(d)) for d in code)
    assert mfa.accept_totp(SECRET, fullwidth, last_step=0, now=NOW) is None


@given(st.text(max_size=16))
def test_any_text_is_answered_with_a_step_or_none_never_an_error(code: str) -> None:
    result = mfa.accept_totp(SECRET, code, last_step=0, now=NOW)
    cleaned = "".join(code.split())
    if result is not None:
        assert re.fullmatch(r"[0-9]{6}", cleaned)
        assert result in {STEP - 1, STEP, STEP + 1}


# --- secrets and the QR code ---------------------------------------------------------------


def test_a_totp_secret_has_160_random_bits() -> None:
    secrets = {mfa.new_totp_secret() for _ in range(200)}
    assert len(secrets) == 200
    for secret in secrets:
        assert re.fullmatch(r"[A-Z2-7]{32}", secret)
        assert len(base64.b32decode(secret)) == 20


def test_the_provisioning_uri_names_the_issuer_and_escapes_the_user_name() -> None:
    uri = mfa.provisioning_uri(SECRET, 'lead"><script>alert(1)</script>')
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth" and parts.netloc == "totp"
    query = parse_qs(parts.query)
    assert query["secret"] == [SECRET]
    assert query["issuer"] == ["BTAM"]
    assert "<" not in uri and '"' not in uri and " " not in uri


# The only elements and attributes an inline QR code needs. Anything else (script, style,
# foreignObject, links, event handlers) could run code or be blocked by the CSP.
SVG_TAGS = {"svg", "g", "path", "rect"}
SVG_ATTRIBUTES = {"width", "height", "class", "transform", "fill", "stroke", "d", "viewBox"}


@pytest.mark.parametrize(
    "username",
    ["lead_ben", '"><script>alert(1)</script>', "x" * 64, "javascript:alert(1)"],
)
def test_the_qr_code_is_plain_svg_without_script_or_inline_style(username: str) -> None:
    svg = mfa.qr_svg(mfa.provisioning_uri(mfa.new_totp_secret(), username))
    lowered = svg.lower()
    for forbidden in ("<script", "javascript:", "<foreignobject", "href", "<style", "style="):
        assert forbidden not in lowered, forbidden
    assert not re.search(r"\son[a-z]+\s*=", lowered)  # no event handlers
    root = ET.fromstring(svg)  # noqa: S314  (our own SVG, parsed only to inspect it)
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        assert tag in SVG_TAGS, tag
        assert set(element.attrib) <= SVG_ATTRIBUTES, element.attrib
        assert not (element.text or "").strip()  # no text: the secret is in the modules only


def test_the_qr_code_depends_on_the_secret() -> None:
    a = mfa.qr_svg(mfa.provisioning_uri(mfa.new_totp_secret(), "lead_ben"))
    b = mfa.qr_svg(mfa.provisioning_uri(mfa.new_totp_secret(), "lead_ben"))
    assert a != b


# --- recovery codes ------------------------------------------------------------------------

RECOVERY = re.compile(r"[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}")


def test_ten_recovery_codes_in_the_readable_format() -> None:
    codes = mfa.new_recovery_codes()
    assert len(codes) == 10
    assert len(set(codes)) == 10
    for code in codes:
        assert RECOVERY.fullmatch(code), code


def test_each_recovery_code_carries_80_random_bits() -> None:
    codes = [code for _ in range(100) for code in mfa.new_recovery_codes()]
    assert len(set(codes)) == len(codes)
    for code in codes[:50]:
        assert len(base64.b32decode(code.replace("-", "").upper())) == 10
    symbols = Counter("".join(codes).replace("-", ""))
    # 16,000 symbols from an alphabet of 32: each appears, none dominates.
    assert set(symbols) == set(string.ascii_lowercase + "234567")
    assert max(symbols.values()) < 2 * min(symbols.values())


@pytest.mark.parametrize(
    "typed",
    [
        lambda c: c,
        lambda c: c.upper(),
        lambda c: c.replace("-", ""),
        lambda c: c.replace("-", " "),
        lambda c: f"  {c}\n",
        lambda c: c.upper().replace("-", " - "),
    ],
)
def test_a_recovery_code_matches_however_it_is_typed(typed: object) -> None:
    code = mfa.new_recovery_codes()[0]
    assert mfa.recovery_code_digest(typed(code)) == mfa.recovery_code_digest(code)  # type: ignore[operator]


def test_a_different_recovery_code_does_not_match() -> None:
    code = mfa.new_recovery_codes()[0]
    last = code[-1]
    changed = code[:-1] + ("a" if last != "a" else "b")
    assert mfa.recovery_code_digest(changed) != mfa.recovery_code_digest(code)


def test_the_recovery_code_digest_is_a_sha256_hex_that_hides_the_code() -> None:
    code = mfa.new_recovery_codes()[0]
    digest = mfa.recovery_code_digest(code)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert code.replace("-", "") not in digest


@given(st.text(max_size=40))
def test_any_typed_text_digests_without_error(typed: str) -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", mfa.recovery_code_digest(typed))
