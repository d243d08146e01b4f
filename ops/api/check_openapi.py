#!/usr/bin/env python3
"""Check the Agency API's OpenAPI document, and a live node against it.

Requires Python 3.11 and:  pip install openapi-spec-validator==0.9.0
(which brings jsonschema and referencing); nothing else beyond the standard library.

Usage:
  check_openapi.py spec FILE
      FILE is a valid OpenAPI 3.1 document (openapi_spec_validator).
  check_openapi.py live BASE_URL TOKEN_FILE [--spec FILE]
      GET BASE_URL/openapi.json (no token) must validate and equal FILE (default: the
      repository's docs/openapi.json); then a short tour of the API with the bearer token in
      TOKEN_FILE, each response's status, Content-Type and body checked against the document.
      Timeout per request: HANARO_API_CHECK_TIMEOUT seconds (default 10).
  check_openapi.py selftest FILE
      Hand-made valid and invalid payloads against FILE's schemas (no server needed).

Exit status: 0 all checks passed, 1 some check failed, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable

import jsonschema
from jsonschema import Draft202012Validator

DOC_URI = "urn:hanaro:openapi"
DEFAULT_SPEC = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


# ---------------------------------------------------------------- document helpers

def load_json(path: str | Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def validate_document(doc: Any) -> None:
    """Raise on anything that is not a valid OpenAPI 3.1 document."""
    from openapi_spec_validator import OpenAPIV31SpecValidator, validate

    if not isinstance(doc, dict) or not str(doc.get("openapi", "")).startswith("3.1."):
        raise ValueError(f"openapi version is {doc.get('openapi') if isinstance(doc, dict) else None!r}, not 3.1.x")
    validate(doc, cls=OpenAPIV31SpecValidator)


def pointer(*segments: str) -> str:
    """A JSON pointer (RFC 6901), percent-encoded for use as a URI fragment."""
    escaped = [str(s).replace("~", "~0").replace("/", "~1") for s in segments]
    return urllib.parse.quote("/" + "/".join(escaped), safe="/~")


def follow(doc: dict, node: Any, ptr: list[str]) -> tuple[Any, list[str]]:
    """Follow local $refs (as in components/responses) until a non-$ref node."""
    seen = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/") or ref in seen:
            raise KeyError(f"unsupported or circular $ref {ref!r}")
        seen.add(ref)
        ptr = [urllib.parse.unquote(p).replace("~1", "/").replace("~0", "~") for p in ref[2:].split("/")]
        node = doc
        for p in ptr:
            node = node[p]
    return node, ptr


class Spec:
    """The document, with JSON Schema validators for its schemas."""

    def __init__(self, doc: dict):
        self.doc = doc
        self._validators: dict[str, Any] = {}
        try:  # jsonschema >= 4.18
            from referencing import Registry, Resource
            from referencing.jsonschema import DRAFT202012

            resource = Resource.from_contents(doc, default_specification=DRAFT202012)
            self._registry = Registry().with_resource(DOC_URI, resource)
            self._resolver = None
        except ImportError:  # older jsonschema: the deprecated RefResolver
            self._registry = None
            self._resolver = jsonschema.RefResolver(base_uri=DOC_URI, referrer=doc, store={DOC_URI: doc})

    def validator(self, ptr: str):
        """A Draft 2020-12 validator for the schema at JSON pointer ptr in the document."""
        if ptr not in self._validators:
            root = {"$ref": f"{DOC_URI}#{ptr}"}
            kwargs: dict[str, Any] = {"format_checker": Draft202012Validator.FORMAT_CHECKER}
            if self._registry is not None:
                kwargs["registry"] = self._registry
            else:
                kwargs["resolver"] = self._resolver
            self._validators[ptr] = Draft202012Validator(root, **kwargs)
        return self._validators[ptr]

    def schema_pointer(self, name: str) -> str:
        if name not in self.doc.get("components", {}).get("schemas", {}):
            raise KeyError(f"no schema {name!r} in components/schemas")
        return pointer("components", "schemas", name)

    def operation(self, method: str, template: str) -> dict:
        try:
            return self.doc["paths"][template][method.lower()]
        except KeyError:
            raise KeyError(f"no operation {method.upper()} {template} in the document") from None

    def response(self, method: str, template: str, status: int) -> tuple[dict, list[str]] | None:
        """The response object for this status (exact, then 4XX-style, then default), and its path."""
        responses = self.operation(method, template).get("responses", {})
        base = ["paths", template, method.lower(), "responses"]
        for key in (str(status), f"{str(status)[0]}XX", "default"):
            if key in responses:
                return follow(self.doc, responses[key], base + [key])
        return None

    def errors(self, ptr: str, instance: Any) -> list[str]:
        out = []
        for e in sorted(self.validator(ptr).iter_errors(instance), key=lambda e: list(e.absolute_path)):
            where = "/".join(str(p) for p in e.absolute_path) or "(body)"
            out.append(f"{where}: {e.message}")
        return out


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def check_response(spec: Spec, method: str, template: str, status: int,
                   content_type: str | None, body: bytes) -> list[str]:
    """Problems with a response, judged by the document ([] when it conforms)."""
    found = spec.response(method, template, status)
    if found is None:
        return [f"status {status} is not documented for {method.upper()} {template}"]
    resp, rptr = found
    content = resp.get("content") or {}
    if not content:
        return [] if not body.strip() else [f"status {status} documents no body but got {len(body)} bytes"]
    got = media_type(content_type)
    if got not in content:
        return [f"Content-Type {content_type!r}, document says {' or '.join(sorted(content))}"]
    try:
        instance = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        return [f"body is not JSON: {e}"]
    if "schema" not in content[got]:
        return [f"no schema for {got} at {'/'.join(rptr)}"]
    problems = spec.errors(pointer(*rptr, "content", got, "schema"), instance)
    if got == "application/problem+json" and isinstance(instance, dict) and instance.get("status") != status:
        problems.append(f"problem status {instance.get('status')!r} differs from HTTP status {status}")
    return problems


# ---------------------------------------------------------------- spec mode

def cmd_spec(args) -> int:
    try:
        doc = load_json(args.file)
        validate_document(doc)
    except Exception as e:  # noqa: BLE001 - report whatever is wrong
        print(f"openapi: {args.file} is not a valid OpenAPI 3.1 document: {type(e).__name__}: {e}")
        return 1
    print(f"openapi: {args.file} is a valid OpenAPI 3.1 document ({len(doc.get('paths', {}))} paths)")
    return 0


# ---------------------------------------------------------------- live mode

class Result:
    def __init__(self, status: int, headers, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8"))
        except Exception:  # noqa: BLE001
            return None


def http(method: str, url: str, token: str | None, payload: Any = None, timeout: float = 10.0) -> Result:
    data = None
    headers = {"Accept": "application/json, application/problem+json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if payload is not None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return Result(r.status, r.headers, r.read())
    except urllib.error.HTTPError as e:
        return Result(e.code, e.headers, e.read() or b"")


class Checks:
    def __init__(self):
        self.passed = 0
        self.failures: list[str] = []

    def record(self, name: str, problems: list[str]) -> bool:
        if problems:
            self.failures.append(f"{name}: {problems[0]}" + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""))
            print(f"FAIL {name}")
            for p in problems[:10]:
                print(f"       {p}")
            if len(problems) > 10:
                print(f"       ... {len(problems) - 10} more")
            return False
        self.passed += 1
        print(f"ok   {name}")
        return True

    def skip(self, name: str, why: str) -> None:
        print(f"skip {name}: {why}")


def cmd_live(args) -> int:
    base = args.base_url.rstrip("/")
    try:
        timeout = float(os.environ.get("HANARO_API_CHECK_TIMEOUT", "10"))
    except ValueError:
        print("HANARO_API_CHECK_TIMEOUT must be a number of seconds", file=sys.stderr)
        return 2
    try:
        token = Path(args.token_file).read_text(encoding="utf-8").strip()
        repo_doc = load_json(args.spec)
    except (OSError, json.JSONDecodeError) as e:
        print(f"cannot read input: {e}", file=sys.stderr)
        return 2
    if not token:
        print(f"{args.token_file} is empty", file=sys.stderr)
        return 2
    spec = Spec(repo_doc)
    checks = Checks()

    def call(name: str, method: str, template: str, path: str, expect: int,
             with_token: bool = True, payload: Any = None,
             extra: Callable[[Result], list[str]] | None = None) -> Result | None:
        try:
            r = http(method, base + path, token if with_token else None, payload, timeout)
        except (urllib.error.URLError, OSError, ValueError) as e:
            checks.record(name, [f"{method} {path}: {e}"])
            return None
        problems = []
        if r.status != expect:
            detail = ""
            body = r.json()
            if isinstance(body, dict) and "detail" in body:
                detail = f" ({body.get('detail')})"
            problems.append(f"{method} {path}: status {r.status}, expected {expect}{detail}")
        problems += check_response(spec, method, template, r.status, r.headers.get("Content-Type"), r.body)
        if extra is not None and not problems:
            problems += extra(r)
        checks.record(name, problems)
        return r

    # 1. the served document
    def served_document(r: Result) -> list[str]:
        served = r.json()
        try:
            validate_document(served)
        except Exception as e:  # noqa: BLE001
            return [f"served document is not valid OpenAPI 3.1: {type(e).__name__}: {e}"]
        if served != repo_doc:
            return [f"served document differs from {args.spec}"]
        return []
    call("openapi.json (no token): valid 3.1, equals " + str(args.spec), "GET", "/openapi.json", "/openapi.json", 200,
         with_token=False, extra=served_document)

    # 2. programs
    first = call("GET /v1/programs", "GET", "/v1/programs", "/v1/programs", 200)
    q = urllib.parse.quote("창업")
    limited = call("GET /v1/programs?q=창업&limit=5", "GET", "/v1/programs", f"/v1/programs?q={q}&limit=5", 200,
                   extra=lambda r: [] if len((r.json() or {}).get("items", [])) <= 5 else ["more than 5 items"])
    pages = [(p, f"q={q}&limit=5&") for p in [limited] if p is not None] + \
            [(p, "") for p in [first] if p is not None]
    followed = False
    for page, params in pages:
        body = page.json() if page.status == 200 else None
        cursor = body.get("next_cursor") if isinstance(body, dict) else None
        if cursor:
            call("GET /v1/programs next_cursor", "GET", "/v1/programs",
                 f"/v1/programs?{params}cursor={urllib.parse.quote(cursor, safe='')}", 200)
            followed = True
            break
    if not followed:
        checks.skip("GET /v1/programs next_cursor", "no next_cursor on the first pages")
    item = None
    for page in (first, limited):
        body = page.json() if page is not None and page.status == 200 else None
        if isinstance(body, dict) and body.get("items"):
            item = body["items"][0]
            break
    if isinstance(item, dict) and "agency" in item and "id" in item:
        path = f"/v1/programs/{urllib.parse.quote(str(item['agency']), safe='')}/{urllib.parse.quote(str(item['id']), safe='')}"
        call(f"GET /v1/programs/{{agency}}/{{id}} ({item['agency']}/{item['id']})", "GET", "/v1/programs/{agency}/{id}",
             path, 200)
    else:
        checks.skip("GET /v1/programs/{agency}/{id}", "no program listed")

    # 3. eligibility with a partial profile
    call("POST /v1/eligibility (partial profile)", "POST", "/v1/eligibility", "/v1/eligibility", 200,
         payload={"profile": {"region": "11", "business_age_months": 18}, "include": "all", "limit": 10})

    # 4. referrals and subscriptions (read-only)
    call("GET /v1/referrals", "GET", "/v1/referrals", "/v1/referrals", 200)
    call("GET /v1/subscriptions", "GET", "/v1/subscriptions", "/v1/subscriptions", 200)

    # 5. errors
    call("GET /v1/programs without token → 401", "GET", "/v1/programs", "/v1/programs", 401, with_token=False,
         extra=lambda r: [] if r.headers.get("WWW-Authenticate") else ["no WWW-Authenticate header"])
    call("GET /v1/programs?region=9 → 400", "GET", "/v1/programs", "/v1/programs?region=9", 400)

    print(f"api-check: {checks.passed} passed, {len(checks.failures)} failed")
    if checks.failures:
        print("failures:")
        for f in checks.failures:
            print(f"  - {f}")
        return 1
    return 0


# ---------------------------------------------------------------- selftest mode

def _program_summary(**over) -> dict:
    p = {
        "agency": "kodit", "id": "KODIT-000001", "title": "창업기업 보증", "summary": "창업 7년 이내 기업 보증",
        "category": "01", "category_name": "금융", "institution": "신용보증기금",
        "regions": ["11", "51110"], "industries": ["G47"],
        "period": {"start": "2025-01-02", "end": "2025-12-31", "text": None},
        "status": "open", "url": "https://www.kodit.co.kr/", "support_amount_krw": {"min": None, "max": 300000000},
        "score": -3.25,
    }
    p.update(over)
    return p


def _program(**over) -> dict:
    p = _program_summary()
    del p["score"]
    p.update({
        "eligibility": {"regions": [], "industries": ["G47"], "business_age_months": {"min": None, "max": 84},
                        "revenue_krw": {"min": None, "max": None}, "employees": {"min": None, "max": 50},
                        "owner_age": {"min": None, "max": None}, "targets": ["소상공인"]},
        "rate_basis_points": {"min": 250, "max": 450}, "contact": "1588-6565", "deleted": False, "version": "3",
    })
    p.update(over)
    return p


def _referral(**over) -> dict:
    r = {
        "id": "semas:SEMAS-R000123", "origin": "semas", "local_id": "SEMAS-R000123", "target": "kodit",
        "direction": "outgoing", "centre": "서울중부센터", "status": "sent", "needs_review": False,
        "business": {"trade_name": "하나로상회", "business_number": "123-45-67890", "address": None,
                     "region": "11", "ksic": "G47"},
        "needs": {"categories": ["01"], "summary": "운영자금 보증 상담"},
        "program": "kodit/KODIT-000001",
        "consent": {"scope": ["trade_name", "business_number"], "recipient": "kodit", "purpose": "보증 상담",
                    "retain_until": "2026-12-31"},
        "contact": {"owner_name": "홍길동", "phone": "010-0000-0000"},
        "history": [{"from": None, "to": "sent", "by": "semas", "at": "2025-03-01T09:00:00Z"}],
        "notes": [{"by": "semas", "text": "오전 연락 희망", "at": "2025-03-01T09:00:01+09:00"}],
        "version": "1", "updated_seq": 42,
    }
    r.update(over)
    return r


def _subscription(**over) -> dict:
    s = {
        "id": "sub_01", "url": "https://agency.example/hooks/hanaro", "events": ["program.matched"],
        "keywords": ["창업"], "has_profile": True, "agency": None, "category": "01", "state": "active",
        "disabled_reason": None, "created_at": "2025-03-01T09:00:00Z",
        "delivery": {"pending": 0, "delivered": 3, "failed_attempts": 1, "last_status": 200,
                     "last_attempt_at": "2025-03-02T10:00:00Z"},
    }
    s.update(over)
    return s


def _problem(**over) -> dict:
    p = {"type": "urn:hanaro:problem:bad-parameter", "title": "Bad parameter", "status": 400,
         "detail": "region must be 2 or 5 digits", "instance": "/v1/programs",
         "errors": [{"field": "region", "reason": "must be 2 or 5 digits"}]}
    p.update(over)
    return p


def selftest_cases() -> list[tuple[str, str, bool, Any]]:
    """(schema, label, should_pass, instance)."""
    answer = {
        "rules_version": "2025.1", "counts": {"eligible": 1, "ineligible": 1, "unknown": 1},
        "items": [
            {"agency": "kodit", "id": "KODIT-000001", "title": "창업기업 보증", "outcome": "eligible", "failed": [], "missing": []},
            {"agency": "semas", "id": "SEMAS-1", "title": "정책자금", "outcome": "ineligible",
             "failed": [{"criterion": "business_age_months", "requirement": "≤ 84", "actual": "120"}], "missing": []},
            {"agency": "kinfa", "id": "41", "title": "햇살론", "outcome": "unknown", "failed": [], "missing": ["revenue_krw", "owner_age"]},
        ],
        "next_cursor": None,
    }
    bad_answer = json.loads(json.dumps(answer))
    bad_answer["items"][2]["missing"] = ["income"]
    created = _subscription(secret="whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    return [
        ("ProgramPage", "two items, next_cursor string", True,
         {"items": [_program_summary(), _program_summary(id="KODIT-000002", score=None, category=None,
                                                          period={"start": None, "end": None, "text": "상시"})],
          "next_cursor": "eyJvIjoyMH0"}),
        ("ProgramPage", "last page (next_cursor null), empty", True, {"items": [], "next_cursor": None}),
        ("ProgramPage", "next_cursor missing", False, {"items": []}),
        ("ProgramPage", "unknown agency in an item", False, {"items": [_program_summary(agency="mss")], "next_cursor": None}),
        ("ProgramPage", "extra field in an item (drift)", False, {"items": [_program_summary(rank=1)], "next_cursor": None}),
        ("Program", "full program", True, _program()),
        ("Program", "score is not a Program field", False, _program(score=1.0)),
        ("Program", "bad date in period", False, _program(period={"start": "2025-13-01", "end": None, "text": None})),
        ("EligibilityAnswer", "three outcomes", True, answer),
        ("EligibilityAnswer", "missing names a non-profile field", False, bad_answer),
        ("EligibilityAnswer", "counts without unknown", False, {**answer, "counts": {"eligible": 1, "ineligible": 1}}),
        ("Referral", "outgoing with contact", True, _referral()),
        ("Referral", "incoming, contact absent, consent null", True,
         {k: v for k, v in _referral(direction="incoming", consent=None, program=None).items() if k != "contact"}),
        ("Referral", "contact null", True, _referral(contact=None)),
        ("Referral", "unknown status", False, _referral(status="pending")),
        ("Referral", "history time not date-time", False,
         _referral(history=[{"from": None, "to": "sent", "by": "semas", "at": "yesterday"}])),
        ("ReferralPage", "one referral", True, {"items": [_referral()], "next_cursor": None}),
        ("ReferralPage", "referral without version", False,
         {"items": [{k: v for k, v in _referral().items() if k != "version"}], "next_cursor": None}),
        ("Subscription", "active subscription", True, _subscription()),
        ("Subscription", "secret is never listed", False, _subscription(secret="whsec_x")),
        ("Subscription", "no events", False, _subscription(events=[])),
        ("SubscriptionCreated", "with its secret", True, created),
        ("SubscriptionCreated", "without secret", False, _subscription()),
        ("SubscriptionList", "one subscription", True, {"items": [_subscription(state="disabled", disabled_reason="410 Gone")]}),
        ("SubscriptionList", "delivery without counts", False, {"items": [_subscription(delivery={})]}),
        ("Problem", "with field errors", True, _problem()),
        ("Problem", "minimal", True, {"type": "urn:hanaro:problem:forbidden", "title": "Forbidden", "status": 403,
                                      "detail": "token lacks scope refer"}),
        ("Problem", "status as string", False, _problem(status="400")),
        ("Problem", "no detail", False, {k: v for k, v in _problem().items() if k != "detail"}),
        ("WebhookEvent", "program.matched", True,
         {"type": "program.matched", "timestamp": "2025-03-01T09:00:00Z",
          "data": {"key": "program/kodit/KODIT-000001", "agency": "kodit", "id": "KODIT-000001", "version": "3",
                   "url": "/v1/programs/kodit/KODIT-000001"}}),
        ("WebhookEvent", "personal data in data (not thin)", False,
         {"type": "referral.received", "timestamp": "2025-03-01T09:00:00Z",
          "data": {"key": "referral/semas:SEMAS-R1", "agency": "semas", "id": "semas:SEMAS-R1", "version": "1",
                   "url": "/v1/referrals/semas:SEMAS-R1", "owner_name": "홍길동"}}),
    ]


def cmd_selftest(args) -> int:
    checks = Checks()
    try:
        doc = load_json(args.file)
        validate_document(doc)
    except Exception as e:  # noqa: BLE001
        print(f"FAIL {args.file} is not a valid OpenAPI 3.1 document: {e}")
        return 1
    checks.record(f"{args.file} is a valid OpenAPI 3.1 document", [])
    spec = Spec(doc)

    # every documented response body resolves to a schema that compiles
    problems = []
    for template, item in doc.get("paths", {}).items():
        for method in HTTP_METHODS:
            op = item.get(method)
            if not op:
                continue
            for status in op.get("responses", {}):
                resp, rptr = follow(doc, op["responses"][status], ["paths", template, method, "responses", status])
                for mt, media in (resp.get("content") or {}).items():
                    if "schema" not in media:
                        problems.append(f"{method.upper()} {template} {status} {mt}: no schema")
                        continue
                    try:
                        spec.errors(pointer(*rptr, "content", mt, "schema"), {})
                    except Exception as e:  # noqa: BLE001
                        problems.append(f"{method.upper()} {template} {status} {mt}: {e}")
                    want = "application/problem+json" if status[0] in "45" else "application/json"
                    if mt != want:
                        problems.append(f"{method.upper()} {template} {status}: media type {mt}, expected {want}")
    checks.record("every response body has a resolvable schema and the right media type", problems)

    for schema, label, should_pass, instance in selftest_cases():
        errs = spec.errors(spec.schema_pointer(schema), instance)
        name = f"{schema}: {label} ({'valid' if should_pass else 'invalid'})"
        if should_pass:
            checks.record(name, errs)
        else:
            checks.record(name, [] if errs else ["accepted, but should have been refused"])

    # the live checker's response judgement, on canned responses
    page = json.dumps({"items": [_program_summary()], "next_cursor": None}).encode()
    prob = json.dumps(_problem(type="urn:hanaro:problem:unauthorized", title="Unauthorized", status=401,
                               detail="no token")).encode()
    canned = [
        ("200 application/json page", ("get", "/v1/programs", 200, "application/json; charset=utf-8", page), True),
        ("200 page as problem+json", ("get", "/v1/programs", 200, "application/problem+json", page), False),
        ("401 problem+json", ("get", "/v1/programs", 401, "application/problem+json", prob), True),
        ("401 problem as application/json", ("get", "/v1/programs", 401, "application/json", prob), False),
        ("400 problem whose status says 401", ("get", "/v1/programs", 400, "application/problem+json", prob), False),
        ("204 empty body", ("delete", "/v1/subscriptions/{id}", 204, None, b""), True),
        ("undocumented 418", ("get", "/v1/programs", 418, "application/json", b"{}"), False),
        ("body not JSON", ("get", "/v1/referrals", 200, "application/json", b"<html>"), False),
    ]
    for label, (m, t, st, ct, body), should_pass in canned:
        errs = check_response(spec, m, t, st, ct, body)
        name = f"check_response: {label} ({'conforms' if should_pass else 'refused'})"
        checks.record(name, errs if should_pass else ([] if errs else ["accepted, but should have been refused"]))

    print(f"selftest: {checks.passed} passed, {len(checks.failures)} failed")
    if checks.failures:
        print("failures:")
        for f in checks.failures:
            print(f"  - {f}")
        return 1
    return 0


# ---------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("spec", help="validate an OpenAPI 3.1 document")
    p.add_argument("file")
    p.set_defaults(func=cmd_spec)
    p = sub.add_parser("live", help="check a running node against the document")
    p.add_argument("base_url")
    p.add_argument("token_file")
    p.add_argument("--spec", default=str(DEFAULT_SPEC), help=f"the repository's document (default {DEFAULT_SPEC})")
    p.set_defaults(func=cmd_live)
    p = sub.add_parser("selftest", help="validate hand-made payloads against the document's schemas")
    p.add_argument("file")
    p.set_defaults(func=cmd_selftest)
    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
