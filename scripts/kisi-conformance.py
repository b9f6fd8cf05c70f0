#!/usr/bin/env python3
"""Kisi conformance suite: proves BooGYMan's local Kisi sandbox answers the way Kisi's own OpenAPI
document (kisi-openapi.yml, OpenAPI 3.1) says.

For every in-scope operation it sends real requests to a running sandbox (success cases and error
cases: 401 missing/unknown key, 403, 404 unknown id, 404 unknown endpoint, 422 validation, pagination,
over-limit `limit`, 429 rate limiting) and validates every response -- status code declared for the
operation, headers, body schema -- with openapi-core's OpenAPI 3.1 response validator against Kisi's
document, loaded once.

Responses whose status Kisi's document does not declare for that operation (429 is only in the prose;
400 for bad paging where the operation declares none, ...) are not counted as validated: they are
reported as "undocumented statuses exercised", each with the reason, and their body is checked against
the document's `components.schemas.Error`.

The run is repeatable: it starts with POST /_sandbox/reset, loads a small seed of its own for the
per-user (non-administrator) and per-role (access manager, place administrator) scenarios, and resets
the sandbox to its configured seed again at the end.
It expects the sandbox's demo seed (`boogyman sandbox --seed demo`, the default).

Usage: scripts/kisi-conformance.py --base-url http://127.0.0.1:9292 [--api-key KEY] [--admin-key KEY]
                                   [--spec Vendor/kisi/kisi-openapi.yml] [-v]
Use scripts/run-kisi-conformance.sh to start a sandbox and run this against it.
Requires: openapi-core, requests, pyyaml (scripts/requirements-kisi-conformance.txt).
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import sys
import time
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import requests
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.validation.request import V31RequestValidator
from openapi_core.validation.response import V31ResponseValidator
from openapi_schema_validator import OAS31Validator
from requests.structures import CaseInsensitiveDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPEC = REPO_ROOT / "Vendor" / "kisi" / "kisi-openapi.yml"
DEMO_KEY = "kisi-sandbox-demo-owner-key"

# The operations the sandbox implements (method, Kisi's path template). Every one must be exercised.
IN_SCOPE = [
    ("GET", "/organization"), ("GET", "/user"), ("GET", "/login"),
    ("GET", "/users"), ("POST", "/users"), ("GET", "/users/{id}"), ("PATCH", "/users/{id}"), ("DELETE", "/users/{id}"),
    ("GET", "/groups"), ("POST", "/groups"), ("GET", "/groups/{id}"), ("PATCH", "/groups/{id}"), ("DELETE", "/groups/{id}"),
    ("GET", "/group_locks"), ("POST", "/group_locks"), ("GET", "/group_locks/{id}"), ("DELETE", "/group_locks/{id}"),
    ("GET", "/role_assignments"), ("POST", "/role_assignments"), ("GET", "/role_assignments/{id}"),
    ("PATCH", "/role_assignments/{id}"), ("DELETE", "/role_assignments/{id}"),
    ("GET", "/roles"),
    ("GET", "/places"), ("GET", "/places/{id}"),
    ("GET", "/locks"), ("GET", "/locks/{id}"), ("POST", "/locks/{id}/unlock"),
    ("POST", "/invites"),
    ("POST", "/event_sets"), ("GET", "/event_sets/{id}"),
    ("GET", "/integrations"), ("POST", "/integrations"), ("GET", "/integrations/{id}"), ("DELETE", "/integrations/{id}"),
]
LIST_OPS = {op for op in IN_SCOPE if op[0] == "GET" and "{" not in op[1]
            and op[1] not in ("/organization", "/user", "/login", "/roles")}

RANGE_RE = re.compile(r"^(\d+)-(\d+)/(\d+)$")   # the document's pattern, named groups dropped
EMPTY_RANGE_RE = re.compile(r"^\*/(\d+)$")       # what the sandbox (and Kisi, per client-js) sends for an empty page

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class Failure(Exception):
    pass


@dataclass
class StrippedResponse:
    """A response with one header removed, for openapi-core (its Response protocol)."""
    data: bytes
    status_code: int
    content_type: str
    headers: CaseInsensitiveDict


# ---------------------------------------------------------------------------------------------------
# Loading Kisi's document
# ---------------------------------------------------------------------------------------------------

def load_document(path: Path, base_url: str) -> tuple[dict, list[str]]:
    """Kisi's document as a dict, with the in-memory workarounds openapi-core needs (returned as text)."""
    try:
        loader = yaml.CSafeLoader  # the document is 1.8 MB; the C loader reads it in ~0.5 s
    except AttributeError:  # pragma: no cover - PyYAML without libyaml
        loader = yaml.SafeLoader
    with open(path, encoding="utf-8") as handle:
        spec = yaml.load(handle, Loader=loader)
    if not isinstance(spec, dict) or not str(spec.get("openapi", "")).startswith("3.1"):
        raise Failure(f"{path} is not an OpenAPI 3.1 document")
    workarounds: list[str] = []

    # Workaround 1: `GET /users` lists the query parameter `place_id` twice (identical definitions).
    # openapi-spec-validator (run by openapi-core when loading) rejects the whole document with
    # ParameterDuplicateError. Keep the first of identical duplicates; a differing duplicate is an error.
    for template, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS or not isinstance(operation, dict):
                continue
            seen: dict[tuple, dict] = {}
            kept = []
            for parameter in operation.get("parameters", []):
                key = (parameter.get("name"), parameter.get("in"))
                if key in seen:
                    if seen[key] != parameter:
                        raise Failure(f"{method.upper()} {template}: differing duplicate parameter {key}")
                    workarounds.append(f"dropped the identical duplicate {key[1]} parameter `{key[0]}` of "
                                       f"{method.upper()} {template} (openapi-spec-validator: ParameterDuplicateError)")
                    continue
                seen[key] = parameter
                kept.append(parameter)
            if "parameters" in operation:
                operation["parameters"] = kept

    # Workaround 2: the X-Collection-Range header pattern uses ECMA-262 named groups `(?<start>\d+)`,
    # which Python's `re` (used by jsonschema for `pattern`) cannot compile. Rewrite them to Python's
    # `(?P<start>\d+)` -- the same language, so no schema is weakened.
    rewritten = collections.Counter()

    def fix_patterns(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "pattern" and isinstance(value, str) and "(?<" in value:
                    fixed = re.sub(r"\(\?<(?![=!])", "(?P<", value)
                    re.compile(fixed)
                    node[key] = fixed
                    rewritten[value] += 1
                else:
                    fix_patterns(value)
        elif isinstance(node, list):
            for value in node:
                fix_patterns(value)

    fix_patterns(spec)
    for pattern, count in rewritten.items():
        workarounds.append(f"rewrote ECMA-262 named groups `(?<name>` to Python's `(?P<name>` in the pattern "
                           f"{pattern!r} ({count} uses; Python `re` cannot compile the original)")

    # Workaround 3 (request side only): openapi-core 0.23 reads a parameter schema's `type` as a single
    # string and crashes (TypeError) on OpenAPI 3.1's list form, e.g. `user_id: {type: [integer, string]}`,
    # `favorite: {type: [boolean, null]}`. Rewrite such parameter schemas to the equivalent
    # `anyOf: [{type: integer}, {type: string}]`. Parameters only; no response schema is touched.
    multi_typed = []
    for template, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS or not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema")
                if isinstance(schema, dict) and isinstance(schema.get("type"), list):
                    types = schema.pop("type")
                    schema["anyOf"] = [{"type": t} for t in types]
                    multi_typed.append(f"{method.upper()} {template} {parameter.get('name')}")
    if multi_typed:
        workarounds.append(f"rewrote `type: [a, b]` to `anyOf: [{{type: a}}, {{type: b}}]` in {len(multi_typed)} "
                           "parameter schemas (request side only; openapi-core 0.23's parameter deserializer "
                           "crashes on list-valued `type`)")

    # Workaround 4: the document's only server is https://api.kisi.io; openapi-core matches request URLs
    # against `servers`, so the sandbox's base URL is added in front (the original server stays).
    spec["servers"] = [{"url": base_url.rstrip("/"), "description": "Kisi sandbox under test"}] + spec.get("servers", [])
    workarounds.append(f"added the server {base_url.rstrip('/')} in front of https://api.kisi.io "
                       "(openapi-core matches request URLs against `servers`)")
    return spec, workarounds


# ---------------------------------------------------------------------------------------------------
# The checker
# ---------------------------------------------------------------------------------------------------

class Pacer:
    """Keeps each API key under the sandbox's 5 requests per sliding second (per user), so only the
    deliberate bursts meet a 429. Times are taken when the response arrives, which is after the
    sandbox admitted the request."""

    def __init__(self, per_second: int = 5):
        self.per_second = per_second
        self.times: dict[str, collections.deque] = collections.defaultdict(collections.deque)
        self.event_sets: dict[str, float] = {}

    def wait(self, key: str, event_set: bool = False) -> None:
        window = self.times[key]
        now = time.monotonic()
        while window and now - window[0] > 1.05:
            window.popleft()
        if len(window) >= self.per_second:
            time.sleep(max(0.0, 1.05 - (now - window[0])))
            window.popleft()
        if event_set and key in self.event_sets:
            delay = 1.05 - (time.monotonic() - self.event_sets[key])
            if delay > 0:
                time.sleep(delay)

    def done(self, key: str, event_set: bool = False) -> None:
        self.times[key].append(time.monotonic())
        if event_set:
            self.event_sets[key] = time.monotonic()

    def clear(self) -> None:
        self.times.clear()
        self.event_sets.clear()


class Checker:
    def __init__(self, spec: dict, base_url: str, api_key: str, admin_key: str, verbose: bool):
        self.spec = spec
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.admin_key = admin_key
        self.verbose = verbose
        self.session = requests.Session()
        started = time.monotonic()
        self.openapi = OpenAPI.from_dict(spec, config=Config(
            response_validator_cls=V31ResponseValidator, request_validator_cls=V31RequestValidator))
        self.load_seconds = time.monotonic() - started
        self.error_validator = OAS31Validator(spec["components"]["schemas"]["Error"],
                                              format_checker=OAS31Validator.FORMAT_CHECKER)
        self.errors_validator = OAS31Validator(spec["components"]["schemas"]["Errors"],
                                               format_checker=OAS31Validator.FORMAT_CHECKER)
        self.operations = {(m.upper(), t): op for t, item in spec["paths"].items()
                           for m, op in item.items() if m in HTTP_METHODS}
        for key in IN_SCOPE:
            if key not in self.operations:
                raise Failure(f"{key[0]} {key[1]} is in scope but not in Kisi's document")
        self.pacer = Pacer()
        # bookkeeping
        self.validated = collections.Counter()                  # op -> validated responses
        self.statuses: dict[tuple, collections.Counter] = collections.defaultdict(collections.Counter)
        self.undocumented: list[tuple[str, int, str]] = []      # (what, status, reason)
        self.undocumented_by_op = collections.Counter()
        self.empty_range: list[str] = []                        # responses validated with the `*/N` exception
        self.request_mismatches: list[str] = []
        self.requests_validated = 0
        self.failures: list[str] = []
        self.behaviour_checks = 0
        self.drift_caught = 0

    # ---- helpers -----------------------------------------------------------------------------

    def fail(self, message: str) -> None:
        self.failures.append(message)
        print(f"FAIL {message}", file=sys.stderr)

    def admin(self, method: str, route: str, body: Any = None, params: Optional[dict] = None) -> Any:
        response = self.session.request(method, f"{self.base_url}/_sandbox/{route}", json=body, params=params,
                                        headers={"X-Sandbox-Admin-Key": self.admin_key}, timeout=30)
        if response.status_code != 200:
            raise Failure(f"{method} /_sandbox/{route}: {response.status_code} {response.text[:300]}")
        return response.json()

    def documented_statuses(self, key: tuple) -> set[str]:
        return set(self.operations[key]["responses"].keys())

    def check_error_body(self, response: requests.Response) -> list[str]:
        """An undocumented status's body: the document's `Error` schema, or for 422 its validation-error
        schema `Errors` (what every operation that declares 422 uses)."""
        try:
            payload = response.json()
        except ValueError:
            return [f"body is not JSON: {response.text[:200]!r}"]
        if response.status_code == 422:
            return [f"Errors schema: {e.message}" for e in self.errors_validator.iter_errors(payload)]
        problems = [f"Error schema: {e.message}" for e in self.error_validator.iter_errors(payload)]
        if not problems and not re.fullmatch(r"[0-9a-f]{6}", payload["code"]):
            problems.append(f"code {payload['code']!r} is not a 6-hex-character Kisi code")
        return problems

    # ---- one request -------------------------------------------------------------------------

    def call(self, method: str, template: str, path: Optional[str] = None, *, expect: int,
             params: Optional[dict] = None, body: Any = None, raw: Optional[bytes] = None,
             key: Any = True, label: str = "", check: Optional[Callable[[Any, requests.Response], None]] = None,
             undocumented: str = "", request_conforms: Optional[bool] = None, pace: bool = True) -> Any:
        """Sends one request and validates the response against Kisi's document.

        key: True = the owner's API key, None = no Authorization header, str = that API key.
        undocumented: the reason, when `expect` is a status the document does not declare for the operation.
        request_conforms: whether the request itself should satisfy the document's request side
        (default: for 2xx expectations). Mismatches are reported, not counted as failures of the sandbox.
        """
        op = (method, template)
        path = path or template
        api_key = self.api_key if key is True else key
        headers = {"Accept": "application/json"}
        if api_key is not None:
            headers["Authorization"] = f"KISI-LOGIN {api_key}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif raw is not None:
            data = raw
            headers["Content-Type"] = "application/json"
        prepared = self.session.prepare_request(
            requests.Request(method, self.base_url + path, headers=headers, params=params, data=data))
        what = f"{method} {prepared.path_url}" + (f" [{label}]" if label else "")
        is_event_set = op == ("POST", "/event_sets")
        paced = pace and api_key is not None and (api_key == self.api_key or api_key in Checker.paced_keys)
        if paced:
            self.pacer.wait(api_key, is_event_set)
        try:
            response = self.session.send(prepared, timeout=30)
        except requests.RequestException as error:
            self.fail(f"{what}: {error}")
            return None
        if paced and response.status_code not in (401, 429):
            self.pacer.done(api_key, is_event_set)
        status = response.status_code
        self.statuses[op][status] += 1
        problems: list[str] = []
        if status != expect:
            problems.append(f"expected status {expect}, got {status}: {response.text[:300]}")
        documented = str(status) in self.documented_statuses(op) or "default" in self.documented_statuses(op)
        counted_as = None
        if documented:
            if undocumented and status == expect:
                problems.append(f"status {status} is declared by the document; the suite's 'undocumented' note is stale")
            to_validate: Any = RequestsOpenAPIResponse(response)
            range_header = response.headers.get("X-Collection-Range")
            if range_header is not None and EMPTY_RANGE_RE.match(range_header):
                # The document's pattern has no form for an empty page; the sandbox sends `*/total`
                # (Kisi's observed `*/0`). Validate everything else; check the header by hand.
                stripped = CaseInsensitiveDict(response.headers)
                del stripped["X-Collection-Range"]
                to_validate = StrippedResponse(response.content, status, response.headers.get("Content-Type", ""), stripped)
                self.empty_range.append(f"{what} -> {range_header}")
            try:
                self.openapi.validate_response(RequestsOpenAPIRequest(prepared), to_validate)
                counted_as = "validated"
            except Exception as error:  # openapi-core raises a family of validation errors
                problems.append(f"response does not match Kisi's document: {describe(error)}")
        else:
            if not undocumented:
                problems.append(f"status {status} is not declared by Kisi's document for {method} {template} "
                                f"(declared: {', '.join(sorted(self.documented_statuses(op)))}): {response.text[:300]}")
            else:
                problems.extend(self.check_error_body(response))
                counted_as = "undocumented"
        if status == 204 and response.content:
            problems.append(f"204 with a body: {response.content[:100]!r}")
        if 200 <= status < 300 and op in LIST_OPS:
            problems.extend(self.range_problems(response))
        if request_conforms is None:
            request_conforms = 200 <= expect < 300
        if request_conforms and 200 <= status < 300:
            try:
                self.openapi.validate_request(RequestsOpenAPIRequest(prepared))
                self.requests_validated += 1
            except Exception as error:
                self.request_mismatches.append(f"{what}: {describe(error)[:400]}")
        payload = None
        if response.content and "json" in response.headers.get("Content-Type", ""):
            try:
                payload = response.json()
            except ValueError as error:
                problems.append(f"body is not JSON: {error}")
        if not problems and check is not None:
            try:
                check(payload, response)
                self.behaviour_checks += 1
            except AssertionError as error:
                problems.append(f"behaviour: {error}")
            except Exception as error:  # a broken check is a failure too
                problems.append(f"behaviour check crashed: {type(error).__name__}: {error}")
        if problems:
            self.fail(f"{what}: " + "; ".join(problems))
        elif counted_as == "validated":
            self.validated[op] += 1
            if self.verbose:
                print(f"ok   {status} {what}")
        elif counted_as == "undocumented":
            self.undocumented.append((what, status, undocumented))
            self.undocumented_by_op[op] += 1
            if self.verbose:
                print(f"ok   {status} {what} (undocumented status: {undocumented})")
        return payload

    paced_keys: set = set()

    def self_test(self, path: str) -> None:
        """Proves the validator bites: altered copies of a real response must be rejected."""
        prepared = self.session.prepare_request(requests.Request(
            "GET", self.base_url + path, headers={"Authorization": f"KISI-LOGIN {self.api_key}"}))
        self.pacer.wait(self.api_key)
        response = self.session.send(prepared, timeout=30)
        self.pacer.done(self.api_key)
        body = response.json()
        first = body[0] if isinstance(body, list) else body
        key = next(iter(first))
        extra = dict(first, kisi_conformance_extra=1)
        missing = {k: v for k, v in first.items() if k != key}
        wrong_type = dict(first, **{key: [first[key]]})
        alterations = {
            "an undeclared property": extra, f"no `{key}`": missing, f"`{key}` of the wrong type": wrong_type,
        }
        headers = CaseInsensitiveDict(response.headers)
        cases = []
        for label, item in alterations.items():
            data = json.dumps([item] + body[1:] if isinstance(body, list) else item).encode()
            cases.append((label, StrippedResponse(data, 200, "application/json", headers)))
        cases.append(("an undeclared status 418", StrippedResponse(response.content, 418, "application/json", headers)))
        if "X-Collection-Range" in headers:
            bad = CaseInsensitiveDict(headers)
            bad["X-Collection-Range"] = "items 0-9 of 12"
            cases.append(("a malformed X-Collection-Range", StrippedResponse(response.content, 200, "application/json", bad)))
        for label, fake in cases:
            try:
                self.openapi.validate_response(RequestsOpenAPIRequest(prepared), fake)
            except Exception:
                self.drift_caught += 1
                continue
            self.fail(f"validator self-test: GET {path} with {label} was accepted; the suite would miss such drift")

    def range_problems(self, response: requests.Response) -> list[str]:
        header = response.headers.get("X-Collection-Range")
        if header is None:
            return ["list response without X-Collection-Range"]
        try:
            items = response.json()
        except ValueError:
            return []
        m = RANGE_RE.match(header)
        if m:
            start, end, total = map(int, m.groups())
            if not items:
                return [f"X-Collection-Range {header} on an empty page"]
            if end < start or start + len(items) > total:
                return [f"X-Collection-Range {header} is inconsistent with {len(items)} items"]
            return []
        m = EMPTY_RANGE_RE.match(header)
        if m:
            if items:
                return [f"X-Collection-Range {header} with {len(items)} items"]
            return []
        return [f"X-Collection-Range {header!r} matches neither ^(\\d+)-(\\d+)/(\\d+)$ nor */N"]

    def unknown_endpoint(self, method: str, path: str, key: Any = True) -> None:
        """A path Kisi's document does not list: Kisi answers 404 000404 (observed; Airbyte migration guide)."""
        headers = {"Accept": "application/json"}
        if key is not None:
            headers["Authorization"] = f"KISI-LOGIN {self.api_key if key is True else key}"
        what = f"{method} {path} [unknown endpoint]"
        response = self.session.request(method, self.base_url + path, headers=headers, timeout=30)
        problems = []
        if response.status_code != 404:
            problems.append(f"expected 404, got {response.status_code}")
        else:
            problems.extend(self.check_error_body(response))
            if not problems and response.json().get("code") != "000404":
                problems.append(f"expected code 000404, got {response.json().get('code')!r}")
        if problems:
            self.fail(f"{what}: " + "; ".join(problems))
        else:
            self.undocumented.append((what, 404, "the path is not in Kisi's document at all; Kisi's observed "
                                                 "answer is 404 {\"code\":\"000404\"} (Airbyte migration guide)"))
            self.undocumented_by_op[("(none)", "unknown endpoint")] += 1


def describe(error: Exception) -> str:
    parts = [f"{type(error).__name__}: {error}"]
    seen = set()
    stack = [error]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        for attr in ("schema_errors", "context"):
            nested = getattr(current, attr, None)
            if nested:
                try:
                    for item in nested:
                        message = getattr(item, "message", None) or str(item)
                        where = "/".join(str(p) for p in getattr(item, "absolute_path", []) or [])
                        parts.append(f"{where or '<root>'}: {message[:300]}")
                        stack.append(item)
                except TypeError:
                    pass
        cause = current.__cause__ or current.__context__
        if cause is not None:
            parts.append(f"{type(cause).__name__}: {str(cause)[:300]}")
            stack.append(cause)
    text = " | ".join(dict.fromkeys(parts))
    return text if len(text) <= 2500 else text[:2500] + " ..."


# ---------------------------------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------------------------------

def expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def ids_of(items: list) -> list:
    return [item["id"] for item in items]


def run(c: Checker) -> None:
    tag = uuid.uuid4().hex[:8]
    unknown_key = f"kisi-conformance-unknown-{tag}"
    c.admin("POST", "reset")
    c.admin("DELETE", "faults")
    c.pacer.clear()

    demo = c.admin("GET", "state")["organizations"][0]
    if not any(k["secret"] == c.api_key for k in demo["api_keys"]):
        raise Failure("--api-key is not an API key of the sandbox's first organization")
    owner_id = next(k["user_id"] for k in demo["api_keys"] if k["secret"] == c.api_key)
    user_count = len(demo["users"])
    locks = demo["locks"]
    places = demo["places"]
    place_a, place_b = places[0]["id"], places[1]["id"]
    lock_a = next(l["id"] for l in locks if l["place_id"] == place_a)
    lock_b = next(l["id"] for l in locks if l["place_id"] == place_b)
    existing_ra = demo["role_assignments"][0]
    existing_gl = demo["group_locks"][0]
    existing_group = demo["groups"][0]["id"]
    missing = 987654321

    # ---- the validator bites: altered copies of real responses are rejected ---------------------
    c.self_test(f"/users/{owner_id}")
    c.self_test("/locks?limit=3")

    # ---- 401 for every operation: no key, unknown key (checked before the rate limit) ---------
    sample_path = {"{id}": "1"}
    sample_bodies = {
        "/users": {"user": {"email": f"nobody-{tag}@example.com"}},
        "/groups": {"group": {"name": "x"}},
        "/group_locks": {"group_lock": {"group_id": existing_group, "lock_id": lock_a}},
        "/role_assignments": {"role_assignment": {"applies_to_type": "Group", "applies_to_id": existing_group,
                                                  "assignee_type": "User", "assignee_id": 1, "role_id": "group_basic"}},
        "/invites": {"invite": {"invites_to_type": "Group", "invites_to_id": existing_group,
                                "invitee": {"resource_type": "User", "email": f"nobody-{tag}@example.com", "name": "x"},
                                "role_assignment": {"role_id": "group_basic"}}},
        "/event_sets": {"event_set": {}},
        "/integrations": {"integration": {"name": "x", "type": "event_webhook", "url": "http://127.0.0.1:9/x"}},
    }
    for method, template in IN_SCOPE:
        path = template.replace("{id}", sample_path["{id}"])
        body = sample_bodies.get(template) if method == "POST" else None
        params = {"group_id": existing_group} if template == "/group_locks" and method == "GET" else None
        c.call(method, template, path, expect=401, key=None, body=body, params=params, label="no API key",
               check=lambda p, r: expect(p["code"] == "000401", f"code {p['code']}"))
        c.call(method, template, path, expect=401, key=unknown_key, body=body, params=params, label="unknown API key")
    c.call("GET", "/organization", expect=401, key="", label="empty KISI-LOGIN value")

    # ---- unknown endpoints ---------------------------------------------------------------------
    c.unknown_endpoint("GET", "/user_export_reporters")
    c.unknown_endpoint("GET", f"/kisi_conformance_{tag}", key=None)
    c.unknown_endpoint("POST", "/locks/1/teleport")

    # ---- current organization / user / login ---------------------------------------------------
    c.call("GET", "/organization", expect=200,
           check=lambda p, r: expect(p["id"] == demo["organization"]["id"], "wrong organization"))
    c.call("GET", "/user", expect=200, check=lambda p, r: expect(p["id"] == owner_id, "not the key's user"))
    c.call("GET", "/login", expect=200, check=lambda p, r: expect(p["user_id"] == owner_id, "not the key's login")
           if "user_id" in p else None)

    # ---- roles, places, locks --------------------------------------------------------------------
    c.call("GET", "/roles", expect=200,
           check=lambda p, r: expect({"group_basic", "group_manager"} <= {x["id"] for x in p}, "group roles missing"))
    c.call("GET", "/places", expect=200, check=lambda p, r: expect(len(p) == len(places), "places count"))
    c.call("GET", "/places", expect=200, params={"query": places[1]["name"][:4].lower()},
           check=lambda p, r: expect(place_b in ids_of(p), "query did not find the place"))
    c.call("GET", "/places", expect=200, params={"ids": f"{place_a},{missing}"},
           check=lambda p, r: expect(ids_of(p) == [place_a], f"ids filter gave {ids_of(p)}"))
    c.call("GET", "/places/{id}", f"/places/{place_a}", expect=200,
           check=lambda p, r: expect(p["id"] == place_a, "wrong place"))
    c.call("GET", "/places/{id}", f"/places/{missing}", expect=404)
    c.call("GET", "/locks", expect=200, check=lambda p, r: expect(len(p) == len(locks), "locks count"))
    c.call("GET", "/locks", expect=200, params={"place_id": place_b},
           check=lambda p, r: expect(p and all(l["place_id"] == place_b for l in p), "place_id filter"))
    c.call("GET", "/locks/{id}", f"/locks/{lock_a}", expect=200, check=lambda p, r: expect(p["id"] == lock_a, "wrong lock"))
    c.call("GET", "/locks/{id}", f"/locks/{missing}", expect=404,
           check=lambda p, r: expect(p["code"] == "fad10e", f"code {p['code']}"))
    c.call("GET", "/locks/{id}", "/locks/not-a-number", expect=404, request_conforms=False)
    c.call("POST", "/locks/{id}/unlock", f"/locks/{lock_a}/unlock", expect=200, body={},
           check=lambda p, r: expect(p == {"message": "Unlocked!"}, f"{p}"))
    c.call("POST", "/locks/{id}/unlock", f"/locks/{missing}/unlock", expect=404, body={},
           check=lambda p, r: expect(p["code"] == "fad10e", f"code {p['code']}"))

    # ---- pagination --------------------------------------------------------------------------------
    seen_ids: list[int] = []
    for offset in range(0, len(locks) + 5, 5):
        page = c.call("GET", "/locks", expect=200, params={"limit": 5, "offset": offset}, label="paging",
                      check=lambda p, r, o=offset: expect(
                          r.headers["X-Collection-Range"] == (f"{o}-{o + 4}/{len(locks)}" if p else f"*/{len(locks)}"),
                          f"X-Collection-Range {r.headers['X-Collection-Range']}"))
        seen_ids += ids_of(page or [])
    if sorted(seen_ids) != sorted(l["id"] for l in locks) or len(set(seen_ids)) != len(seen_ids):
        c.fail(f"paging GET /locks by 5 gave {seen_ids}, not every lock exactly once")
    seen_ids = []
    for offset in range(0, user_count, 2):
        page = c.call("GET", "/users", expect=200, params={"limit": 2, "offset": offset}, label="paging",
                      check=lambda p, r, o=offset: expect(
                          r.headers["X-Collection-Range"] == f"{o}-{o + 1}/{user_count}",
                          f"X-Collection-Range {r.headers['X-Collection-Range']}"))
        seen_ids += ids_of(page or [])
    if sorted(seen_ids) != sorted(u["id"] for u in demo["users"]):
        c.fail(f"paging GET /users by 2 gave {seen_ids}")
    c.call("GET", "/users", expect=200, params={"limit": 500}, label="limit above the maximum 100",
           request_conforms=False,
           check=lambda p, r: expect(r.headers["X-Collection-Range"] == f"0-99/{user_count}",
                                     f"not clamped to 100: {r.headers['X-Collection-Range']}"))
    c.call("GET", "/locks", expect=200, params={"limit": 1000}, label="limit above the maximum 250",
           request_conforms=False,
           check=lambda p, r: expect(r.headers["X-Collection-Range"] == f"0-249/{len(locks)}",
                                     f"not clamped to 250: {r.headers['X-Collection-Range']}"))
    c.call("GET", "/groups", expect=200, label="default limit 10",
           check=lambda p, r: expect(r.headers["X-Collection-Range"].startswith("0-9/"), r.headers["X-Collection-Range"]))
    c.call("GET", "/users", expect=400, params={"limit": 0}, label="limit 0", request_conforms=False,
           undocumented="fetchUsers declares only 200/401; sandbox Decision 1: limit < 1 -> 400 (Kisi's behaviour unknown)")
    c.call("GET", "/users", expect=400, params={"offset": 20001}, label="offset above 20000", request_conforms=False,
           undocumented="fetchUsers declares only 200/401; the document's maximum offset is 20000; sandbox Decision 2 -> 400")
    c.call("GET", "/places", expect=400, params={"limit": "many"}, label="limit not a number", request_conforms=False,
           undocumented="fetchPlaces declares only 200/401; sandbox Decision 1: non-numeric limit -> 400")
    c.call("GET", "/group_locks", expect=400, params={"group_id": existing_group, "offset": -1},
           label="negative offset (400 declared here)", request_conforms=False)

    # ---- users ---------------------------------------------------------------------------------
    email = f"conformance-{tag}@example.com"
    user = c.call("POST", "/users", expect=200,
                  body={"user": {"email": email.upper(), "name": f"Conformance {tag}", "notes": "kisi conformance",
                                 "metadata": {"suite": "kisi-conformance", "n": 1}, "access_enabled": True,
                                 "send_emails": False, "confirm": True}},
                  check=lambda p, r: expect(p["email"] == email, f"email stored as {p['email']!r}"))
    user_id = user["id"] if user else missing
    c.call("POST", "/users", expect=200, label="minimal, with image",
           body={"user": {"email": f"minimal-{tag}@example.com", "image": "https://example.com/a.png"}},
           check=lambda p, r: expect(p["name"] == "" and p["image"] == "https://example.com/a.png", f"{p}"))
    c.call("POST", "/users", expect=422, body={"user": {"email": email, "name": "dup"}}, label="duplicate email",
           check=lambda p, r: expect("email" in p["errors"], f"{p}"))
    c.call("POST", "/users", expect=422, body={"user": {"email": "  ", "name": "blank"}}, label="blank email",
           request_conforms=False, check=lambda p, r: expect("email" in p["errors"], f"{p}"))
    c.call("POST", "/users", expect=422, body={"user": {"name": "no email"}}, label="missing email",
           check=lambda p, r: expect("email" in p["errors"], f"{p}"))
    c.call("POST", "/users", expect=422, body={"user": {"email": "not-an-email"}}, label="invalid email",
           request_conforms=False)
    c.call("POST", "/users", expect=400, body={"name": "no wrapper"}, label="missing `user` wrapper",
           undocumented="createUser declares 200/401/403/422; sandbox Decision 10 answers Rails' ParameterMissing as 400")
    c.call("GET", "/users", expect=200, params={"email": email.upper()},
           check=lambda p, r: expect(ids_of(p) == [user_id], f"email filter gave {ids_of(p)}"))
    c.call("GET", "/users", expect=200, params={"email": f"absent-{tag}@example.com"}, label="empty result",
           check=lambda p, r: expect(p == [] and r.headers["X-Collection-Range"] == "*/0", "expected [] and */0"))
    c.call("GET", "/users", expect=200, params={"query": f"conformance-{tag}"},
           check=lambda p, r: expect(ids_of(p) == [user_id], f"query gave {ids_of(p)}"))
    c.call("GET", "/users", expect=200, params={"ids": f"{owner_id},{user_id},{missing}"},
           check=lambda p, r: expect(sorted(ids_of(p)) == sorted([owner_id, user_id]), f"ids gave {ids_of(p)}"))
    c.call("GET", "/users", expect=200, params={"sort": "-name", "limit": 100},
           check=lambda p, r: expect([u["name"] for u in p] == sorted((u["name"] for u in p), reverse=True), "sort"))
    c.call("GET", "/users/{id}", f"/users/{user_id}", expect=200,
           check=lambda p, r: expect(p["metadata"] == {"suite": "kisi-conformance", "n": 1}, f"metadata {p['metadata']}"))
    c.call("GET", "/users/{id}", f"/users/{missing}", expect=404)
    c.call("PATCH", "/users/{id}", f"/users/{user_id}", expect=204,
           body={"user": {"name": f"Renamed {tag}", "notes": None, "access_enabled": False}})
    c.call("GET", "/users/{id}", f"/users/{user_id}", expect=200, label="after PATCH",
           check=lambda p, r: expect(p["name"] == f"Renamed {tag}" and p["notes"] is None and not p["access_enabled"],
                                     f"PATCH not applied: {p}"))
    c.call("PATCH", "/users/{id}", f"/users/{missing}", expect=404, body={"user": {"name": "x"}})

    # ---- groups --------------------------------------------------------------------------------
    org_group = c.call("POST", "/groups", expect=200,
                       body={"group": {"name": f"Conformance org group {tag}", "description": "org-scoped"}},
                       check=lambda p, r: expect(p["place_id"] is None, "expected an organization-scoped group"))
    org_group_id = org_group["id"] if org_group else missing
    place_group = c.call("POST", "/groups", expect=200,
                         body={"group": {"name": f"Conformance place group {tag}", "place_id": place_a,
                                         "login_enabled": True, "time_restriction_enabled": False}},
                         check=lambda p, r: expect(p["place_id"] == place_a, "expected a place-scoped group"))
    place_group_id = place_group["id"] if place_group else missing
    c.call("POST", "/groups", expect=422, body={"group": {"description": "no name"}}, label="missing name",
           check=lambda p, r: expect("name" in p["errors"], f"{p}"))
    c.call("GET", "/groups", expect=200, params={"query": tag, "limit": 250},
           check=lambda p, r: expect(sorted(ids_of(p)) == sorted([org_group_id, place_group_id]), f"{ids_of(p)}"))
    c.call("GET", "/groups", expect=200, params={"scope": "place", "place_id": str(place_a)},
           check=lambda p, r: expect(p and all(g["place_id"] == place_a for g in p), "scope/place_id filter"))
    c.call("GET", "/groups", expect=200, params={"ids": f"{org_group_id}"},
           check=lambda p, r: expect(ids_of(p) == [org_group_id], f"{ids_of(p)}"))
    c.call("GET", "/groups/{id}", f"/groups/{place_group_id}", expect=200,
           check=lambda p, r: expect(p["place"]["id"] == place_a, "place sub-object"))
    c.call("GET", "/groups/{id}", f"/groups/{missing}", expect=404)
    c.call("PATCH", "/groups/{id}", f"/groups/{org_group_id}", expect=204,
           body={"group": {"description": "patched", "login_enabled": False}})
    c.call("GET", "/groups/{id}", f"/groups/{org_group_id}", expect=200, label="after PATCH",
           check=lambda p, r: expect(p["description"] == "patched", "PATCH not applied"))
    c.call("PATCH", "/groups/{id}", f"/groups/{missing}", expect=404, body={"group": {"name": "x"}})
    c.call("PATCH", "/groups/{id}", f"/groups/{place_group_id}", expect=422, body={"group": {"place_id": place_b}},
           label="change of scope", request_conforms=False,
           undocumented="updateGroup declares 204/401/403/404; sandbox Decision 15 answers a place_id change with 422 "
                        "instead of silently ignoring it")

    # ---- group locks ---------------------------------------------------------------------------
    gl = c.call("POST", "/group_locks", expect=200, body={"group_lock": {"group_id": place_group_id, "lock_id": lock_a}},
                check=lambda p, r: expect(p["group_id"] == place_group_id and p["lock_id"] == lock_a, f"{p}"))
    gl_id = gl["id"] if gl else missing
    c.call("POST", "/group_locks", expect=200, body={"group_lock": {"group_id": org_group_id, "lock_id": lock_b}})
    c.call("POST", "/group_locks", expect=200, body={"group_lock": {"group_id": org_group_id, "lock_id": lock_a}})
    c.call("POST", "/group_locks", expect=422, body={"group_lock": {"group_id": place_group_id, "lock_id": lock_b}},
           label="lock of another place in a place-scoped group",
           check=lambda p, r: expect("lock" in p["errors"], f"{p}"))
    c.call("POST", "/group_locks", expect=422, body={"group_lock": {"group_id": place_group_id, "lock_id": lock_a}},
           label="duplicate", check=lambda p, r: expect("lock_id" in p["errors"], f"{p}"))
    c.call("POST", "/group_locks", expect=422, body={"group_lock": {"group_id": place_group_id}},
           label="missing lock_id", request_conforms=False,
           check=lambda p, r: expect("lock_id" in p["errors"], f"{p}"))
    c.call("POST", "/group_locks", expect=404, body={"group_lock": {"group_id": place_group_id, "lock_id": missing}},
           label="unknown lock",
           undocumented="createGroupLock declares 200/401/403/422; sandbox Decision 12 looks the lock up first (404)")
    c.call("GET", "/group_locks", expect=200, params={"group_id": org_group_id},
           check=lambda p, r: expect(sorted(l["lock_id"] for l in p) == sorted([lock_a, lock_b]), f"{p}"))
    c.call("GET", "/group_locks", expect=200, params={"group_id": org_group_id, "lock_id": lock_b, "limit": 1},
           check=lambda p, r: expect([l["lock_id"] for l in p] == [lock_b], f"{p}"))
    c.call("GET", "/group_locks", expect=400, label="missing group_id", request_conforms=False)
    c.call("GET", "/group_locks", expect=404, params={"group_id": missing}, label="unknown group")
    c.call("GET", "/group_locks/{id}", f"/group_locks/{gl_id}", expect=200)
    c.call("GET", "/group_locks/{id}", f"/group_locks/{existing_gl['id']}", expect=200, label="seeded")
    c.call("GET", "/group_locks/{id}", f"/group_locks/{missing}", expect=404)
    c.call("DELETE", "/group_locks/{id}", f"/group_locks/{missing}", expect=404)

    # ---- role assignments ----------------------------------------------------------------------
    ra = c.call("POST", "/role_assignments", expect=200,
                body={"role_assignment": {"applies_to_type": "Group", "applies_to_id": org_group_id,
                                          "assignee_type": "User", "assignee_id": user_id, "role_id": "group_basic",
                                          "notify": False, "valid_from": "2020-01-01T00:00:00Z",
                                          "valid_until": "2099-01-01T00:00:00Z"}},
                label="current body shape",
                check=lambda p, r: expect(p["applies_to_id"] == org_group_id and p["assignee_id"] == user_id, f"{p}"))
    ra_id = ra["id"] if ra else missing
    legacy = c.call("POST", "/role_assignments", expect=200,
                    body={"role_assignment": {"user_id": user_id, "group_id": place_group_id, "role_id": "group_basic",
                                              "valid_until": None}},
                    label="legacy body shape (user_id/group_id)", request_conforms=False,
                    check=lambda p, r: expect(p["applies_to_type"] == "Group" and p["applies_to_id"] == place_group_id,
                                              f"{p}"))
    legacy_id = legacy["id"] if legacy else missing
    c.call("POST", "/role_assignments", expect=200,
           body={"role_assignment": {"applies_to_type": "Place", "applies_to_id": place_b, "assignee_type": "User",
                                     "assignee_id": user_id, "role_id": "place_administrator"}},
           label="place role")
    c.call("POST", "/role_assignments", expect=422,
           body={"role_assignment": {"applies_to_type": "Group", "applies_to_id": org_group_id,
                                     "assignee_type": "User", "assignee_id": user_id, "role_id": "group_manager"}},
           label="duplicate role in the same group",
           check=lambda p, r: expect("assignee_id" in p["errors"], f"{p}"))
    c.call("POST", "/role_assignments", expect=422,
           body={"role_assignment": {"applies_to_type": "Group", "applies_to_id": org_group_id,
                                     "assignee_type": "User", "assignee_id": user_id}},
           label="missing role_id", request_conforms=False, check=lambda p, r: expect("role_id" in p["errors"], f"{p}"))
    c.call("POST", "/role_assignments", expect=404,
           body={"role_assignment": {"applies_to_type": "Group", "applies_to_id": missing,
                                     "assignee_type": "User", "assignee_id": user_id, "role_id": "group_basic"}},
           label="unknown group")
    c.call("POST", "/role_assignments", expect=404,
           body={"role_assignment": {"applies_to_type": "Group", "applies_to_id": org_group_id,
                                     "assignee_type": "User", "assignee_id": missing, "role_id": "group_basic"}},
           label="unknown user")
    c.call("GET", "/role_assignments", expect=200,
           params={"assignee_type": "User", "assignee_id": user_id, "limit": 250},
           check=lambda p, r: expect(len(p) == 3 and all(x["assignee_id"] == user_id for x in p), f"{ids_of(p)}"))
    c.call("GET", "/role_assignments", expect=200,
           params={"applies_to_type": "Group", "applies_to_id": org_group_id},
           check=lambda p, r: expect(ids_of(p) == [ra_id], f"{ids_of(p)}"))
    c.call("GET", "/role_assignments", expect=200, params={"user_id": user_id, "group_id": place_group_id, "limit": 1},
           label="deprecated user_id/group_id", check=lambda p, r: expect(ids_of(p) == [legacy_id], f"{ids_of(p)}"))
    c.call("GET", "/role_assignments", expect=200, params={"user_id": "me"}, label="user_id=me",
           check=lambda p, r: expect(all(x["assignee_id"] == owner_id for x in p), f"{ids_of(p)}"))
    c.call("GET", "/role_assignments", expect=200, params={"query": tag, "role_id": "group_basic"},
           check=lambda p, r: expect(sorted(ids_of(p)) == sorted([ra_id, legacy_id]), f"{ids_of(p)}"))
    c.call("GET", "/role_assignments", expect=200, params={"scope": "place", "place_id": place_b},
           check=lambda p, r: expect(p and all(x["applies_to_type"] == "Place" for x in p), f"{ids_of(p)}"))
    c.call("GET", "/role_assignments", expect=200, params={"limit": 2, "offset": 2}, label="paging")
    org_ra = c.call("POST", "/role_assignments", expect=200,
                    body={"role_assignment": {"applies_to_type": "Organization", "applies_to_id": demo["organization"]["id"],
                                              "assignee_type": "User", "assignee_id": user_id, "role_id": "observer"}},
                    label="organization role",
                    check=lambda p, r: expect(p["applies_to_type"] == "Organization", f"{p}"))
    if org_ra:
        c.call("GET", "/role_assignments/{id}", f"/role_assignments/{org_ra['id']}", expect=200, label="organization role")
        c.call("DELETE", "/role_assignments/{id}", f"/role_assignments/{org_ra['id']}", expect=204,
               label="organization role")
    c.call("GET", "/role_assignments", expect=200, params={"applies_to_type": "Place", "applies_to_id": place_b},
           check=lambda p, r: expect(p and all(x["applies_to_id"] == place_b for x in p), f"{ids_of(p)}"))
    c.call("GET", "/users", expect=200, params={"group_id": org_group_id},
           check=lambda p, r: expect(ids_of(p) == [user_id], f"group_id filter gave {ids_of(p)}"))
    c.call("GET", "/users", expect=200, params={"user_id": "me"},
           check=lambda p, r: expect(ids_of(p) == [owner_id], f"user_id=me gave {ids_of(p)}"))
    c.call("GET", "/users", expect=200, params={"place_id": place_b, "limit": 100})
    c.call("GET", "/groups", expect=200, params={"lock_id": str(lock_b)},
           check=lambda p, r: expect(org_group_id in ids_of(p), f"lock_id filter gave {ids_of(p)}"))
    c.call("POST", "/locks/{id}/unlock", f"/locks/{lock_a}/unlock", expect=200, label="with context",
           body={"context": {"location": {"latitude": 44.43, "longitude": 26.1}}, "lock": {"proximity_proof": None}})
    c.call("GET", "/role_assignments/{id}", f"/role_assignments/{ra_id}", expect=200)
    c.call("GET", "/role_assignments/{id}", f"/role_assignments/{existing_ra['id']}", expect=200, label="seeded")
    c.call("GET", "/role_assignments/{id}", f"/role_assignments/{missing}", expect=404)
    c.call("PATCH", "/role_assignments/{id}", f"/role_assignments/{ra_id}", expect=204,
           body={"role_assignment": {"valid_until": "2098-06-01T00:00:00Z", "notify": True}},
           request_conforms=False)  # the document's PATCH schema is garbled (notify as date-time)
    c.call("GET", "/role_assignments/{id}", f"/role_assignments/{ra_id}", expect=200, label="after PATCH",
           check=lambda p, r: expect(str(p.get("valid_until", "")).startswith("2098-06-01"), f"{p.get('valid_until')}"))
    c.call("PATCH", "/role_assignments/{id}", f"/role_assignments/{ra_id}", expect=422,
           body={"role_assignment": {"valid_from": "2099-01-01T00:00:00Z", "valid_until": "2098-01-01T00:00:00Z"}},
           label="valid_until before valid_from", request_conforms=False)
    c.call("PATCH", "/role_assignments/{id}", f"/role_assignments/{missing}", expect=404,
           body={"role_assignment": {"role_id": "group_basic"}})
    c.call("DELETE", "/role_assignments/{id}", f"/role_assignments/{missing}", expect=404)

    # ---- invites (group invites) ---------------------------------------------------------------
    invite_email = f"invitee-{tag}@example.com"
    c.call("POST", "/invites", expect=200,
           body={"invite": {"invites_to_type": "Group", "invites_to_id": org_group_id, "notify": False,
                            "invitee": {"resource_type": "User", "email": invite_email, "name": f"Invitee {tag}"},
                            "role_assignment": {"role_id": "group_basic", "valid_from": None,
                                                "valid_until": "2099-01-01T00:00:00Z"}}},
           label="new user")
    c.call("POST", "/invites", expect=200,
           body={"invite": {"invites_to_type": "Group", "invites_to_id": place_group_id,
                            "invitee": {"resource_type": "User", "email": invite_email, "name": f"Invitee {tag}"},
                            "role_assignment": {"role_id": "group_basic"}}},
           label="existing user")
    c.call("POST", "/invites", expect=422,
           body={"invite": {"invites_to_type": "Group", "invites_to_id": org_group_id,
                            "invitee": {"resource_type": "User", "email": invite_email, "name": "again"},
                            "role_assignment": {"role_id": "group_basic"}}},
           label="already in the group")
    c.call("POST", "/invites", expect=422,
           body={"invite": {"invites_to_type": "Group", "invitee": {"resource_type": "User", "email": "", "name": "x"}}},
           label="missing invites_to_id and role_assignment", request_conforms=False)
    c.call("GET", "/users", expect=200, params={"email": invite_email}, label="invited user exists",
           check=lambda p, r: expect(len(p) == 1, f"{p}"))

    # ---- integrations (event_webhook) ----------------------------------------------------------
    c.call("GET", "/integrations", expect=200, label="none yet",
           check=lambda p, r: expect(r.headers["X-Collection-Range"] == ("*/0" if not p else r.headers["X-Collection-Range"]),
                                     "empty collection must be */0"))
    hook = c.call("POST", "/integrations", expect=200,
                  body={"integration": {"name": f"Conformance hook {tag}", "type": "event_webhook", "enabled": True,
                                        "url": "http://127.0.0.1:9/kisi-conformance",
                                        "enabled_events": ["lock.unlock", "user.create"]}},
                  check=lambda p, r: expect(p["type"] == "event_webhook", f"{p}"))
    hook_id = hook["id"] if hook else missing
    c.call("POST", "/integrations", expect=422,
           body={"integration": {"name": "no url", "type": "event_webhook"}}, label="missing url",
           check=lambda p, r: expect("url" in p["errors"], f"{p}"))
    c.call("GET", "/integrations", expect=200, params={"limit": 250},
           check=lambda p, r: expect(hook_id in ids_of(p), f"{ids_of(p)}"))
    c.call("GET", "/integrations/{id}", f"/integrations/{hook_id}", expect=200)
    c.call("GET", "/integrations/{id}", f"/integrations/{missing}", expect=404)
    c.call("DELETE", "/integrations/{id}", f"/integrations/{hook_id}", expect=204)
    c.call("GET", "/integrations/{id}", f"/integrations/{hook_id}", expect=404, label="after DELETE")
    c.call("DELETE", "/integrations/{id}", f"/integrations/{missing}", expect=404)

    # ---- event sets (cursor paging) ------------------------------------------------------------
    c.call("POST", "/locks/{id}/unlock", f"/locks/{lock_b}/unlock", expect=200, body={}, label="another event")
    event_set = c.call("POST", "/event_sets", expect=200, body={"event_set": {"event_type": None}})
    event_set_total = None
    if event_set:
        es_id = event_set["id"]
        page = c.call("GET", "/event_sets/{id}", f"/event_sets/{es_id}", expect=200, params={"limit": 3},
                      label="first page")
        pages, uuids = 0, []
        while page and pages < 100:
            uuids += [e["uuid"] for e in page.get("events", [])]
            cursor = page.get("cursor")
            if not cursor:
                break
            pages += 1
            page = c.call("GET", "/event_sets/{id}", f"/event_sets/{es_id}", expect=200,
                          params={"limit": 3, "cursor": cursor}, label=f"cursor page {pages + 1}")
        event_set_total = len(uuids)
        if pages < 2:
            c.fail(f"event set {es_id}: expected several cursor pages of 3, got {pages + 1}")
        if len(set(uuids)) != len(uuids):
            c.fail(f"event set {es_id}: cursor pages repeat events")
        c.call("GET", "/event_sets/{id}", f"/event_sets/{es_id}", expect=400, params={"cursor": "%%%not-a-cursor"},
               label="bad cursor")
    c.call("POST", "/event_sets", expect=200,
           body={"event_set": {"event_type": "lock.unlock", "event_success": True, "place_id": place_b}},
           check=lambda p, r: expect(all(e["type"] == "lock.unlock" for e in p.get("events", [])), "event_type filter"))
    c.call("POST", "/event_sets", expect=422, body={"event_set": {"interval": "not an interval"}}, label="bad interval")
    c.call("GET", "/event_sets/{id}", f"/event_sets/{missing}", expect=404)

    # ---- 503: the sandbox's fault injection, on the operations that declare 503 ----------------
    c.admin("POST", "faults", {"error_rate": 1})
    try:
        c.call("POST", "/locks/{id}/unlock", f"/locks/{lock_a}/unlock", expect=503, body={}, label="injected 503",
               check=lambda p, r: expect(p["code"] == "ffffff", f"code {p['code']}"))
        c.call("POST", "/event_sets", expect=503, body={"event_set": {}}, label="injected 503")
        if event_set:
            c.call("GET", "/event_sets/{id}", f"/event_sets/{event_set['id']}", expect=503, label="injected 503")
    finally:
        c.admin("DELETE", "faults")

    # ---- deletes, cascades ---------------------------------------------------------------------
    c.call("DELETE", "/group_locks/{id}", f"/group_locks/{gl_id}", expect=204)
    c.call("GET", "/group_locks/{id}", f"/group_locks/{gl_id}", expect=404, label="after DELETE")
    c.call("DELETE", "/role_assignments/{id}", f"/role_assignments/{legacy_id}", expect=204)
    c.call("GET", "/role_assignments/{id}", f"/role_assignments/{legacy_id}", expect=404, label="after DELETE")
    c.call("DELETE", "/groups/{id}", f"/groups/{org_group_id}", expect=204)
    c.call("GET", "/role_assignments/{id}", f"/role_assignments/{ra_id}", expect=404, label="cascaded by group DELETE")
    c.call("DELETE", "/groups/{id}", f"/groups/{missing}", expect=404)
    c.call("DELETE", "/users/{id}", f"/users/{user_id}", expect=204)
    c.call("GET", "/users/{id}", f"/users/{user_id}", expect=404, label="after DELETE")
    c.call("DELETE", "/users/{id}", f"/users/{missing}", expect=404)
    c.call("DELETE", "/users/{id}", f"/users/{owner_id}", expect=422, label="the organization's owner")
    c.call("DELETE", "/groups/{id}", f"/groups/{place_group_id}", expect=204)

    # ---- 429: more than 5 requests in one second (per user) -------------------------------------
    time.sleep(1.1)
    c.pacer.clear()
    burst = []
    for i in range(8):
        expected = 200 if i < 5 else 429
        c.call("GET", "/organization", expect=expected, pace=False, label=f"burst {i + 1}/8",
               undocumented="" if expected == 200 else
               "429 is only in the document's prose (5 requests/second per user), declared by no operation",
               check=lambda p, r: burst.append(r.headers.get("Retry-After")))
    retry = [r for r in burst[5:] if r is not None]
    if len(retry) != 3 or not all(r.isdigit() and int(r) >= 1 for r in retry):
        c.fail(f"429 answers must carry Retry-After >= 1, got {burst[5:]}")
    time.sleep(1.1)
    c.pacer.clear()
    c.call("POST", "/event_sets", expect=200, body={"event_set": {}}, pace=False, label="event set 1/s: first")
    c.call("POST", "/event_sets", expect=429, body={"event_set": {}}, pace=False, label="event set 1/s: second",
           undocumented="the document's prose limits POST /event_sets to 1/second; createEventSet declares no 429")
    time.sleep(1.1)
    c.pacer.clear()

    # ---- per-user keys: a seed of the suite's own (non-administrators, another organization) ----
    per_user(c, tag)

    c.admin("POST", "reset")
    if event_set_total is not None and c.verbose:
        print(f"     event set paged {event_set_total} events by 3")


def per_user(c: Checker, tag: str) -> None:
    """403s need a caller that is not an administrator: the sandbox supports per-user API keys through
    its seed (POST /_sandbox/seed), so the suite loads a small seed of its own, then resets."""
    staff_key, plain_key, off_key, other_key, manager_key, place_key = (
        f"kisi-conformance-{n}-{tag}" for n in ("staff", "plain", "off", "other", "manager", "place"))
    seed = {"organizations": [
        {"id": 1, "name": "Conformance Gym", "time_zone": "Europe/Bucharest",
         "users": [
             {"id": 1, "name": "Owner", "email": "owner@conformance.example", "organization_role": "owner",
              "api_keys": [c.api_key]},
             {"id": 2, "name": "Staff With Access", "email": "staff@conformance.example", "api_keys": [staff_key]},
             {"id": 3, "name": "Plain User", "email": "plain@conformance.example", "api_keys": [plain_key]},
             {"id": 4, "name": "Suspended Staff", "email": "off@conformance.example", "api_keys": [off_key],
              "access_enabled": False},
             {"id": 5, "name": "Access Manager", "email": "manager@conformance.example", "api_keys": [manager_key],
              "organization_role": "access_manager"},
             {"id": 6, "name": "Place Admin", "email": "place@conformance.example", "api_keys": [place_key]},
         ],
         "places": [{"id": 1001, "name": "Main", "locks": [{"id": 5001, "name": "Entrance"}, {"id": 5002, "name": "Office"}]},
                    {"id": 1002, "name": "Annex", "locks": [{"id": 5003, "name": "Annex door"}]}],
         "groups": [{"id": 2001, "name": "Members", "place_id": None, "lock_ids": [5001]}],
         "role_assignments": [{"id": 3001, "user_id": 2, "group_id": 2001, "role_id": "group_basic"},
                              {"id": 3002, "user_id": 4, "group_id": 2001, "role_id": "group_basic"},
                              {"id": 3003, "user_id": 6, "place_id": 1001, "role_id": "place_administrator"}]},
        {"id": 2, "name": "Another Organization", "users": [
            {"id": 10, "name": "Other Owner", "email": "owner@other.example", "organization_role": "owner",
             "api_keys": [other_key]}],
         "places": [{"id": 1101, "name": "Elsewhere", "locks": [{"id": 5101, "name": "Their door"}]}],
         "groups": [{"id": 2101, "name": "Their group", "lock_ids": [5101]}]},
    ]}
    c.admin("POST", "seed", seed)
    c.pacer.clear()
    Checker.paced_keys = {staff_key, plain_key, off_key, other_key, manager_key, place_key}

    # Door rule through the API, cross-checked with the oracle control route.
    for key, who, lock, status, code in [(staff_key, 2, 5001, 200, None), (plain_key, 3, 5001, 403, "fcd8ef"),
                                         (off_key, 4, 5001, 403, "fcd8ff"), (staff_key, 2, 5002, 403, "fcd8ef")]:
        c.call("POST", "/locks/{id}/unlock", f"/locks/{lock}/unlock", expect=status, key=key, body={},
               label=f"user {who}", check=(lambda p, r, code=code: expect(p["code"] == code, f"code {p['code']}"))
               if code else None)
        oracle = c.admin("GET", "oracle", params={"user_id": who, "lock_id": lock})
        if oracle.get("allowed") != (status == 200) or (code and oracle.get("code") != code):
            c.fail(f"oracle disagrees with POST /locks/{lock}/unlock for user {who}: {oracle}")
    c.call("POST", "/locks/{id}/unlock", "/locks/5101/unlock", expect=404, body={}, label="another organization's lock")
    c.call("GET", "/locks/{id}", "/locks/5101", expect=404, label="another organization's lock")
    c.call("GET", "/users/{id}", "/users/10", expect=404, label="another organization's user")
    c.call("GET", "/groups/{id}", "/groups/2101", expect=404, label="another organization's group")
    c.call("GET", "/places/{id}", "/places/1101", expect=404, label="another organization's place")

    # A non-administrator's key: what any key may read ...
    for template in ("/organization", "/user", "/login", "/roles", "/places", "/locks"):
        c.call("GET", template, expect=200, key=plain_key, label="non-administrator")
    c.call("GET", "/places/{id}", "/places/1001", expect=200, key=plain_key, label="non-administrator")
    c.call("GET", "/locks/{id}", "/locks/5001", expect=200, key=plain_key, label="non-administrator")
    c.call("GET", "/user", expect=200, key=staff_key, label="another user",
           check=lambda p, r: expect(p["id"] == 2, f"GET /user answered user {p['id']}"))
    # ... and 403 on management operations that declare it.
    forbidden = [
        ("POST", "/users", None, {"user": {"email": f"x-{tag}@example.com"}}),
        ("GET", "/users/{id}", "/users/2", None),
        ("PATCH", "/users/{id}", "/users/2", {"user": {"name": "x"}}),
        ("DELETE", "/users/{id}", "/users/2", None),
        ("POST", "/groups", None, {"group": {"name": "x"}}),
        ("GET", "/groups/{id}", "/groups/2001", None),
        ("PATCH", "/groups/{id}", "/groups/2001", {"group": {"name": "x"}}),
        ("DELETE", "/groups/{id}", "/groups/2001", None),
        ("POST", "/group_locks", None, {"group_lock": {"group_id": 2001, "lock_id": 5002}}),
        ("POST", "/role_assignments", None, {"role_assignment": {"applies_to_type": "Group", "applies_to_id": 2001,
                                                                 "assignee_type": "User", "assignee_id": 3,
                                                                 "role_id": "group_basic"}}),
        ("GET", "/role_assignments/{id}", "/role_assignments/3001", None),
        ("PATCH", "/role_assignments/{id}", "/role_assignments/3001", {"role_assignment": {"role_id": "group_basic"}}),
        ("DELETE", "/role_assignments/{id}", "/role_assignments/3001", None),
        ("POST", "/invites", None, {"invite": {"invites_to_type": "Group", "invites_to_id": 2001,
                                               "invitee": {"resource_type": "User", "email": "y@example.com", "name": "y"},
                                               "role_assignment": {"role_id": "group_basic"}}}),
        ("POST", "/event_sets", None, {"event_set": {}}),
        ("POST", "/integrations", None, {"integration": {"name": "x", "type": "event_webhook",
                                                         "url": "http://127.0.0.1:9/x"}}),
    ]
    for method, template, path, body in forbidden:
        c.call(method, template, path or template, expect=403, key=plain_key, body=body, label="non-administrator",
               check=lambda p, r: expect(p["code"] == "000403", f"code {p['code']}"))
    # Group lock / integration / event set by id as a non-administrator: create as the owner first.
    gl = c.call("POST", "/group_locks", expect=200, body={"group_lock": {"group_id": 2001, "lock_id": 5002}})
    hook = c.call("POST", "/integrations", expect=200,
                  body={"integration": {"name": "h", "type": "event_webhook", "url": "http://127.0.0.1:9/h"}})
    es = c.call("POST", "/event_sets", expect=200, body={"event_set": {}})
    for method, template, record in [("GET", "/group_locks/{id}", gl), ("DELETE", "/group_locks/{id}", gl),
                                     ("GET", "/integrations/{id}", hook), ("DELETE", "/integrations/{id}", hook),
                                     ("GET", "/event_sets/{id}", es)]:
        if record:
            c.call(method, template, template.replace("{id}", str(record["id"])), expect=403, key=plain_key,
                   label="non-administrator")
    c.call("GET", "/users", expect=403, key=plain_key, label="non-administrator",
           undocumented="fetchUsers declares only 200/401; sandbox Decision 29: listing users needs users_read")
    c.call("GET", "/role_assignments", expect=200, key=plain_key, label="non-administrator: its own only",
           check=lambda p, r: expect(sorted(ids_of(p)) == [], f"a user without roles saw {ids_of(p)}"))
    c.call("GET", "/role_assignments", expect=200, key=staff_key, label="group member: its own only",
           check=lambda p, r: expect(ids_of(p) == [3001], f"saw {ids_of(p)}"))

    per_role(c, tag, manager_key, place_key)
    Checker.paced_keys = set()


def per_role(c: Checker, tag: str, manager_key: str, place_key: str) -> None:
    """Decisions 28-33: an organization access manager and a place administrator (place 1001 of 1001-1002)."""
    roles = c.call("GET", "/roles", expect=200, key=place_key, label="role catalogue")
    if roles:
        by_id = {r["id"]: r for r in roles}
        permission_keys = set(c.spec["paths"]["/roles"]["get"]["responses"]["200"]["content"]["application/json"]
                              ["schema"]["items"]["properties"]["permissions"]["properties"])
        for role in roles:
            if set(role["permissions"]) != permission_keys:
                c.fail(f"GET /roles: role {role['id']} lists {len(role['permissions'])} of the document's "
                       f"{len(permission_keys)} permission keys")
        manager = by_id.get("access_manager", {}).get("permissions", {})
        if not (manager.get("users_write") and manager.get("groups_write") and not manager.get("integrations_write")):
            c.fail(f"GET /roles: access_manager permissions unexpected: {by_id.get('access_manager')}")

    # Organization access manager: users, groups, access rights and events, no integrations.
    user = c.call("POST", "/users", expect=200, key=manager_key, label="access manager",
                  body={"user": {"email": f"by-manager-{tag}@example.com"}})
    group = c.call("POST", "/groups", expect=200, key=manager_key, label="access manager: organization group",
                   body={"group": {"name": f"Manager group {tag}"}})
    if user and group:
        c.call("POST", "/role_assignments", expect=200, key=manager_key, label="access manager",
               body={"role_assignment": {"applies_to_type": "Group", "applies_to_id": group["id"], "assignee_type": "User",
                                         "assignee_id": user["id"], "role_id": "group_basic"}})
    c.call("POST", "/role_assignments", expect=403, key=manager_key, label="access manager: an administrator above it",
           body={"role_assignment": {"applies_to_type": "Organization", "applies_to_id": 1, "assignee_type": "User",
                                     "assignee_id": 3, "role_id": "administrator"}})
    c.call("POST", "/event_sets", expect=200, key=manager_key, label="access manager", body={"event_set": {}})
    c.call("POST", "/integrations", expect=403, key=manager_key, label="access manager",
           body={"integration": {"name": "x", "type": "event_webhook", "url": "http://127.0.0.1:9/x"}})
    c.call("POST", "/locks/{id}/unlock", "/locks/5003/unlock", expect=200, key=manager_key, label="access manager", body={})

    # Place administrator of Main (1001): place groups there, their doors and access rights, its events and doors.
    c.call("GET", "/role_assignments", expect=200, key=place_key, label="place administrator: user_id=me",
           params={"user_id": "me"}, check=lambda p, r: expect(ids_of(p) == [3003], f"saw {ids_of(p)}"))
    place_group = c.call("POST", "/groups", expect=200, key=place_key, label="place administrator: its place",
                         body={"group": {"name": f"Main members {tag}", "place_id": 1001}})
    c.call("POST", "/groups", expect=403, key=place_key, label="place administrator: another place",
           body={"group": {"name": "x", "place_id": 1002}})
    c.call("POST", "/groups", expect=403, key=place_key, label="place administrator: organization group",
           body={"group": {"name": "x"}})
    c.call("GET", "/groups/{id}", "/groups/2001", expect=403, key=place_key, label="place administrator: organization group")
    c.call("GET", "/groups", expect=200, key=place_key, label="place administrator: only its groups",
           check=lambda p, r: expect(ids_of(p) == ([place_group["id"]] if place_group else []), f"saw {ids_of(p)}"))
    if place_group:
        c.call("POST", "/group_locks", expect=200, key=place_key, label="place administrator: its door",
               body={"group_lock": {"group_id": place_group["id"], "lock_id": 5001}})
        c.call("POST", "/group_locks", expect=403, key=place_key, label="place administrator: another place's door",
               body={"group_lock": {"group_id": place_group["id"], "lock_id": 5003}})
        c.call("POST", "/role_assignments", expect=200, key=place_key, label="place administrator: its group",
               body={"role_assignment": {"applies_to_type": "Group", "applies_to_id": place_group["id"],
                                         "assignee_type": "User", "assignee_id": 3, "role_id": "group_basic"}})
    c.call("POST", "/group_locks", expect=403, key=place_key, label="place administrator: organization group",
           body={"group_lock": {"group_id": 2001, "lock_id": 5002}})
    c.call("POST", "/role_assignments", expect=403, key=place_key, label="place administrator: organization group",
           body={"role_assignment": {"applies_to_type": "Group", "applies_to_id": 2001, "assignee_type": "User",
                                     "assignee_id": 3, "role_id": "group_basic"}})
    c.call("POST", "/event_sets", expect=200, key=place_key, label="place administrator: its places' events",
           body={"event_set": {}},
           check=lambda p, r: expect(all(e.get("place_id") == 1001 for e in p["events"]), "events of other places"))
    c.call("POST", "/event_sets", expect=403, key=place_key, label="place administrator: another place's events",
           body={"event_set": {"place_id": 1002}})
    c.call("POST", "/integrations", expect=403, key=place_key, label="place administrator",
           body={"integration": {"name": "x", "type": "event_webhook", "url": "http://127.0.0.1:9/x"}})
    c.call("POST", "/locks/{id}/unlock", "/locks/5002/unlock", expect=200, key=place_key, label="place administrator: its door",
           body={})
    c.call("POST", "/locks/{id}/unlock", "/locks/5003/unlock", expect=403, key=place_key,
           label="place administrator: another place's door", body={},
           check=lambda p, r: expect(p["code"] == "fcd8ef", f"code {p['code']}"))


# ---------------------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:9292")
    parser.add_argument("--api-key", default=DEMO_KEY, help="the demo organization owner's API key")
    parser.add_argument("--admin-key", default="sandbox-admin", help="X-Sandbox-Admin-Key for /_sandbox/ routes")
    parser.add_argument("--spec", default=None, help=f"Kisi's OpenAPI document (default {DEFAULT_SPEC})")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    spec_path = Path(args.spec) if args.spec else DEFAULT_SPEC.resolve()
    if not spec_path.is_file():
        print(f"error: Kisi's OpenAPI document not found at {spec_path} (use --spec)", file=sys.stderr)
        return 2

    started = time.monotonic()
    try:
        spec, workarounds = load_document(spec_path, args.base_url)
        checker = Checker(spec, args.base_url, args.api_key, args.admin_key, args.verbose)
    except Exception as error:
        print(f"error: cannot load {spec_path} with openapi-core: {describe(error)}", file=sys.stderr)
        return 2
    print(f"Kisi's document: {spec_path} ({spec['info'].get('title')} {spec['info'].get('version')}, "
          f"{len(checker.operations)} operations), loaded once by openapi-core in {checker.load_seconds:.1f} s")
    print("openapi-core workarounds (in memory; no in-scope response schema changed):")
    for w in workarounds:
        print(f"  - {w}")

    try:
        run(checker)
    except Failure as error:
        checker.fail(f"aborted: {error}")
    except Exception as error:  # keep the report; a crash is a failure
        traceback.print_exc()
        checker.fail(f"aborted: {type(error).__name__}: {error}")
        try:
            checker.admin("POST", "reset")
        except Exception:
            pass

    print()
    print("Per operation (responses validated against Kisi's document; statuses seen):")
    for op in IN_SCOPE:
        operation_id = checker.operations[op].get("operationId", "")
        seen = ", ".join(f"{s}x{n}" for s, n in sorted(checker.statuses[op].items()))
        extra = f"; undocumented {checker.undocumented_by_op[op]}" if checker.undocumented_by_op[op] else ""
        print(f"  {op[0]:6} {op[1]:26} {operation_id:26} validated {checker.validated[op]:3}  ({seen}){extra}")
        has_success = any(200 <= s < 300 for s in checker.statuses[op])
        if checker.validated[op] == 0 or not has_success:
            checker.fail(f"{op[0]} {op[1]} ({operation_id}) was never exercised successfully and validated")

    print()
    print(f"Undocumented statuses exercised ({len(checker.undocumented)}; bodies checked against components.schemas.Error, "
          "422 against components.schemas.Errors):")
    reasons = collections.defaultdict(list)
    for what, status, reason in checker.undocumented:
        reasons[(status, reason)].append(what)
    for (status, reason), whats in reasons.items():
        print(f"  {status} x{len(whats)}: {reason}")
        for what in whats:
            print(f"      {what}")
    if checker.empty_range:
        print()
        print(f"X-Collection-Range exception ({len(checker.empty_range)} validated responses): an empty page carries "
              "`*/total` (`*/0` for an empty collection, as Kisi's client-js expects), which the document's pattern "
              "^(\\d+)-(\\d+)/(\\d+)$ does not allow; the header was checked against ^\\*/(\\d+)$ and everything else "
              "against the document:")
        for what in checker.empty_range:
            print(f"      {what}")
    if checker.request_mismatches:
        print()
        print(f"Note: {len(checker.request_mismatches)} requests the sandbox accepted do not satisfy the document's "
              "request side (informational, not counted as failures):")
        for m in checker.request_mismatches:
            print(f"      {m}")

    validated = sum(checker.validated.values())
    undocumented = len(checker.undocumented)
    failed = len(checker.failures)
    exercised = sum(1 for op in IN_SCOPE if checker.validated[op])
    print()
    print(f"{checker.requests_validated} successful requests also satisfied the document's request side; "
          f"{checker.behaviour_checks} behaviour checks held; validator self-test rejected {checker.drift_caught} "
          f"altered responses; {time.monotonic() - started:.0f} s")
    print(f"kisi conformance: {validated} responses validated against Kisi's document across {exercised} operations; "
          f"{undocumented} undocumented-status responses checked against the Error schema (422: Errors); {failed} failures")
    print(f"{validated + undocumented} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
