"""Schemathesis hooks for the API fuzz run (.ci/api-fuzz): requests of the Studio API are signed
with the seeded App's Upload Key as the README's "Writing a client of your own" says, so the
fuzzer gets past the signature to the checks behind it; each request comes from its own client
address (the server trusts 127.0.0.1 as a proxy for the run), so the per-address limits on
refusals don't slow the run to a crawl. Environment: MPDP_UPLOAD_KEY, MPDP_ACCESS_KEY."""

import base64
import hashlib
import itertools
import os
import secrets
import time
import uuid

import schemathesis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

UPLOAD_KEY = os.environ["MPDP_UPLOAD_KEY"]
ACCESS_KEY = os.environ["MPDP_ACCESS_KEY"]
# A mini program with released versions and a released bundle, so most requests reach what is
# behind "no such mini program": three in four generated ids and hashes are replaced by these.
MINI_PROGRAM = os.environ["MPDP_MINI_PROGRAM"]
BUNDLE_SHA256 = os.environ["MPDP_BUNDLE_SHA256"]


def _b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


_SEED = _b64url_decode(UPLOAD_KEY[len("mpuk_"):])
_KEY = Ed25519PrivateKey.from_private_bytes(_SEED)
_KEY_ID = hashlib.sha256(_KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()[:16]


def _bytes(body):
    if body is None:
        return b""
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode()
    return str(body).encode()


@schemathesis.serializer("application/gzip")
def gzip_body(ctx, value):
    return _bytes(value)


def _headers(case):
    """The case's headers, made an empty dict first if it has none."""
    if case.headers is None:
        case.headers = {}
    return case.headers


def _canonical_id(raw):
    try:
        return str(uuid.UUID(str(raw)))
    except ValueError:
        return str(raw)


@schemathesis.hook
def map_path_parameters(context, path_parameters):
    if not isinstance(path_parameters, dict):
        return path_parameters
    for name, known in (("id", MINI_PROGRAM), ("sha256", BUNDLE_SHA256)):
        value = path_parameters.get(name)
        if value is not None and hashlib.sha256(str(value).encode()).digest()[0] < 192:
            path_parameters[name] = known
    return path_parameters


# Hypothesis seeds `random` for each test, so addresses are counted, not drawn.
_ADDRESSES = itertools.count(1)


@schemathesis.hook
def before_call(context, case, kwargs):
    """Each request from an address of its own (198.18.0.0/15, for benchmarks)."""
    n = next(_ADDRESSES) % (2 * 65536 - 2) + 1
    _headers(case)["X-Forwarded-For"] = "198.%d.%d.%d" % (18 + n // 65536, (n // 256) % 256, n % 256)


@schemathesis.auth().apply_to(path_regex="^/api/container/")
class AccessingKey:
    """The seeded App's Accessing Key, for the container API."""

    def get(self, case, ctx):
        return ACCESS_KEY

    def set(self, case, data, ctx):
        _headers(case)["Authorization"] = "Bearer " + data


@schemathesis.auth(refresh_interval=None).apply_to(path_regex="/versions$")
class UploadSignature:
    """The seeded App's Upload Key signs each request of the Studio API anew."""

    def get(self, case, ctx):
        return _KEY

    def set(self, case, data, ctx):
        _sign(case, _headers(case))


def _sign(case, headers):
    mini_program = _canonical_id((case.path_parameters or {}).get("id", ""))
    ts = int(time.time())
    nonce = secrets.token_hex(16)
    if case.method.upper() == "POST":
        body = _bytes(case.body)
        digest = hashlib.sha256(body).hexdigest()
        version = str(headers.get("MPDP-Version", "")).strip()
        message = "\n".join(["MPDP-UPLOAD-V1", mini_program, version, digest, str(len(body)), str(ts), nonce])
        fields = "key=%s,ts=%d,nonce=%s,sha256=%s,size=%d" % (_KEY_ID, ts, nonce, digest, len(body))
    else:
        message = "\n".join(["MPDP-LIST-V1", mini_program, str(ts), nonce])
        fields = "key=%s,ts=%d,nonce=%s" % (_KEY_ID, ts, nonce)
    headers["MPDP-Signature"] = fields + ",sig=" + _b64url(_KEY.sign(message.encode()))
