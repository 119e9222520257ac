"""``AWS_IAM`` methods: the request's SigV4 signature is recomputed with botocore and compared, as API Gateway does.

Credentials the emulator knows: the test key pair every local client uses (``python_stacks/target.py``), access
keys created in the emulator's IAM (users), and temporary keys from its STS ``AssumeRole`` (the session token must
match). Anything else is an unknown key. Refusals carry API Gateway's bodies and error types: no Authorization
header → ``Missing Authentication Token``; a malformed one → ``IncompleteSignatureException``; an unknown key →
``The security token included in the request is invalid.``; a wrong signature → ``InvalidSignatureException`` with
the canonical request and string to sign API Gateway expected (as AWS prints them, to debug a client); a clock off
by more than 5 minutes → ``Signature expired`` / ``not yet current``.

Not emulated (docs/emulator.md): IAM policy evaluation (a known, valid signature is allowed to invoke; AWS would
also check ``execute-api:Invoke`` in the caller's policies), SigV4 in the query string (presigned URLs), SigV4a.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast
from urllib.parse import unquote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.iam.models import IAMBackend, iam_backends
from moto.sts.models import AssumedRole, STSBackend, sts_backends

from local_cloud.apigateway_http import (
    MISSING_AUTHENTICATION_TOKEN,
    UNRECOGNIZED_CLIENT,
    GatewayError,
    Request,
    incomplete_signature,
    invalid_signature,
)
from python_stacks.target import TEST_ACCESS_KEY, TEST_SECRET_KEY

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "execute-api"
MAX_CLOCK_SKEW = timedelta(minutes=5)
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access "
    "Key and signing method. Consult the service documentation for details.\n\n"
    "The Canonical String for this request should have been\n'{canonical}'\n\n"
    "The String-to-Sign should have been\n'{string_to_sign}'\n"
)


@dataclass(frozen=True)
class Caller:
    """The signer, as requestContext.identity reports it."""

    access_key: str
    account_id: str
    caller: str  # IAM user id, or role id:session name for an assumed role
    user_arn: str


@dataclass(frozen=True)
class _KnownKey:
    secret_key: str
    session_token: str | None  # required (and compared) for temporary credentials
    account_id: str


@dataclass(frozen=True)
class _Authorization:
    access_key: str
    scope_date: str
    scope_region: str
    scope_service: str
    signed_headers: tuple[str, ...]
    signature: str


def authenticate(request: Request, api_region: str, now: datetime | None = None) -> Caller:
    """The verified caller of a SigV4-signed request, or a GatewayError with API Gateway's refusal."""
    header = request.header("Authorization")
    if not header:
        raise GatewayError(MISSING_AUTHENTICATION_TOKEN, "AWS_IAM method called without an Authorization header")
    amz_date = request.header("X-Amz-Date")
    authorization = _parse(header, has_date=bool(amz_date or request.header("Date")))
    key = _known_key(authorization.access_key)
    token = request.header("X-Amz-Security-Token")
    if key is None or (key.session_token is not None and not hmac.compare_digest(key.session_token, token or "")):
        raise GatewayError(UNRECOGNIZED_CLIENT, f"unknown access key {authorization.access_key}")
    if not amz_date:
        # A Date header alone is allowed by SigV4 but no AWS SDK signs that way; say what is missing.
        raise GatewayError(
            incomplete_signature(f"Date header is not supported here, sign X-Amz-Date. Authorization={header}")
        )
    signed_at = _signing_time(amz_date, header)
    _check_clock(amz_date, signed_at, now or datetime.now(UTC))
    if authorization.scope_date != amz_date[:8]:
        raise GatewayError(
            invalid_signature(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
                f"'{authorization.scope_date}' != '{amz_date[:8]}', from '{amz_date}'."
            )
        )
    if authorization.scope_service != SERVICE:
        raise GatewayError(invalid_signature(f"Credential should be scoped to correct service: '{SERVICE}'. "))
    if authorization.scope_region != api_region:
        raise GatewayError(invalid_signature("Credential should be scoped to a valid region. "))

    canonical, string_to_sign, expected = expected_signature(
        request,
        authorization.signed_headers,
        Credentials(authorization.access_key, key.secret_key, token),
        api_region,
        amz_date,
    )
    claimed_payload = request.header("X-Amz-Content-SHA256")
    payload_ok = claimed_payload is None or claimed_payload == hashlib.sha256(request.body).hexdigest()
    if not (payload_ok and hmac.compare_digest(expected, authorization.signature)):
        raise GatewayError(
            invalid_signature(SIGNATURE_MISMATCH.format(canonical=canonical, string_to_sign=string_to_sign)),
            f"signature mismatch for {authorization.access_key}",
        )
    return identity(authorization.access_key, key.account_id, api_region)


def _parse(header: str, has_date: bool) -> _Authorization:
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise GatewayError(
            incomplete_signature(
                f"Invalid key=value pair (missing equal-sign) in Authorization header (hashed with SHA-256 and encoded "
                f"with Base64): '{_hashed(header)}'."
            )
        )
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, equals, value = part.strip().partition("=")
        if name and equals:
            fields[name] = value.strip()
    missing = [
        f"Authorization header requires '{name}' parameter. "
        for name in ("Credential", "Signature", "SignedHeaders")
        if not fields.get(name)
    ]
    if not has_date:
        missing.append("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ")
    if missing:
        raise GatewayError(incomplete_signature("".join(missing) + f"Authorization={header}"))
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise GatewayError(
            incomplete_signature(f"Credential should be scoped to a valid region. Credential={fields['Credential']}")
        )
    return _Authorization(
        access_key=scope[0],
        scope_date=scope[1],
        scope_region=scope[2],
        scope_service=scope[3],
        signed_headers=tuple(name.strip().lower() for name in fields["SignedHeaders"].split(";") if name.strip()),
        signature=fields["Signature"],
    )


def _hashed(value: str) -> str:
    return base64.b64encode(hashlib.sha256(value.encode()).digest()).decode()


def _signing_time(amz_date: str, header: str) -> datetime:
    try:
        return datetime.strptime(amz_date, AMZ_DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise GatewayError(
            incomplete_signature(
                f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See "
                f"http://en.wikipedia.org/wiki/ISO_8601 Authorization={header}"
            )
        ) from None


def _check_clock(amz_date: str, signed_at: datetime, now: datetime) -> None:
    def stamp(moment: datetime) -> str:
        return moment.strftime(AMZ_DATE_FORMAT)

    if signed_at < now - MAX_CLOCK_SKEW:
        raise GatewayError(
            invalid_signature(
                f"Signature expired: {amz_date} is now earlier than {stamp(now - MAX_CLOCK_SKEW)}"
                f" ({stamp(now)} - 5 min.)"
            )
        )
    if signed_at > now + MAX_CLOCK_SKEW:
        raise GatewayError(
            invalid_signature(
                f"Signature not yet current: {amz_date} is still later than {stamp(now + MAX_CLOCK_SKEW)} "
                f"({stamp(now)} + 5 min.)"
            )
        )


class _Verifier(SigV4Auth):  # type: ignore[misc]  # botocore has no type information
    """botocore's SigV4 with exactly the headers the client signed and the body as received."""

    def __init__(self, credentials: Credentials, region: str, signed_headers: tuple[str, ...]) -> None:
        super().__init__(credentials, SERVICE, region)
        self._signed = signed_headers

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        headers = HTTPHeaders()
        for name in self._signed:
            value = request.headers.get(name)
            if value is not None:
                headers[name] = value
        return headers

    def payload(self, request: AWSRequest) -> str:
        return hashlib.sha256(request.body or b"").hexdigest()


def expected_signature(
    request: Request, signed_headers: tuple[str, ...], credentials: Credentials, region: str, amz_date: str
) -> tuple[str, str, str]:
    """(canonical request, string to sign, signature) that a correct signer of ``request`` produced."""
    values = {name.lower(): value for name, value in request.headers}
    values["host"] = request.host
    pairs = []
    for pair in request.query.split("&") if request.query else []:
        name, _, value = pair.partition("=")
        pairs.append((unquote(name), unquote(value)))
    aws_request = AWSRequest(
        method=request.method,
        url=f"http://{request.host or 'localhost'}{request.raw_path}",
        headers={name: values[name] for name in signed_headers if name in values},
        data=request.body,
        params=pairs,
    )
    aws_request.context["timestamp"] = amz_date
    verifier = _Verifier(credentials, region, signed_headers)
    canonical = verifier.canonical_request(aws_request)
    string_to_sign = verifier.string_to_sign(aws_request, canonical)
    return canonical, string_to_sign, verifier.signature(string_to_sign, aws_request)


def _known_key(access_key: str) -> _KnownKey | None:
    if access_key == TEST_ACCESS_KEY:
        return _KnownKey(TEST_SECRET_KEY, None, DEFAULT_ACCOUNT_ID)
    for account_id, _partition, found in list(iam_backends.iter_backends()):
        key = cast(IAMBackend, found).access_keys.get(access_key)
        if key is None or key.status != "Active":
            continue
        token = None
        if key.user_name is None:  # a temporary key (AssumeRole): valid only with its session token
            role = _assumed_role(account_id, access_key)
            if role is None:
                return None
            token = role.session_token
        return _KnownKey(key.secret_access_key, token, account_id)
    return None


def _assumed_role(account_id: str, access_key: str) -> AssumedRole | None:
    for _account, _partition, backend in list(sts_backends.iter_backends()):
        role = cast(STSBackend, backend).get_assumed_role_from_access_key(access_key)
        if role is not None:
            return role
    return None


def identity(access_key: str, account_id: str, region: str) -> Caller:
    """Who the key belongs to, exactly as the emulator's STS GetCallerIdentity answers for it."""
    user_id, arn, owner = sts_backends[account_id]["aws"].get_caller_identity(access_key, region)
    return Caller(access_key=access_key, account_id=owner, caller=user_id, user_arn=arn)
