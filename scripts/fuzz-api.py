#!/usr/bin/env python3
"""Fuzz BooGYMan's JSON API with bad input, driven by its OpenAPI document.

For every operation in Sources/GymWeb/Resources/openapi.yaml it sends generated bad values for every
path parameter, query parameter and JSON body field (extreme integers, 2^63, -1, fractions, NUL and
other control characters, 1 MB strings, impossible and out-of-range dates, wrong types, deep
nesting), and whole bodies that are not what the operation takes (malformed JSON, other JSON types,
deeply nested arrays and objects, invalid UTF-8, bodies over the upload limit). A value is only
sent as "bad" when the document's own schema refuses it, so the document and the server are checked
against each other. For each answer it asserts:

- the server answered (the process is still up; /healthz is polled between operations),
- no 5xx,
- a 4xx status the operation documents, in the documented error shape
  `{"error": {"status", "code", "message", "fields"}}` (with `fields` on 422),
- the security headers (X-Content-Type-Options, Referrer-Policy, frame denial) on every response,

and, at the end, that nothing changed in the database: every list and object the API can read is
fetched before and after, and the two snapshots must be identical.

It creates a few fixtures (a club, studio, plan, member and subscription, tagged with a random run
tag), fuzzes, compares, and deletes the fixtures again. Use scripts/run-fuzz.sh to run it against a
freshly started server. Prints the number of requests sent and ends with `fuzz: N passed, M failed`.

Requires PyYAML (scripts/requirements-openapi.txt); everything else is the standard library.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import re
import secrets
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any, Iterable, Optional

import yaml

DEFAULT_SPEC = Path(__file__).resolve().parent.parent / "Sources" / "GymWeb" / "Resources" / "openapi.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")
MEGABYTE = 1024 * 1024
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
SUPPORTED_YEARS = range(1900, 2201)  # the document's "Dates and instants": years 1900 to 2200
SECURITY_HEADERS = {
    "x-content-type-options": lambda v: v.lower() == "nosniff",
    "referrer-policy": lambda v: v.lower() in ("same-origin", "no-referrer", "strict-origin", "strict-origin-when-cross-origin"),
}
# GET operations whose answers change by themselves (clocks, counters): not part of the snapshot.
VOLATILE = {"/healthz", "/readyz", "/metrics", "/api/v1/sync/status", "/api/v1/members/{id}/access", "/api/v1/openapi.yaml"}
MISSING = object()


class Failure(Exception):
    pass


# ---- a small JSON Schema validator (what the document uses) --------------------------------------


class Schemas:
    def __init__(self, spec: dict):
        self.spec = spec

    def resolve(self, schema: Any) -> Any:
        while isinstance(schema, dict) and "$ref" in schema:
            target: Any = self.spec
            for part in schema["$ref"].lstrip("#/").split("/"):
                target = target[part]
            merged = dict(target)
            merged.update({k: v for k, v in schema.items() if k != "$ref"})
            schema = merged
        return schema

    def flatten(self, schema: Any) -> dict:
        """A schema with its $refs and allOf merged, for reading properties and limits."""
        schema = self.resolve(schema)
        if not isinstance(schema, dict):
            return {}
        out = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema.get("allOf", []):
            part = self.flatten(part)
            props = dict(out.get("properties", {}))
            props.update(part.get("properties", {}))
            for key, value in part.items():
                if key == "required":
                    out["required"] = sorted(set(out.get("required", [])) | set(value))
                elif key != "properties":
                    out.setdefault(key, value)
            if props:
                out["properties"] = props
        return out

    def errors(self, value: Any, schema: Any, path: str = "$", request: bool = False) -> list[str]:
        """Why `value` does not fit `schema`. With `request`, also the rule the document's Conventions
        state for every text a client sends: no control characters (multi-line fields may hold tab,
        line feed and carriage return)."""
        schema = self.resolve(schema)
        if schema is True or schema is None:
            return []
        if schema is False:
            return [f"{path}: not allowed"]
        problems: list[str] = []
        for part in schema.get("allOf", []):
            problems += self.errors(value, part, path, request)
        types = schema.get("type")
        if types is not None:
            types = types if isinstance(types, list) else [types]
            if not any(_is_type(value, t) for t in types):
                return problems + [f"{path}: {value!r:.60} is not {types}"]
        if "const" in schema and value != schema["const"]:
            problems.append(f"{path}: must be {schema['const']!r}")
        if "enum" in schema and value not in schema["enum"]:
            problems.append(f"{path}: not one of {schema['enum']}")
        if isinstance(value, str):
            if len(value) > schema.get("maxLength", len(value)):
                problems.append(f"{path}: longer than {schema['maxLength']}")
            if len(value) < schema.get("minLength", 0):
                problems.append(f"{path}: shorter than {schema['minLength']}")
            if "pattern" in schema and not re.search(schema["pattern"], value):
                problems.append(f"{path}: does not match {schema['pattern']}")
            fmt = schema.get("format")
            if fmt and not _format_ok(fmt, value):
                problems.append(f"{path}: not a valid {fmt}")
            if request and CONTROL_RE.search(value):
                problems.append(f"{path}: holds a control character")
        if _is_type(value, "number"):
            if "minimum" in schema and value < schema["minimum"]:
                problems.append(f"{path}: below {schema['minimum']}")
            if "maximum" in schema and value > schema["maximum"]:
                problems.append(f"{path}: above {schema['maximum']}")
            if _is_type(value, "integer") and not (INT64_MIN <= value <= INT64_MAX - 1023 if isinstance(value, float) else INT64_MIN <= value <= INT64_MAX):
                problems.append(f"{path}: outside 64-bit integers")  # every integer here is an int64
        if isinstance(value, list):
            if len(value) < schema.get("minItems", 0):
                problems.append(f"{path}: fewer than {schema['minItems']} items")
            if "items" in schema:
                for index, item in enumerate(value):
                    problems += self.errors(item, schema["items"], f"{path}[{index}]", request)
            if schema.get("uniqueItems") and len({json.dumps(v, sort_keys=True) for v in value}) != len(value):
                problems.append(f"{path}: items not unique")
        if isinstance(value, dict):
            properties = schema.get("properties", {})
            for key in schema.get("required", []):
                if key not in value:
                    problems.append(f"{path}: missing {key}")
            extra = schema.get("additionalProperties", True)
            for key, item in value.items():
                if key in properties:
                    problems += self.errors(item, properties[key], f"{path}.{key}", request)
                elif extra is False:
                    problems.append(f"{path}: unexpected {key}")
                elif isinstance(extra, dict):
                    problems += self.errors(item, extra, f"{path}.{key}", request)
        return problems


def _is_type(value: Any, name: str) -> bool:
    if name == "null":
        return value is None
    if name == "boolean":
        return isinstance(value, bool)
    if name == "integer":
        # JSON Schema: a number with a zero fractional part (`0.0`) is an integer.
        return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, float) and value.is_integer())
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "string":
        return isinstance(value, str)
    if name == "array":
        return isinstance(value, list)
    if name == "object":
        return isinstance(value, dict)
    return True


UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
INSTANT_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-](\d{2}):(\d{2}))$")


def _real_date(year: int, month: int, day: int) -> bool:
    import calendar

    return year in SUPPORTED_YEARS and 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]


def _format_ok(fmt: str, value: str) -> bool:
    if fmt == "uuid":
        return bool(UUID_RE.match(value))
    if fmt == "date":
        m = DATE_RE.match(value)
        return bool(m) and _real_date(*map(int, m.groups()))
    if fmt == "date-time":
        m = INSTANT_RE.match(value)
        if not m:
            return False
        year, month, day, hour, minute, second = map(int, m.groups()[:6])
        if m.group(9) is not None and (int(m.group(9)) > 23 or int(m.group(10)) > 59):
            return False
        return _real_date(year, month, day) and hour < 24 and minute < 60 and second < 60
    return True


# ---- bad values -------------------------------------------------------------------------------

CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
CONTROL = ["\u0000", "\u0001", "\u0007", "\u001b", "\u007f", "\u0085", "\u009b"]


def bad_strings(max_length: Optional[int]) -> list[Any]:
    values: list[Any] = []
    for ch in CONTROL:
        values += [f"Ana{ch}Evil", f"{ch}"]
    values += ["a\u0000", "\u0000" * 10, "x" * MEGABYTE, "\u0301" * 5000 + "a"]
    if max_length is not None:
        values += ["x" * (max_length + 1), "ü" * (max_length + 1)]
    return values


BAD_DATES = [
    "2026-02-30", "2026-02-29", "2025-13-01", "2026-00-10", "2026-04-31", "1899-12-31", "2201-01-01",
    "10000-12-31", "0000-01-01", "-2026-01-01", "2026-1-1", "26-01-01", "2026/01/01", "2026-01-01T00:00:00Z",
    "", " 2026-01-01", "2026-01-01\u0000", "２０２６-01-01", "x" * MEGABYTE,
]
BAD_INSTANTS = [
    "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T23:60:00Z",
    "2026-01-01T23:59:60Z", "10000-12-31T22:00:00Z", "1899-12-31T23:59:59Z", "2201-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z", "2026-01-01T00:00:00+25:00", "2026-01-01T00:00:00", "2026-01-01", "now", "",
    "2026-01-01T00:00:00Z\u0000", "9223372036854775807", "-1",
]
BAD_UUIDS = ["not-a-uuid", "", "0", "-1", "9223372036854775808", "6F9619FF-8B86-D011-B42D-00C04FC964F", "6F9619FF\u00008B86",
             "6F9619FF-8B86-D011-B42D-00C04FC964FFF", "{6F9619FF-8B86-D011-B42D-00C04FC964FF}", "x" * 4096]
EXTREME_INTEGERS = [-1, 0, 2**31, 2**31 - 1, INT64_MAX, INT64_MAX + 1, 2**64, INT64_MIN, INT64_MIN - 1, 10**30, -(10**30)]
FRACTIONS = [1.5, -0.5, 1e400, 1e-400, 1e308, 0.1]


def deep_array(depth: int) -> str:
    return "[" * depth + "]" * depth


def deep_object(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


class RawJSON:
    """Pre-encoded JSON text, for numbers Python cannot write as they must appear (1e400)."""

    def __init__(self, text: str):
        self.text = text


def encode(value: Any) -> str:
    if isinstance(value, RawJSON):
        return value.text
    if isinstance(value, float) and value == float("inf"):
        return "1e400"
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(k) + ":" + encode(v) for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(encode(v) for v in value) + "]"
    return json.dumps(value)


def bad_body_values(schemas: Schemas, schema: Any, required: bool) -> list[Any]:
    """Values for one body field that its schema refuses."""
    flat = schemas.flatten(schema)
    types = flat.get("type", [])
    types = types if isinstance(types, list) else [types]
    candidates: list[Any] = []
    wrong_types: list[Any] = ["text", 1, 1.5, True, [], {}, [1, "a"], {"a": 1}]
    if required:
        wrong_types.append(None)  # an optional field's null means "absent" and is documented as ignored
    candidates += wrong_types
    if "string" in types:
        candidates += bad_strings(flat.get("maxLength"))
        fmt = flat.get("format")
        if fmt == "date":
            candidates += BAD_DATES
        elif fmt == "date-time":
            candidates += BAD_INSTANTS
        elif fmt == "uuid":
            candidates += BAD_UUIDS
        if "enum" in flat:
            candidates += ["nope", flat["enum"][0].upper() + "x"]
    if "integer" in types or "number" in types:
        candidates += EXTREME_INTEGERS + FRACTIONS + ["1", "-1", RawJSON("1e400"), RawJSON("-0"), RawJSON("123456789012345678901234567890")]
        if "minimum" in flat:
            candidates.append(flat["minimum"] - 1)
        if "maximum" in flat:
            candidates.append(flat["maximum"] + 1)
    if "array" in types:
        item_bad = bad_body_values(schemas, flat.get("items", {}), True)[:40] if flat.get("items") else []
        candidates += [[v] for v in item_bad if not isinstance(v, RawJSON) and not (isinstance(v, str) and len(v) >= 10_000)]
        candidates += [[1, 1], [INT64_MAX + 1], [1.5], ["x", "x", "x"], [[[[]]]]]
        candidates += [RawJSON(deep_array(5000))]
    candidates += [RawJSON(deep_array(100_000)), RawJSON(deep_object(100_000))]
    return [v for v in candidates if (_raw_is_invalid(schemas, v, flat) if isinstance(v, RawJSON) else schemas.errors(v, flat, request=True))]


def _raw_is_invalid(schemas: Schemas, raw: RawJSON, schema: dict) -> bool:
    try:
        value = json.loads(raw.text)
    except (ValueError, RecursionError):
        return True
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return True
    if raw.text.strip() == "-0":
        value = 0
    return bool(schemas.errors(value, schema, request=True))


def bad_query_values(schemas: Schemas, schema: Any) -> list[str]:
    """Raw (unencoded) values for one query parameter that its schema refuses."""
    flat = schemas.flatten(schema)
    kind = flat.get("type")
    candidates: list[str] = []
    if kind == "integer":
        candidates += [str(v) for v in EXTREME_INTEGERS] + ["1.5", "1e3", "abc", "", " 1", "0x10", "１", "1\u0000", "-0.0",
                                                            "9" * 400, "-" + "9" * 400]
        for bound in ("minimum", "maximum"):
            if bound in flat:
                candidates.append(str(flat[bound] + (-1 if bound == "minimum" else 1)))
    elif kind == "boolean":
        candidates += ["yes", "no", "2", "", "TRUE", "true\u0000", "null"]
    elif kind == "string":
        fmt = flat.get("format")
        if fmt == "uuid":
            candidates += BAD_UUIDS
        elif fmt == "date-time":
            candidates += BAD_INSTANTS
        elif fmt == "date":
            candidates += BAD_DATES[:-1]
        if "enum" in flat:
            candidates += ["nope", "", "x" * 300]
        candidates += [v for v in bad_strings(flat.get("maxLength")) if len(v) < 10_000]
        candidates += ["x" * 64 * 1024, "x" * MEGABYTE]
    return [v for v in candidates if _query_is_invalid(schemas, flat, v)]


def _query_is_invalid(schemas: Schemas, schema: dict, raw: str) -> bool:
    kind = schema.get("type")
    if kind == "integer":
        if not re.fullmatch(r"-?[0-9]+", raw):
            return True
        return bool(schemas.errors(int(raw), schema))
    if kind == "boolean":
        return raw not in ("true", "false", "1", "0")
    return bool(schemas.errors(raw, schema, request=True))


# ---- the fuzzer -------------------------------------------------------------------------------


class Fuzzer:
    def __init__(self, spec: dict, base_url: str, token: str, budget: float, verbose: bool):
        self.spec = spec
        self.schemas = Schemas(spec)
        url = urllib.parse.urlsplit(base_url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.token = token
        self.verbose = verbose
        self.deadline = time.monotonic() + budget
        self.requests = 0
        self.passed = 0
        self.failed = 0
        self.failures: list[str] = []
        self.connection: Optional[http.client.HTTPConnection] = None
        self.tag = secrets.token_hex(4)
        self.fixtures: dict[str, str] = {}
        self.operations: dict[tuple[str, str], dict] = {}
        for template, item in spec["paths"].items():
            for method, operation in item.items():
                if method in HTTP_METHODS:
                    operation = dict(operation)
                    operation["parameters"] = [self.schemas.resolve(p) for p in item.get("parameters", []) + operation.get("parameters", [])]
                    self.operations[(method.upper(), template)] = operation
        self.out_of_time = False

    # ---- HTTP ------------------------------------------------------------------------------

    def send(self, method: str, target: str, body: Optional[bytes] = None, headers: Optional[dict] = None,
             auth: bool = True) -> tuple[int, dict, bytes]:
        """One request; raises ConnectionError when the server did not answer."""
        headers = dict(headers or {})
        if auth:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        if body is not None:
            headers.setdefault("Content-Type", "application/json")
        self.requests += 1
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                self.connection.request(method, target, body=body, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
                answer = (response.status, {k.lower(): v for k, v in response.getheaders()}, data)
                if response.getheader("Connection", "").lower() == "close":
                    self.reset()
                return answer
            except (http.client.HTTPException, OSError) as error:
                self.reset()
                # A kept-alive connection the server closed after its previous answer: retry once on a
                # fresh one. A second failure is the server's.
                if attempt == 2 or isinstance(error, TimeoutError):
                    raise ConnectionError(f"{method} {target[:120]}: {type(error).__name__}: {error}") from error
        raise AssertionError("unreachable")

    def reset(self) -> None:
        if self.connection is not None:
            self.connection.close()
        self.connection = None

    def json_call(self, method: str, path: str, body: Any = None) -> Any:
        payload = None if body is None else json.dumps(body).encode()
        status, _, data = self.send(method, path, payload)
        if status >= 300:
            raise Failure(f"setup: {method} {path} answered {status}: {data[:300]!r}")
        return json.loads(data) if data else None

    # ---- bookkeeping ----------------------------------------------------------------------------

    def record(self, ok: bool, message: str) -> None:
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            self.failures.append(message)
            print(f"FAIL {message}", file=sys.stderr)

    def time_left(self) -> bool:
        if time.monotonic() > self.deadline:
            self.out_of_time = True
        return not self.out_of_time

    # ---- one bad request ------------------------------------------------------------------------

    def attack(self, key: tuple[str, str], target: str, what: str, body: Optional[bytes] = None,
               allow_no_answer: bool = False, expect: Optional[set[int]] = None, raw_headers: Optional[dict] = None) -> None:
        method, template = key
        operation = self.operations.get(key, {})
        label = f"{method} {template} {what}"
        try:
            status, headers, data = self.send(method, target, body, raw_headers)
        except ConnectionError as error:
            if allow_no_answer and self.healthy():
                self.record(True, label)  # an HTTP server may drop an oversized request line
                return
            self.record(False, f"{label}: no answer ({error})")
            return
        problems = self.check_response(operation, status, headers, data, expect, protocol_refusal_ok=allow_no_answer)
        self.record(not problems, f"{label}: answered {status}: " + "; ".join(problems))
        if self.verbose:
            print(f"  {status} {label}")

    def check_response(self, operation: dict, status: int, headers: dict, data: bytes, expect: Optional[set[int]],
                       protocol_refusal_ok: bool = False) -> list[str]:
        problems = []
        for name, ok in SECURITY_HEADERS.items():
            if not ok(headers.get(name, "")):
                problems.append(f"header {name} is {headers.get(name)!r}")
        frames = headers.get("x-frame-options", "").upper() == "DENY" or "frame-ancestors 'none'" in headers.get("content-security-policy", "")
        if not frames:
            problems.append("no frame denial (X-Frame-Options: DENY or CSP frame-ancestors 'none')")
        if status >= 500:
            return problems + [f"answered {status}: {data[:300]!r}"]
        if len(data) > 64 * 1024:
            problems.append(f"an error of {len(data)} bytes: a bad value must not be echoed back in full")
        if status < 400:
            return problems + [f"accepted a bad request with {status}: {data[:200]!r}"]
        if protocol_refusal_ok and status == 400 and not data and headers.get("connection", "").lower() == "close":
            # The HTTP server itself refused a request line too long to parse, before any route
            # saw it: a bare 400 that closes the connection, which is all HTTP can say then.
            return problems
        if expect is not None and status not in expect:
            problems.append(f"answered {status}, expected one of {sorted(expect)}")
        documented = operation.get("responses", {})
        if operation and str(status) not in documented:
            problems.append(f"answered {status}, which the operation does not document ({sorted(documented)})")
        try:
            envelope = json.loads(data)
        except ValueError:
            return problems + [f"error body is not JSON: {data[:200]!r}"]
        shape = self.spec["components"]["schemas"]["ErrorDetail"]
        if not isinstance(envelope, dict) or set(envelope) != {"error"}:
            return problems + [f"error body is not {{\"error\": …}}: {data[:200]!r}"]
        problems += self.schemas.errors(envelope["error"], shape, "error")
        detail = envelope["error"] if isinstance(envelope["error"], dict) else {}
        if detail.get("status") != status:
            problems.append(f"error.status {detail.get('status')} differs from the HTTP status {status}")
        if status == 422 and not detail.get("fields"):
            problems.append("a 422 without fields")
        response = self.schemas.resolve(documented.get(str(status), {}))
        schema = response.get("content", {}).get("application/json", {}).get("schema") if isinstance(response, dict) else None
        if schema is not None:
            problems += self.schemas.errors(envelope, schema, "body")
        return problems

    def healthy(self) -> bool:
        try:
            status, _, _ = self.send("GET", "/healthz", auth=False)
            return status == 200
        except ConnectionError:
            return False

    # ---- fixtures and snapshots -----------------------------------------------------------------

    def create_fixtures(self) -> None:
        lock = 800_000_000 + secrets.randbelow(100_000_000)
        club = self.json_call("POST", "/api/v1/clubs", {"name": f"Fuzz club {self.tag}", "time_zone": "Europe/Bucharest", "kisi_lock_ids": [lock]})
        studio = self.json_call("POST", "/api/v1/studios", {"club_id": club["id"], "name": f"Fuzz studio {self.tag}", "kisi_lock_ids": [lock + 1]})
        plan = self.json_call("POST", "/api/v1/plans", {"name": f"Fuzz plan {self.tag}", "club_ids": [club["id"]], "past_due_grace_days": 3})
        member = self.json_call("POST", "/api/v1/members", {
            "first_name": "Fuzz", "last_name": f"Member {self.tag}", "email": f"fuzz-{self.tag}@example.com",
            "phone": "+40 721 000 000", "notes": "fixture"})
        subscription = self.json_call("POST", "/api/v1/subscriptions", {
            "member_id": member["id"], "plan_id": plan["id"], "start_date": "2026-01-01", "paid_through": "2026-12-31"})
        studio_class = self.json_call("POST", "/api/v1/classes", {
            "studio_id": studio["id"], "name": f"Fuzz class {self.tag}", "capacity": 10, "start_time": "18:00", "duration_minutes": 60,
            "weekday": "tuesday", "valid_from": "2026-01-01"})
        self.fixtures = {"clubs": club["id"], "studios": studio["id"], "plans": plan["id"], "members": member["id"],
                         "subscriptions": subscription["id"], "classes": studio_class["id"]}
        self.lock = lock

    def delete_fixtures(self) -> None:
        for kind in ("subscriptions", "members", "plans", "classes", "studios", "clubs"):
            if kind in self.fixtures:
                try:
                    self.send("DELETE", f"/api/v1/{kind}/{self.fixtures[kind]}")
                except ConnectionError:
                    pass

    def fixture_id(self, template: str) -> Optional[str]:
        kind = template.split("/")[3] if template.startswith("/api/v1/") else ""
        return self.fixtures.get(kind)

    def fill(self, template: str, value: Optional[str] = None) -> str:
        """The template with its `{id}` replaced by `value` (already encoded) or the fixture's ID."""
        if "{" not in template:
            return template
        replacement = value if value is not None else self.fixture_id(template)
        return re.sub(r"\{[^}]+\}", replacement or "", template)

    def snapshot(self) -> dict[str, str]:
        """A digest of every answer the API's reads give: lists at their largest page and each fixture."""
        digests = {}
        for (method, template), operation in sorted(self.operations.items()):
            if method != "GET" or template in VOLATILE or not template.startswith("/api/v1/"):
                continue
            if "{" in template and not self.fixture_id(template):
                continue
            names = {p["name"] for p in operation["parameters"] if p.get("in") == "query"}
            target = self.fill(template) + ("?limit=500" if "limit" in names else "")
            status, headers, data = self.send("GET", target)
            if status != 200:
                raise Failure(f"snapshot: GET {target} answered {status}: {data[:200]!r}")
            missing = [name for name, ok in SECURITY_HEADERS.items() if not ok(headers.get(name, ""))]
            self.record(not missing, f"GET {target}: security headers missing: {missing}")
            digests[target] = hashlib.sha256(data).hexdigest()
        return digests

    # ---- valid bodies to spoil one field at a time ----------------------------------------------

    def base_body(self, key: tuple[str, str]) -> Optional[dict]:
        method, template = key
        f = self.fixtures
        bodies = {
            ("POST", "/api/v1/clubs"): {"name": "Fuzz", "time_zone": "Europe/Bucharest", "kisi_lock_ids": [self.lock + 2]},
            ("POST", "/api/v1/studios"): {"club_id": f["clubs"], "name": "Fuzz", "kisi_lock_ids": [self.lock + 3]},
            ("POST", "/api/v1/plans"): {"name": "Fuzz", "club_ids": [f["clubs"]], "studio_ids": [f["studios"]], "past_due_grace_days": 1,
                                        "archived": False},
            ("POST", "/api/v1/members"): {"first_name": "Ana", "last_name": "Pop", "email": f"fuzz2-{self.tag}@example.com",
                                          "phone": "0721 234 567", "notes": "ok"},
            ("POST", "/api/v1/members/{id}/block"): {"reason": "fuzz"},
            ("POST", "/api/v1/subscriptions"): {"member_id": f["members"], "plan_id": f["plans"], "start_date": "2026-02-01",
                                                "end_date": "2026-12-31", "paid_through": "2026-02-28"},
            ("POST", "/api/v1/subscriptions/{id}/freeze"): {"start_date": "2026-03-01", "end_date": "2026-03-10", "reason": "holiday"},
            ("POST", "/api/v1/subscriptions/{id}/cancel"): {"effective_date": "2026-06-01", "reason": "moving"},
            ("POST", "/api/v1/classes"): {"studio_id": f["studios"], "name": "Fuzz", "instructor": "Ioana", "capacity": 12,
                                          "start_time": "18:00", "duration_minutes": 60, "weekday": "tuesday", "valid_from": "2026-01-01",
                                          "valid_until": "2026-12-31"},
            # The fixture plan includes no classes, so even the unspoiled booking would be refused.
            ("POST", "/api/v1/classes/{id}/bookings"): {"member_id": f["members"], "date": "2026-12-29", "waitlist": True},
            ("POST", "/api/v1/classes/{id}/cancel-occurrence"): {"date": "2026-12-29", "reason": "fuzz"},
            ("PUT", "/api/v1/plans/{id}/class-rules"): {"rules": [{"studio_id": f["studios"], "allowance": "per_week", "count": 2,
                                                                   "door_mode": "booked_classes"}]},
            # A dry run: the spoiled fields must be refused, and the valid base would write nothing either.
            ("POST", "/api/v1/imports"): {"csv": "first_name,last_name,email,plan,start_date,paid_through\n"
                                                 f"Fuzz,Import,fuzz3-{self.tag}@example.com,Fuzz plan {self.tag},2026-01-01,2026-12-31\n",
                                          "dry_run": True},
        }
        if key in bodies:
            return bodies[key]
        if method in ("PATCH", "POST") and "requestBody" in self.operations[key]:
            return {}  # PATCH and the all-optional actions: only the spoiled field is sent
        return None

    # ---- the campaign ---------------------------------------------------------------------------

    def run(self) -> None:
        if not self.healthy():
            raise Failure("the server does not answer /healthz")
        self.create_fixtures()
        self.functional_checks()
        before = self.snapshot()
        print(f"snapshot: {len(before)} reads taken before fuzzing")
        for key in sorted(self.operations):
            if not self.time_left():
                break
            self.fuzz_operation(key)
            if not self.healthy():
                self.record(False, f"{key[0]} {key[1]}: the server stopped answering /healthz")
                break
        self.fuzz_extras()
        if self.healthy():
            after = self.snapshot()
            changed = sorted(t for t in before if before[t] != after.get(t))
            self.record(not changed, f"the database changed under bad requests: {changed}")
        else:
            self.record(False, "the server is down after fuzzing")
        self.delete_fixtures()

    def functional_checks(self) -> None:
        """Behaviours the issue named, checked directly."""
        for needle in ("%", "_", "%25", "\\"):
            query = urllib.parse.urlencode({"q": needle})
            status, _, data = self.send("GET", f"/api/v1/members?{query}")
            total = json.loads(data).get("total") if status == 200 else None
            self.record(status == 200 and total == 0, f"GET /api/v1/members?{query}: a LIKE wildcard matched {total} members (status {status})")
        status, _, data = self.send("GET", "/api/v1/members?" + urllib.parse.urlencode({"q": f"member {self.tag}"}))
        self.record(status == 200 and json.loads(data).get("total") == 1, f"search for the fixture found {data[:200]!r}")

    def fuzz_operation(self, key: tuple[str, str]) -> None:
        method, template = key
        operation = self.operations[key]
        base = self.base_body(key)
        valid_body = None if base is None else encode(base).encode()
        destructive_without_body = method == "DELETE" or (method == "POST" and "requestBody" not in operation)

        # Path parameters: never a real ID, so even DELETE and body-less actions are safe.
        if "{" in template:
            for raw in BAD_UUIDS + ["%00", "%2e%2e", "..%2F..%2Fetc", "%E2%80%AE", "0" * 36, "a%20b", "%FF%FE"]:
                encoded = raw if "%" in raw or ".." in raw else urllib.parse.quote(raw, safe="")
                if not encoded or not self.time_left():
                    continue
                self.attack(key, self.fill(template, encoded), f"with path id {raw[:40]!r}", valid_body,
                            allow_no_answer=len(raw) > 1000, expect={404, 400})

        # Query parameters, one at a time, on the fixture (reads only: lists and access).
        if not destructive_without_body:
            for parameter in operation["parameters"]:
                if parameter.get("in") != "query":
                    continue
                for raw in bad_query_values(self.schemas, parameter.get("schema", {})):
                    if not self.time_left():
                        return
                    target = self.fill(template) + "?" + urllib.parse.urlencode({parameter["name"]: raw}, quote_via=urllib.parse.quote)
                    self.attack(key, target, f"with {parameter['name']}={raw[:40]!r}{'…' if len(raw) > 40 else ''}",
                                valid_body if method != "GET" else None, allow_no_answer=len(target) > 8000, expect={400})

        if base is None:
            return
        target = self.fill(template)
        body_schema = self.schemas.resolve(operation["requestBody"]["content"]["application/json"]["schema"])
        flat = self.schemas.flatten(body_schema)
        required = set(flat.get("required", []))

        # Body fields, one at a time, the others valid.
        for name, field_schema in flat.get("properties", {}).items():
            for value in bad_body_values(self.schemas, field_schema, name in required):
                if not self.time_left():
                    return
                body = dict(base)
                body[name] = value
                shown = encode(value)[:40]
                self.attack(key, target, f"with {name}={shown}", encode(body).encode(), expect={400, 413, 422})
            if name in required:
                body = {k: v for k, v in base.items() if k != name}
                self.attack(key, target, f"without {name}", encode(body).encode(), expect={422})

        # Whole bodies that are not what the operation takes. Text attacks go into a field the
        # operation reads (unknown keys are ignored, so they would prove nothing).
        text_field = next((n for n, f in flat.get("properties", {}).items() if "string" in str(self.schemas.flatten(f).get("type"))), "name")
        spoiled = lambda raw: b'{"' + text_field.encode() + b'": "' + raw + b'"}'
        whole: list[tuple[str, bytes, set[int]]] = [
            ("malformed JSON", b'{"name": ', {400}),
            ("trailing garbage", encode(base).encode() + b"}", {400}),
            ("single quotes", b"{'name': 'x'}", {400}),
            ("an array", b"[]", {400}),
            ("a string", b'"text"', {400}),
            ("a number", b"1", {400}),
            ("null", b"null", {400}),
            ("true", b"true", {400}),
            ("a NUL byte", b"\x00", {400}),
            ("invalid UTF-8", spoiled(b"\xff\xfe"), {400, 422}),
            ("a lone surrogate", spoiled(b"\\ud800"), {400, 422}),
            ("an escaped NUL", spoiled(b"\\u0000"), {400, 422}),
            ("arrays nested 100000 deep", deep_array(100_000).encode(), {400}),
            ("objects nested 100000 deep", deep_object(100_000).encode(), {400}),
            ("1 MB of spaces", b" " * MEGABYTE, {400}),
            ("3 MB of JSON (over the upload limit)", b'{"name": "' + b"x" * (3 * MEGABYTE) + b'"}', {413}),
        ]
        if operation["requestBody"].get("required", False):
            whole.append(("an empty body", b"", {400}))
        for what, body, expect in whole:
            if not self.time_left():
                return
            self.attack(key, target, f"with {what}", body, expect=expect, allow_no_answer=len(body) > 2 * MEGABYTE)

    def fuzz_extras(self) -> None:
        """Requests outside the document: the admin UI's forms and unknown paths still answer safely."""
        if not self.time_left():
            return
        # Admin form bodies over 64 KB: 413, before any sign-in.
        status, headers, data = self.send("POST", "/admin/login", b"email=a%40b.c&password=" + b"x" * (100 * 1024),
                                          {"Content-Type": "application/x-www-form-urlencoded"}, auth=False)
        self.record(status == 413, f"POST /admin/login with a 100 KB form answered {status}, not 413")
        self.record(all(ok(headers.get(n, "")) for n, ok in SECURITY_HEADERS.items()), "POST /admin/login: security headers missing")
        for path in ("/no/such/path", "/api/v1/no-such-thing", "/admin/kisi/adoption?offset=9223372036854775807"):
            status, headers, data = self.send("GET", path, auth=False)
            problems = [] if status < 500 else [f"answered {status}"]
            problems += [f"header {n} missing" for n, ok in SECURITY_HEADERS.items() if not ok(headers.get(n, ""))]
            self.record(not problems, f"GET {path}: " + "; ".join(problems))
        status, headers, data = self.send("GET", "/api/v1/members", auth=False)
        self.record(status == 401 and "x-content-type-options" in headers, f"GET /api/v1/members without a token answered {status}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8080")
    parser.add_argument("--token", required=True, help="an API token secret (bgm_…)")
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC, help=f"default: {DEFAULT_SPEC}")
    parser.add_argument("--budget", type=float, default=240, help="seconds to spend at most (default 240)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every request")
    args = parser.parse_args()

    sys.setrecursionlimit(10_000)
    spec = yaml.safe_load(args.spec.read_text())
    fuzzer = Fuzzer(spec, args.base_url, args.token, args.budget, args.verbose)
    started = time.monotonic()
    try:
        fuzzer.run()
    except (Failure, ConnectionError) as error:
        fuzzer.record(False, str(error))
    elapsed = time.monotonic() - started
    if fuzzer.out_of_time:
        fuzzer.record(False, f"the fuzz did not finish within its budget of {args.budget:.0f} s")
    print(f"fuzz: {fuzzer.requests} requests sent to {len(fuzzer.operations)} operations in {elapsed:.1f} s")
    if fuzzer.failures:
        print(f"fuzz: {len(fuzzer.failures)} failures, first ones:", file=sys.stderr)
        for failure in fuzzer.failures[:40]:
            print(f"  - {failure[:400]}", file=sys.stderr)
    print(f"fuzz: {fuzzer.passed} passed, {fuzzer.failed} failed")
    return 0 if fuzzer.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
