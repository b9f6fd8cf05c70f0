#!/usr/bin/env python3
"""Prove BooGYMan's OpenAPI document true against a running server.

1. Validates the document itself with openapi-spec-validator.
2. Exercises every operation the document lists against the live server at --base-url, using the
   API token from --token: creates clubs, studios, plans, members and subscriptions; reads, lists,
   changes, freezes, unfreezes, cancels and deletes them; asks for door access; reads the Kisi
   audit log as JSON and CSV; reads the Kisi sync's status and asks for a dry-run plan and a brake
   approval (refused with 409 kisi_not_connected: the server under test has no Kisi connection);
   and provokes the documented errors (400, 401, 404, 409, 413, 422).
3. Validates every response (status code, Content-Type, headers, body) against the document with
   openapi-core, and every successful request against the document's request side too.
4. Fails when a response does not validate, when a documented operation was never exercised, or
   when a behaviour the document describes does not hold.

It starts nothing itself and leaves the server's data as it found it (everything it creates carries
a random run tag and is deleted again). Use scripts/run-openapi-check.sh to run it against a fresh
server.

Requires: requests, openapi-core, openapi-spec-validator, pyyaml (scripts/requirements-openapi.txt).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import secrets
import sys
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import requests
import yaml
from requests.structures import CaseInsensitiveDict
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.validation.response import V31ResponseValidator
from openapi_spec_validator import validate as validate_spec

DEFAULT_SPEC = Path(__file__).resolve().parent.parent / "Sources" / "GymWeb" / "Resources" / "openapi.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _plain_text(value: bytes, **parameters: str) -> str:
    return value.decode(parameters.get("charset", "utf-8"))


@dataclass
class FakeResponse:
    """A response built by hand, to prove the validator notices drift."""

    data: bytes
    status_code: int
    content_type: str
    headers: dict

    @classmethod
    def of(cls, response: requests.Response, **changes: Any) -> "FakeResponse":
        fake = cls(response.content, response.status_code, response.headers.get("Content-Type", ""),
                   CaseInsensitiveDict(response.headers))
        for key, value in changes.items():
            setattr(fake, key, value)
        return fake


class Failure(Exception):
    pass


class Checker:
    def __init__(self, spec: dict, spec_text: str, base_url: str, token: str, verbose: bool):
        self.spec = spec
        self.spec_text = spec_text
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.verbose = verbose
        self.session = requests.Session()
        self.openapi = OpenAPI.from_dict(
            spec,
            config=Config(
                response_validator_cls=V31ResponseValidator,
                # Our document is served as YAML; openapi-core only knows JSON, XML, forms and text.
                extra_media_type_deserializers={"application/yaml": _plain_text, "text/csv": _plain_text},
            ),
        )
        self.passed = 0
        self.failed = 0
        self.failures: list[str] = []
        # (METHOD, template) -> set of status codes seen
        self.exercised: dict[tuple[str, str], set[int]] = {}
        self.operations = self._documented_operations()
        self.requests_validated = 0
        self.responses_validated = 0
        self.drift_caught = 0
        self.last_response: Optional[requests.Response] = None

    # ---- the document ---------------------------------------------------------------------------

    def _documented_operations(self) -> dict[tuple[str, str], dict]:
        ops = {}
        for template, item in self.spec["paths"].items():
            for method, operation in item.items():
                if method in HTTP_METHODS:
                    ops[(method.upper(), template)] = operation
        return ops

    def operation_for(self, method: str, path: str) -> tuple[str, str]:
        """The documented (METHOD, template) a concrete request path belongs to; literal paths win."""
        matches = []
        for (op_method, template) in self.operations:
            if op_method != method:
                continue
            pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
            if re.match(pattern, path):
                matches.append((template.count("{"), template))
        if not matches:
            raise Failure(f"{method} {path} matches no documented operation")
        matches.sort()
        return (method, matches[0][1])

    def secured(self, key: tuple[str, str]) -> bool:
        operation = self.operations[key]
        security = operation.get("security", self.spec.get("security", []))
        return bool(security)

    # ---- bookkeeping ----------------------------------------------------------------------------

    def ok(self) -> None:
        self.passed += 1

    def fail(self, message: str) -> None:
        self.failed += 1
        self.failures.append(message)
        print(f"FAIL {message}", file=sys.stderr)

    # ---- one request ----------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        expect: int,
        *,
        body: Any = None,
        raw: Optional[bytes] = None,
        params: Optional[dict] = None,
        auth: Any = True,
        check: Optional[Callable[[Any], None]] = None,
        label: str = "",
    ) -> Any:
        """Sends one request, validates the response against the document and returns its JSON."""
        headers = {"Accept": "application/json"}
        if auth is True:
            headers["Authorization"] = f"Bearer {self.token}"
        elif isinstance(auth, str):
            headers["Authorization"] = auth
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif raw is not None:
            data = raw
            headers["Content-Type"] = "application/json"
        request = requests.Request(method, self.base_url + path, headers=headers, params=params, data=data)
        prepared = self.session.prepare_request(request)
        what = f"{method} {prepared.path_url}" + (f" [{label}]" if label else "")
        try:
            key = self.operation_for(method, path)
            response = self.session.send(prepared, timeout=30)
        except (Failure, requests.RequestException) as error:
            self.fail(f"{what}: {error}")
            return None
        self.exercised.setdefault(key, set()).add(response.status_code)
        self.responses_validated += 1
        self.last_response = response
        problems = []
        if response.status_code != expect:
            problems.append(f"expected status {expect}, got {response.status_code}: {response.text[:300]}")
        openapi_request = RequestsOpenAPIRequest(prepared)
        try:
            self.openapi.validate_response(openapi_request, RequestsOpenAPIResponse(response))
        except Exception as error:  # openapi-core raises a family of validation errors
            problems.append(f"response does not match the document: {describe(error)}")
        if response.status_code == 204 and response.content:
            problems.append(f"204 must have no body, got {response.content[:100]!r}")
        if 200 <= expect < 300 and 200 <= response.status_code < 300:
            # What the server accepted, the document must accept too.
            try:
                self.openapi.validate_request(openapi_request)
                self.requests_validated += 1
            except Exception as error:
                problems.append(f"the request the server accepted does not match the document: {describe(error)}")
        payload = None
        if response.content and "json" in response.headers.get("Content-Type", ""):
            try:
                payload = response.json()
            except ValueError as error:
                problems.append(f"body is not JSON: {error}")
        if not problems and check is not None:
            try:
                check(payload)
            except AssertionError as error:
                problems.append(f"documented behaviour does not hold: {error}")
        if problems:
            self.fail(f"{what}: " + "; ".join(problems))
        else:
            self.ok()
            if self.verbose:
                print(f"ok   {response.status_code} {what}")
        return payload

    # ---- proof that validation bites ------------------------------------------------------------

    def expect_drift_caught(self, label: str, method: str, path: str, fake: FakeResponse) -> None:
        request = requests.Request(method, self.base_url + path,
                                   headers={"Authorization": f"Bearer {self.token}"}).prepare()
        try:
            self.openapi.validate_response(RequestsOpenAPIRequest(request), fake)
        except Exception:
            self.drift_caught += 1
            return
        self.fail(f"validator self-test: {label} was not caught; the check would miss such drift")

    # ---- coverage -------------------------------------------------------------------------------

    def report_coverage(self) -> None:
        missing = [key for key in self.operations if key not in self.exercised]
        for method, template in missing:
            self.fail(f"{method} {template} ({self.operations[(method, template)].get('operationId')}) "
                      "is documented but was never exercised")
        if self.verbose:
            for key in sorted(self.operations):
                documented = sorted(int(s) for s in self.operations[key]["responses"] if s.isdigit())
                seen = sorted(self.exercised.get(key, ()))
                unseen = [s for s in documented if s not in seen]
                print(f"     {key[0]:6} {key[1]:40} seen {seen}" + (f", not provoked {unseen}" if unseen else ""))


def describe(error: Exception) -> str:
    text = _describe(error)
    return text if len(text) <= 2000 else text[:2000] + " …"


def _describe(error: Exception) -> str:
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
                        path = "/".join(str(p) for p in getattr(item, "absolute_path", []) or [])
                        parts.append(f"{path + ': ' if path else ''}{message}")
                        if isinstance(item, Exception):
                            stack.append(item)
                except TypeError:
                    pass
        if current.__cause__ is not None:
            stack.append(current.__cause__)
    return " | ".join(dict.fromkeys(parts))


# ---- the scenario -------------------------------------------------------------------------------

def run_scenario(c: Checker) -> None:
    tag = secrets.token_hex(3)
    lock = 700_000_000 + secrets.randbelow(99_000_000)  # lock IDs are gym-wide unique: pick fresh ones
    L1, L2, L3, L4 = lock, lock + 1, lock + 2, lock + 3
    nobody = str(uuid.uuid4()).upper()

    def eq(actual: Any, wanted: Any, what: str) -> None:
        assert actual == wanted, f"{what}: expected {wanted!r}, got {actual!r}"

    def error_code(code: str, field: Optional[str] = None) -> Callable[[Any], None]:
        def check(body: Any) -> None:
            eq(body["error"]["code"], code, "error code")
            if field is not None:
                assert field in body["error"].get("fields", {}), f"fields should name {field!r}: {body['error']}"
        return check

    # -- health, meta, auth -----------------------------------------------------------------------
    c.call("GET", "/healthz", 200, auth=False, check=lambda b: eq(b, {"status": "ok"}, "healthz"))
    c.call("GET", "/readyz", 200, auth=False, check=lambda b: eq(b, {"status": "ok"}, "readyz"))

    def served_document_is_this_one(_: Any) -> None:
        served = c.last_response.text
        assert served == c.spec_text, "the served /api/v1/openapi.yaml differs from the checked document (rebuild the server?)"
    c.call("GET", "/api/v1/openapi.yaml", 200, auth=False, check=served_document_is_this_one)

    # Every secured operation refuses a request without a token, or with a wrong one.
    for (method, template) in sorted(c.operations):
        if not c.secured((method, template)):
            continue
        path = re.sub(r"\{[^/]+\}", nobody, template)
        body = {} if method in ("POST", "PATCH") else None
        c.call(method, path, 401, body=body, auth=False, label="no token",
               check=error_code("unauthorized"))
    c.call("GET", "/api/v1/members", 401, auth="Bearer bgm_not-a-real-token", label="unknown token",
           check=error_code("unauthorized"))
    c.call("GET", "/api/v1/members", 401, auth=f"Basic {c.token}", label="wrong scheme",
           check=error_code("unauthorized"))

    # The sync's queue before this run changes anything (the server has no Kisi connection, so every
    # change stays queued).
    before = c.call("GET", "/api/v1/sync/status", 200, label="before any change")
    depth_before = before["queue_depth"] if before else 0

    # -- clubs ------------------------------------------------------------------------------------
    club = c.call("POST", "/api/v1/clubs", 201,
                  body={"name": f"Downtown {tag}", "time_zone": "Europe/Bucharest", "kisi_place_id": 42,
                        "kisi_lock_ids": [L1, L2]},
                  check=lambda b: (eq(b["kisi_lock_ids"], [L1, L2], "locks"), eq(b["kisi_place_id"], 42, "place")))
    other = c.call("POST", "/api/v1/clubs", 201, body={"name": f"Uptown {tag}", "time_zone": "America/New_York"},
                   check=lambda b: (eq(b["kisi_lock_ids"], [], "default locks"),
                                    eq("kisi_place_id" in b, False, "absent optional key")))
    if not club or not other:
        raise Failure("cannot go on without clubs")
    A, B = club["id"], other["id"]
    c.call("POST", "/api/v1/clubs", 400, raw=b'{"name": ', label="truncated JSON", check=error_code("malformed_json"))
    c.call("POST", "/api/v1/clubs", 400, raw=b"[]", label="array body", check=error_code("malformed_json"))
    c.call("POST", "/api/v1/clubs", 400, raw=b"null", label="null body", check=error_code("malformed_json"))
    c.call("POST", "/api/v1/clubs", 400, raw=b"", label="empty body", check=error_code("malformed_json"))
    c.call("POST", "/api/v1/clubs", 422, body={"name": " ", "time_zone": "Mars/Olympus", "kisi_lock_ids": [0, 5, 5]},
           check=lambda b: eq(sorted(b["error"]["fields"]), ["kisi_lock_ids", "name", "time_zone"], "fields"))
    c.call("POST", "/api/v1/clubs", 422, body={"name": "No zone"}, label="missing field",
           check=error_code("validation_failed", "time_zone"))
    c.call("POST", "/api/v1/clubs", 422, body={"name": "Wrong type", "time_zone": "UTC", "kisi_lock_ids": [1, "x"]},
           label="mistyped item", check=error_code("validation_failed", "kisi_lock_ids[1]"))
    c.call("POST", "/api/v1/clubs", 422, body={"name": "Lock thief", "time_zone": "UTC", "kisi_lock_ids": [L1]},
           label="lock in use", check=error_code("validation_failed", "kisi_lock_ids"))
    c.call("GET", "/api/v1/clubs", 200, check=lambda b: eq(b["limit"], 50, "default limit"))
    c.call("GET", "/api/v1/clubs", 200, params={"limit": 1, "offset": 1},
           check=lambda b: (eq(len(b["items"]) <= 1, True, "page size"), eq(b["offset"], 1, "offset")))
    c.call("GET", "/api/v1/clubs", 400, params={"limit": 0}, check=error_code("bad_parameter"))
    c.call("GET", "/api/v1/clubs", 400, params={"limit": 501}, check=error_code("bad_parameter"))
    c.call("GET", "/api/v1/clubs", 400, params={"offset": -1}, check=error_code("bad_parameter"))
    c.call("GET", "/api/v1/clubs", 400, params={"limit": "ten"}, check=error_code("bad_parameter"))
    c.call("GET", f"/api/v1/clubs/{A}", 200, check=lambda b: eq(b["id"], A, "id"))
    c.call("GET", f"/api/v1/clubs/{A.lower()}", 200, label="lower-case ID", check=lambda b: eq(b["id"], A, "id"))
    c.call("GET", f"/api/v1/clubs/{nobody}", 404, check=error_code("not_found"))
    c.call("GET", "/api/v1/clubs/not-a-uuid", 404, check=error_code("not_found"))
    c.call("PATCH", f"/api/v1/clubs/{A}", 200, body={"kisi_place_id": None, "name": f"Downtown  {tag} "},
           check=lambda b: (eq("kisi_place_id" in b, False, "null clears kisi_place_id"),
                            eq(b["name"], f"Downtown  {tag}", "trimmed name"),
                            eq(b["time_zone"], "Europe/Bucharest", "untouched zone")))
    c.call("PATCH", f"/api/v1/clubs/{A}", 400, raw=b"{", check=error_code("malformed_json"))
    c.call("PATCH", f"/api/v1/clubs/{A}", 422, body={"time_zone": "Nowhere/Land"}, check=error_code("validation_failed", "time_zone"))
    c.call("PATCH", f"/api/v1/clubs/{nobody}", 404, body={"name": "x"}, check=error_code("not_found"))

    # -- studios ----------------------------------------------------------------------------------
    studio = c.call("POST", "/api/v1/studios", 201, body={"club_id": A.lower(), "name": f"Yoga {tag}", "kisi_lock_ids": [L3]},
                    check=lambda b: eq(b["club_id"], A, "club_id printed upper-case"))
    spare = c.call("POST", "/api/v1/studios", 201, body={"club_id": B, "name": f"Sauna {tag}"})
    if not studio or not spare:
        raise Failure("cannot go on without studios")
    S, S2 = studio["id"], spare["id"]
    c.call("POST", "/api/v1/studios", 400, raw=b"{]", check=error_code("malformed_json"))
    c.call("POST", "/api/v1/studios", 422, body={"club_id": nobody, "name": "Ghost"}, check=error_code("validation_failed", "club_id"))
    c.call("POST", "/api/v1/studios", 422, body={"club_id": "not-a-uuid", "name": "Ghost"}, label="bad UUID",
           check=error_code("validation_failed", "club_id"))
    c.call("GET", "/api/v1/studios", 200, params={"club_id": A},
           check=lambda b: (eq([s["id"] for s in b["items"]], [S], "studios of club"), eq(b["total"], 1, "total")))
    c.call("GET", "/api/v1/studios", 200, params={"club_id": nobody}, check=lambda b: eq(b["total"], 0, "unknown club"))
    c.call("GET", "/api/v1/studios", 400, params={"club_id": "downtown"}, check=error_code("bad_parameter"))
    c.call("GET", f"/api/v1/studios/{S}", 200)
    c.call("GET", f"/api/v1/studios/{nobody}", 404, check=error_code("not_found"))
    c.call("PATCH", f"/api/v1/studios/{S2}", 200, body={"club_id": A, "kisi_lock_ids": [L4]},
           check=lambda b: (eq(b["club_id"], A, "moved"), eq(b["kisi_lock_ids"], [L4], "locks")))
    c.call("PATCH", f"/api/v1/studios/{S2}", 200, body={"club_id": B, "name": f"Sauna 2 {tag}"},
           check=lambda b: eq(b["kisi_lock_ids"], [L4], "locks untouched"))
    c.call("PATCH", f"/api/v1/studios/{S}", 422, body={"kisi_lock_ids": [L1]}, check=error_code("validation_failed", "kisi_lock_ids"))
    c.call("PATCH", f"/api/v1/studios/{S}", 400, raw=b"nope", check=error_code("malformed_json"))
    c.call("PATCH", f"/api/v1/studios/{nobody}", 404, body={"name": "x"}, check=error_code("not_found"))

    # -- plans ------------------------------------------------------------------------------------
    plan = c.call("POST", "/api/v1/plans", 201,
                  body={"name": f"Yoga plus {tag}", "studio_ids": [S], "past_due_grace_days": 3},
                  check=lambda b: (eq(b["kisi_lock_ids"], [L1, L2, L3], "a studio implies its club's entrance"),
                                   eq(b["club_ids"], [], "club_ids"), eq(b["archived"], False, "archived default")))
    spare_plan = c.call("POST", "/api/v1/plans", 201, body={"name": f"Uptown only {tag}", "club_ids": [B]},
                        check=lambda b: (eq(b["past_due_grace_days"], 0, "grace default"), eq(b["kisi_lock_ids"], [], "locks")))
    if not plan or not spare_plan:
        raise Failure("cannot go on without plans")
    P, P2 = plan["id"], spare_plan["id"]
    c.call("POST", "/api/v1/plans", 400, raw=b"42", check=error_code("malformed_json"))
    c.call("POST", "/api/v1/plans", 422, body={"name": "Bad", "club_ids": [A, A], "studio_ids": [S, S], "past_due_grace_days": -1},
           check=lambda b: eq(sorted(b["error"]["fields"]), ["club_ids", "past_due_grace_days", "studio_ids"], "fields"))
    c.call("POST", "/api/v1/plans", 422, body={"name": "Ghost", "club_ids": [nobody], "studio_ids": [nobody]}, label="unknown IDs",
           check=lambda b: eq(sorted(b["error"]["fields"]), ["club_ids", "studio_ids"], "fields"))
    c.call("POST", "/api/v1/plans", 422, body={"name": "Bad", "past_due_grace_days": "three"}, label="mistyped",
           check=error_code("validation_failed", "past_due_grace_days"))
    c.call("GET", "/api/v1/plans", 200, params={"limit": 500})
    c.call("PATCH", f"/api/v1/plans/{P2}", 200, body={"archived": True, "past_due_grace_days": 7},
           check=lambda b: (eq(b["archived"], True, "archived"), eq(b["past_due_grace_days"], 7, "grace")))
    c.call("GET", "/api/v1/plans", 200, params={"include_archived": "false", "limit": 500},
           check=lambda b: eq(P2 in [p["id"] for p in b["items"]], False, "archived plan hidden"))
    c.call("GET", "/api/v1/plans", 200, params={"include_archived": "1", "limit": 500},
           check=lambda b: eq(P2 in [p["id"] for p in b["items"]], True, "archived plan listed"))
    c.call("GET", "/api/v1/plans", 400, params={"include_archived": "maybe"}, check=error_code("bad_parameter"))
    c.call("GET", f"/api/v1/plans/{P}", 200, check=lambda b: eq(b["studio_ids"], [S], "studio_ids"))
    c.call("GET", f"/api/v1/plans/{nobody}", 404, check=error_code("not_found"))
    c.call("PATCH", f"/api/v1/plans/{P}", 200, body={"club_ids": [A], "name": f"Downtown yoga {tag}"},
           check=lambda b: (eq(b["club_ids"], [A], "club_ids"), eq(b["studio_ids"], [S], "studio_ids kept")))
    c.call("PATCH", f"/api/v1/plans/{P}", 422, body={"past_due_grace_days": 400}, check=error_code("validation_failed", "past_due_grace_days"))
    c.call("PATCH", f"/api/v1/plans/{P}", 400, raw=b"[1]", check=error_code("malformed_json"))
    c.call("PATCH", f"/api/v1/plans/{nobody}", 404, body={"name": "x"}, check=error_code("not_found"))

    # -- members ----------------------------------------------------------------------------------
    email = f"ana.{tag}@example.com"
    member = c.call("POST", "/api/v1/members", 201,
                    body={"first_name": " Ana ", "last_name": f"Popescu{tag}", "email": email,
                          "phone": "+40 721 000 000", "notes": "Prefers mornings"},
                    check=lambda b: (eq(b["first_name"], "Ana", "trimmed"), eq(b["phone"], "+40 721 000 000", "phone")))
    second = c.call("POST", "/api/v1/members", 201,
                    body={"first_name": "Bo", "last_name": f"Ionescu{tag}", "email": f"bo.{tag}@example.com", "phone": "  "},
                    check=lambda b: eq(sorted(b), ["email", "first_name", "id", "last_name"], "absent optional keys"))
    if not member or not second:
        raise Failure("cannot go on without members")
    M, M2 = member["id"], second["id"]
    c.call("POST", "/api/v1/members", 422, body={"first_name": "Ana", "last_name": "Again", "email": email.upper()},
           label="e-mail taken", check=error_code("validation_failed", "email"))
    c.call("POST", "/api/v1/members", 422, body={"first_name": "", "last_name": "X", "email": "ana@", "phone": "12"},
           check=lambda b: eq(sorted(b["error"]["fields"]), ["email", "first_name", "phone"], "fields"))
    c.call("POST", "/api/v1/members", 422, body={"first_name": "No", "last_name": "Mail"}, label="missing field",
           check=error_code("validation_failed", "email"))
    c.call("POST", "/api/v1/members", 400, raw=b'{"first_name": "A"', check=error_code("malformed_json"))
    big = json.dumps({"first_name": "Big", "last_name": "Body", "email": f"big.{tag}@example.com",
                      "notes": "x" * (3 * 1024 * 1024)}).encode()
    c.call("POST", "/api/v1/members", 413, raw=big, label="3 MiB body", check=error_code("http_413"))
    c.call("GET", "/api/v1/members", 200, params={"q": f"ana popescu{tag}"},
           check=lambda b: eq([m["id"] for m in b["items"]], [M], "search by words"))
    c.call("GET", "/api/v1/members", 200, params={"q": f"{tag}@EXAMPLE"},
           check=lambda b: eq(b["total"], 2, "case-insensitive search"))
    c.call("GET", "/api/v1/members", 400, params={"offset": "x"}, check=error_code("bad_parameter"))
    c.call("GET", f"/api/v1/members/{M}", 200, check=lambda b: eq(b["email"], email, "email"))
    c.call("GET", f"/api/v1/members/{nobody}", 404, check=error_code("not_found"))
    c.call("PATCH", f"/api/v1/members/{M2}", 200, body={"phone": "0721 111 222", "notes": "VIP"},
           check=lambda b: eq(b["notes"], "VIP", "notes"))
    c.call("PATCH", f"/api/v1/members/{M2}", 200, body={"phone": None, "notes": None},
           check=lambda b: (eq("phone" in b, False, "null clears phone"), eq("notes" in b, False, "null clears notes")))
    c.call("PATCH", f"/api/v1/members/{M2}", 422, body={"email": email}, label="e-mail taken", check=error_code("validation_failed", "email"))
    c.call("PATCH", f"/api/v1/members/{M2}", 422, body={"phone": "call me"}, check=error_code("validation_failed", "phone"))
    c.call("PATCH", f"/api/v1/members/{M2}", 400, raw=b"", check=error_code("malformed_json"))
    c.call("PATCH", f"/api/v1/members/{nobody}", 404, body={"notes": "x"}, check=error_code("not_found"))

    # -- subscriptions ----------------------------------------------------------------------------
    sub = c.call("POST", "/api/v1/subscriptions", 201,
                 body={"member_id": M, "plan_id": P, "start_date": "2026-01-01", "end_date": "2026-12-31",
                       "paid_through": "2026-06-30"},
                 check=lambda b: (eq(b["freezes"], [], "no freezes"), eq("cancellation" in b, False, "not cancelled")))
    open_ended = c.call("POST", "/api/v1/subscriptions", 201,
                        body={"member_id": M2, "plan_id": P, "start_date": "2026-01-01", "end_date": None,
                              "paid_through": "2025-12-31"},
                        check=lambda b: eq("end_date" in b, False, "renews until cancelled"))
    if not sub or not open_ended:
        raise Failure("cannot go on without subscriptions")
    SUB, SUB2 = sub["id"], open_ended["id"]
    c.call("POST", "/api/v1/subscriptions", 422,
           body={"member_id": nobody, "plan_id": P2, "start_date": "2026-05-01", "end_date": "2026-04-30", "paid_through": "2026-01-01"},
           check=lambda b: eq(sorted(b["error"]["fields"]), ["end_date", "member_id", "paid_through", "plan_id"], "fields"))
    c.call("POST", "/api/v1/subscriptions", 422,
           body={"member_id": M, "plan_id": P, "start_date": "2026-02-30", "paid_through": "2026-03-01"},
           label="impossible date", check=error_code("validation_failed", "start_date"))
    c.call("POST", "/api/v1/subscriptions", 422, body={"member_id": M, "plan_id": P, "start_date": "2026-01-01"},
           label="missing field", check=error_code("validation_failed", "paid_through"))
    c.call("POST", "/api/v1/subscriptions", 400, raw=b"{'single': 'quotes'}", check=error_code("malformed_json"))
    c.call("GET", "/api/v1/subscriptions", 200, params={"member_id": M},
           check=lambda b: eq([s["id"] for s in b["items"]], [SUB], "by member"))
    c.call("GET", "/api/v1/subscriptions", 200, params={"plan_id": P, "limit": 1},
           check=lambda b: (eq(b["total"], 2, "total ignores paging"), eq(len(b["items"]), 1, "page")))
    c.call("GET", "/api/v1/subscriptions", 400, params={"plan_id": "yoga"}, check=error_code("bad_parameter"))
    c.call("GET", f"/api/v1/members/{M}/subscriptions", 200, check=lambda b: eq(b["total"], 1, "total"))
    c.call("GET", f"/api/v1/members/{M}/subscriptions", 400, params={"limit": "-"}, check=error_code("bad_parameter"))
    c.call("GET", f"/api/v1/members/{nobody}/subscriptions", 404, check=error_code("not_found"))
    c.call("GET", f"/api/v1/subscriptions/{SUB}", 200, check=lambda b: eq(b["paid_through"], "2026-06-30", "paid_through"))
    c.call("GET", f"/api/v1/subscriptions/{nobody}", 404, check=error_code("not_found"))
    c.call("PATCH", f"/api/v1/subscriptions/{SUB}", 200, body={"paid_through": "2026-09-30", "end_date": None},
           check=lambda b: (eq(b["paid_through"], "2026-09-30", "paid"), eq("end_date" in b, False, "null clears end_date")))
    c.call("PATCH", f"/api/v1/subscriptions/{SUB}", 200, body={"member_id": M, "plan_id": P}, label="same member and plan")
    c.call("PATCH", f"/api/v1/subscriptions/{SUB}", 422, body={"plan_id": P2}, check=error_code("validation_failed", "plan_id"))
    c.call("PATCH", f"/api/v1/subscriptions/{SUB}", 422, body={"paid_through": "31.12.2026"}, check=error_code("validation_failed", "paid_through"))
    c.call("PATCH", f"/api/v1/subscriptions/{SUB}", 400, raw=b"{,}", check=error_code("malformed_json"))
    c.call("PATCH", f"/api/v1/subscriptions/{nobody}", 404, body={"paid_through": "2026-09-30"}, check=error_code("not_found"))
    c.call("POST", "/api/v1/subscriptions", 422,
           body={"member_id": M, "plan_id": P2, "start_date": "2026-01-01", "paid_through": "2026-01-31"},
           label="archived plan", check=error_code("validation_failed", "plan_id"))

    # Freezes: inclusive club-local days.
    frozen = c.call("POST", f"/api/v1/subscriptions/{SUB}/freeze", 200,
                    body={"start_date": "2026-03-01", "end_date": "2026-03-14", "reason": "Holiday"},
                    check=lambda b: eq([(f["start_date"], f["end_date"], f.get("reason")) for f in b["freezes"]],
                                       [("2026-03-01", "2026-03-14", "Holiday")], "freezes"))
    FREEZE = frozen["freezes"][0]["id"] if frozen else nobody
    c.call("POST", f"/api/v1/subscriptions/{SUB}/freeze", 422, body={"start_date": "2026-03-10", "end_date": "2026-03-20"},
           label="overlap", check=error_code("validation_failed", "start_date"))
    c.call("POST", f"/api/v1/subscriptions/{SUB}/freeze", 422, body={"start_date": "2026-04-10", "end_date": "2026-04-01"},
           label="reversed", check=error_code("validation_failed", "end_date"))
    c.call("POST", f"/api/v1/subscriptions/{SUB}/freeze", 422, body={"start_date": "2025-12-20", "end_date": "2026-01-05"},
           label="before start", check=error_code("validation_failed", "start_date"))
    c.call("POST", f"/api/v1/subscriptions/{SUB}/freeze", 422, body={"start_date": "2026-05-01"},
           label="missing field", check=error_code("validation_failed", "end_date"))
    c.call("POST", f"/api/v1/subscriptions/{SUB}/freeze", 400, raw=b"", check=error_code("malformed_json"))
    c.call("POST", f"/api/v1/subscriptions/{nobody}/freeze", 404, body={"start_date": "2026-05-01", "end_date": "2026-05-02"},
           check=error_code("not_found"))

    # Door access, decided at fixed instants. Bucharest is UTC+2 in winter, UTC+3 in summer.
    access = f"/api/v1/members/{M}/access"
    c.call("GET", access, 200, params={"at": "2026-02-10T12:00:00Z"}, label="active",
           check=lambda b: (eq(b["reason"], "active", "reason"), eq(b["may_enter"], True, "may_enter"),
                            eq(b["valid_from"], "2025-12-31T22:00:00Z", "starts at local midnight of start_date"),
                            eq(b["valid_until"], "2026-02-28T22:00:00Z", "ends where the freeze begins"),
                            eq(b["plans"][0]["upcoming_from"], "2026-03-14T22:00:00Z", "back after the last frozen day"),
                            eq(b["evaluated_at"], "2026-02-10T12:00:00Z", "evaluated_at"),
                            eq({d["lock_id"]: d["allowed"] for d in b["doors"] if d["lock_id"] in (L1, L2, L3, L4)},
                               {L1: True, L2: True, L3: True, L4: False}, "doors")))
    c.call("GET", access, 200, params={"at": "2026-03-14T21:59:59Z"}, label="last frozen day",
           check=lambda b: (eq(b["reason"], "frozen", "reason"), eq(b["explanation"], "Subscription is frozen.", "explanation"),
                            eq("valid_from" in b, False, "no window while denied")))
    c.call("GET", access, 200, params={"at": "2026-10-03T20:59:59+00:00"}, label="grace day 3",
           check=lambda b: (eq(b["reason"], "active", "reason"), eq(b["plans"][0]["in_grace_period"], True, "in grace"),
                            eq(b["valid_until"], "2026-10-03T21:00:00Z", "paid_through plus grace days, exclusive end")))
    c.call("GET", access, 200, params={"at": "2026-10-04T00:00:00+03:00"}, label="past due",
           check=lambda b: eq(b["reason"], "past_due", "reason"))
    c.call("GET", access, 200, label="now")
    c.call("GET", access, 400, params={"at": "yesterday"}, check=error_code("bad_parameter"))
    c.call("GET", f"/api/v1/members/{nobody}/access", 404, check=error_code("not_found"))
    c.call("GET", f"/api/v1/members/{M2}/access", 200, params={"at": "2026-01-01T12:00:00Z"}, label="unpaid",
           check=lambda b: (eq(b["reason"], "active", "reason"), eq(b["plans"][0]["in_grace_period"], True, "grace")))

    # Block: every door closes whatever the subscriptions say; unblocking restores them.
    blocked = c.call("POST", f"/api/v1/members/{M}/block", 200, body={"reason": "  Damaged the sauna door "},
                     check=lambda b: (eq(b["blocked"]["reason"], "Damaged the sauna door", "trimmed reason"),
                                      eq(b["blocked"]["blocked_by"].startswith("api:"), True, "blocked by the API token")))
    c.call("GET", access, 200, params={"at": "2026-02-10T12:00:00Z"}, label="blocked",
           check=lambda b: (eq(b["reason"], "blocked", "reason"), eq(b["may_enter"], False, "may_enter"),
                            eq(b["explanation"], "Blocked by staff: Damaged the sauna door.", "explanation"),
                            eq({d["reason"] for d in b["doors"]}, {"blocked"}, "every door"),
                            eq([p["reason"] for p in b["plans"]], ["blocked"], "every plan")))
    c.call("POST", f"/api/v1/members/{M}/block", 200, body={"reason": "Card reported stolen"}, label="again: new reason",
           check=lambda b: (eq(b["blocked"]["reason"], "Card reported stolen", "reason"),
                            eq(b["blocked"]["blocked_at"], blocked["blocked"]["blocked_at"] if blocked else None, "blocked_at kept")))
    c.call("POST", f"/api/v1/members/{M2}/block", 422, body={"reason": "   "}, label="blank reason",
           check=error_code("validation_failed", "reason"))
    c.call("POST", f"/api/v1/members/{M2}/block", 422, body={}, label="no reason", check=error_code("validation_failed", "reason"))
    c.call("POST", f"/api/v1/members/{M2}/block", 422, body={"reason": "x" * 501}, label="too long",
           check=error_code("validation_failed", "reason"))
    c.call("POST", f"/api/v1/members/{M2}/block", 400, raw=b'{"reason": ', check=error_code("malformed_json"))
    c.call("POST", f"/api/v1/members/{nobody}/block", 404, body={"reason": "x"}, check=error_code("not_found"))
    c.call("GET", f"/api/v1/members/{M2}", 200, label="refused blocks changed nothing",
           check=lambda b: eq("blocked" in b, False, "not blocked"))
    c.call("POST", f"/api/v1/members/{M}/unblock", 200, check=lambda b: eq("blocked" in b, False, "block lifted"))
    c.call("POST", f"/api/v1/members/{M}/unblock", 200, label="not blocked: nothing to do",
           check=lambda b: eq("blocked" in b, False, "still unblocked"))
    c.call("POST", f"/api/v1/members/{nobody}/unblock", 404, check=error_code("not_found"))
    c.call("GET", access, 200, params={"at": "2026-02-10T12:00:00Z"}, label="unblocked",
           check=lambda b: eq(b["reason"], "active", "the subscriptions decide again"))

    # Unfreeze: shorten the freeze so access resumes on resume_on.
    c.call("POST", f"/api/v1/subscriptions/{SUB}/unfreeze", 200, body={"freeze_id": FREEZE, "resume_on": "2026-03-08"},
           check=lambda b: eq(b["freezes"][0]["end_date"], "2026-03-07", "ends the day before resume_on"))
    c.call("POST", f"/api/v1/subscriptions/{SUB}/unfreeze", 422, body={"resume_on": "2026-03-20"}, label="nothing to end",
           check=error_code("validation_failed", "freeze_id"))
    c.call("POST", f"/api/v1/subscriptions/{SUB}/unfreeze", 422, body={"freeze_id": FREEZE, "resume_on": "2026-03-20"},
           label="already over", check=error_code("validation_failed", "resume_on"))
    c.call("POST", f"/api/v1/subscriptions/{SUB}/unfreeze", 422, body={"freeze_id": nobody}, label="unknown freeze",
           check=error_code("validation_failed", "freeze_id"))
    c.call("POST", f"/api/v1/subscriptions/{SUB}/unfreeze", 422, raw=b"", label="no body: defaults, nothing to end",
           check=error_code("validation_failed", "freeze_id"))
    c.call("POST", f"/api/v1/subscriptions/{SUB}/unfreeze", 400, raw=b"{", check=error_code("malformed_json"))
    c.call("POST", f"/api/v1/subscriptions/{nobody}/unfreeze", 404, body={}, check=error_code("not_found"))
    c.call("POST", f"/api/v1/subscriptions/{SUB2}/freeze", 200, body={"start_date": "2099-01-01", "end_date": "2099-01-31"})
    c.call("POST", f"/api/v1/subscriptions/{SUB2}/unfreeze", 200, body={}, label="defaults: next freeze removed whole",
           check=lambda b: eq(b["freezes"], [], "freezes"))

    # Cancel: effective_date is the first day without access.
    c.call("POST", f"/api/v1/subscriptions/{SUB}/cancel", 200, body={},
           label="default: today", check=lambda b: eq("reason" in b["cancellation"], False, "no reason"))
    c.call("POST", f"/api/v1/subscriptions/{SUB}/cancel", 200, body={"effective_date": "2026-08-01", "reason": "Moved away"},
           label="replaces", check=lambda b: eq(b["cancellation"], {"effective_date": "2026-08-01", "reason": "Moved away"}, "cancellation"))
    c.call("GET", access, 200, params={"at": "2026-07-31T20:59:59Z"}, label="last day before cancellation",
           check=lambda b: (eq(b["reason"], "active", "reason"), eq(b["valid_until"], "2026-07-31T21:00:00Z", "until")))
    c.call("GET", access, 200, params={"at": "2026-07-31T21:00:00Z"}, label="cancellation effective",
           check=lambda b: (eq(b["reason"], "cancelled", "reason"), eq(b["may_enter"], False, "may_enter")))
    c.call("POST", f"/api/v1/subscriptions/{SUB}/cancel", 422, body={"effective_date": "soon"}, check=error_code("validation_failed", "effective_date"))
    c.call("POST", f"/api/v1/subscriptions/{SUB}/cancel", 400, raw=b"{\"reason\":", label="truncated body", check=error_code("malformed_json"))
    c.call("POST", f"/api/v1/subscriptions/{nobody}/cancel", 404, body={"reason": "x"}, check=error_code("not_found"))

    # -- the Kisi audit log (read-only; without Kisi it holds only the blocks above) --------------
    audit_columns = ("id,created_at,finished_at,action,kisi_object_type,kisi_object_id,member_id,plan_id,"
                     "trigger,actor,reason,request_json,status,kisi_status,kisi_code,error")

    def newest_first(b: Any) -> None:
        ids = [entry["id"] for entry in b["items"]]
        eq(ids, sorted(ids, reverse=True), "newest first")
        eq((b["limit"], b["offset"]), (50, 0), "default paging")
        assert b["total"] >= len(b["items"]), f"total {b['total']} counts fewer than the page"
    c.call("GET", "/api/v1/audit", 200, check=newest_first)
    everything = {"member_id": nobody, "plan_id": nobody.lower(), "action": "createGrant", "status": "failed",
                  "from": "2026-01-01T00:00:00Z", "until": "2026-01-02T00:00:00+02:00", "limit": 10, "offset": 5}
    c.call("GET", "/api/v1/audit", 200, params=everything, label="every filter",
           check=lambda b: eq((b["items"], b["total"], b["limit"], b["offset"]), ([], 0, 10, 5), "unknown member's entries"))
    for status in ("pending", "succeeded", "failed", "unknown", "skipped"):
        c.call("GET", "/api/v1/audit", 200, params={"status": status, "limit": 1}, label=f"status {status}",
               check=lambda b, status=status: eq({e["status"] for e in b["items"]} <= {status}, True, "status filter"))
    c.call("GET", "/api/v1/audit", 400, params={"from": "yesterday"}, check=error_code("bad_parameter"))
    c.call("GET", "/api/v1/audit", 400, params={"until": "2026-13-01T00:00:00Z"}, check=error_code("bad_parameter"))
    c.call("GET", "/api/v1/audit", 400, params={"from": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
           label="until before from", check=error_code("bad_parameter"))
    c.call("GET", "/api/v1/audit", 400, params={"status": "done"}, check=error_code("bad_parameter"))
    c.call("GET", "/api/v1/audit", 400, params={"member_id": "ana"}, check=error_code("bad_parameter"))
    c.call("GET", "/api/v1/audit", 400, params={"limit": 501}, check=error_code("bad_parameter"))

    def csv_export(expected_rows: Optional[int]) -> Callable[[Any], None]:
        def check(_: Any) -> None:
            response = c.last_response
            text = response.content.decode("utf-8")
            eq(text.split("\r\n")[0], audit_columns, "header row")
            assert text.endswith("\r\n"), "every line ends in CRLF"
            total = int(response.headers["X-Total-Count"])
            if expected_rows is not None:
                eq((text, total), (audit_columns + "\r\n", expected_rows), "an empty export is the header row alone")
            else:
                rows = list(csv.reader(io.StringIO(text, newline="")))
                eq(len(rows) - 1, min(total, 100_000), "one line per entry, up to 100,000")
                assert all(len(row) == 16 for row in rows), "16 columns on every line"
            assert "boogyman-audit.csv" in response.headers.get("Content-Disposition", ""), "download file name"
        return check
    c.call("GET", "/api/v1/audit.csv", 200, check=csv_export(None))
    c.call("GET", "/api/v1/audit.csv", 200, params={k: v for k, v in everything.items() if k not in ("limit", "offset")},
           label="every filter", check=csv_export(0))
    c.call("GET", "/api/v1/audit.csv", 400, params={"from": "yesterday"}, check=error_code("bad_parameter"))
    c.call("GET", "/api/v1/audit.csv", 400, params={"status": "Failed"}, check=error_code("bad_parameter"))

    # -- the Kisi sync (the server under test has no Kisi connection) -----------------------------
    def not_connected(b: Any) -> None:
        eq(b["connected"], False, "connected")
        eq(b["held_revocations"], [], "nothing can be held without a sync")
        eq(sorted(b["writes_last_hour"]), ["failed", "pending", "skipped", "succeeded", "unknown"], "every write status counted")
        assert b["queue_depth"] > depth_before, \
            f"this run's changes wait for Kisi: queue_depth {b['queue_depth']} should exceed {depth_before}"
        for key in ("paused_reason", "last_full_reconcile_at"):
            assert b.get(key, "") is not None, f"{key} is left out, never null"
    status = c.call("GET", "/api/v1/sync/status", 200, check=not_connected)
    c.call("POST", "/api/v1/sync/plan", 409, check=error_code("kisi_not_connected"))
    c.call("POST", "/api/v1/sync/plan", 409, body={}, label="with a body", check=error_code("kisi_not_connected"))
    c.call("POST", "/api/v1/sync/held-revocations/approve", 409, check=error_code("kisi_not_connected"))
    c.call("GET", "/api/v1/sync/status", 200, label="refused calls changed nothing",
           check=lambda b: eq(b["queue_depth"], status["queue_depth"] if status else b["queue_depth"], "queue_depth"))

    # -- imports ----------------------------------------------------------------------------------
    plan_name = f"downtown YOGA {tag}"  # plans are named without case
    import_csv = ("First Name;Last Name;E-mail;Plan;Start Date;Paid Through\r\n"
                  f"Ida;Import{tag};ida.{tag}@example.com;{plan_name};01.01.2026;2099-12-31\r\n"
                  f"Ana;Popescu{tag};{email};{plan_name};2030-01-01;2030-12-31\r\n")
    before_import = c.call("GET", "/api/v1/members", 200, params={"q": tag, "limit": 500}, label="before the import")
    c.call("POST", "/api/v1/imports", 200, body={"csv": import_csv, "dry_run": True}, label="dry run",
           check=lambda b: (eq(b["written"], False, "written"), eq(b["separator"], "semicolon", "separator"),
                            eq(b["members_created"], 1, "new members"), eq(b["members_existing"], 1, "existing members"),
                            eq(b["columns"][2], {"header": "E-mail", "column": "email"}, "column understood"),
                            eq(b["access"]["members_with_access"], 1, "members with access"),
                            eq(b["access"]["kisi_lookup"], "at_sync", "no Kisi to ask")))
    c.call("POST", "/api/v1/imports", 422, body={"csv": "name;age\nIda;5\n"}, label="unknown columns",
           check=error_code("validation_failed", "csv"))
    c.call("POST", "/api/v1/imports", 422, body={"csv": import_csv.replace(plan_name, "No such plan")}, label="a bad row",
           check=error_code("validation_failed", "csv"))
    c.call("POST", "/api/v1/imports", 422, body={"dry_run": True}, label="missing csv", check=error_code("validation_failed", "csv"))
    c.call("POST", "/api/v1/imports", 400, raw=b'{"csv": ', check=error_code("malformed_json"))
    c.call("GET", "/api/v1/members", 200, params={"q": tag, "limit": 500}, label="refused imports wrote nothing",
           check=lambda b: eq(b["total"], before_import["total"] if before_import else b["total"], "members"))
    imported = c.call("POST", "/api/v1/imports", 201, body={"csv": import_csv}, label="written",
                      check=lambda b: (eq(b["written"], True, "written"), eq(len(b["member_ids"]), 1, "member_ids"),
                                       eq(b["subscriptions_created"], 2, "subscriptions")))
    if imported:
        c.call("DELETE", f"/api/v1/members/{imported['member_ids'][0]}", 204, label="the imported member")
    c.call("GET", f"/api/v1/members/{M}/subscriptions", 200, label="the existing member got the imported subscription",
           check=lambda b: eq(any(s["start_date"] == "2030-01-01" for s in b["items"]), True, "imported subscription"))

    c.call("DELETE", f"/api/v1/plans/{P}", 409, label="plan sold", check=error_code("conflict"))
    c.call("DELETE", f"/api/v1/studios/{S}", 409, label="studio in a plan", check=error_code("conflict"))
    c.call("DELETE", f"/api/v1/clubs/{A}", 409, label="club has studios", check=error_code("conflict"))
    c.call("DELETE", f"/api/v1/clubs/{B}", 409, label="club has studios", check=error_code("conflict"))

    # -- classes and bookings (in 2030, after any day this runs on) -------------------------------
    class_club = c.call("POST", "/api/v1/clubs", 201, body={"name": f"Class club {tag}", "time_zone": "Europe/Bucharest",
                                                            "kisi_lock_ids": [lock + 10]})
    class_studio = c.call("POST", "/api/v1/studios", 201, body={"club_id": class_club["id"] if class_club else nobody,
                                                                "name": f"Spinning studio {tag}", "kisi_lock_ids": [lock + 11]})
    class_plan = c.call("POST", "/api/v1/plans", 201, body={"name": f"Spinning pass {tag}", "club_ids": [class_club["id"] if class_club else nobody]})
    riders = [c.call("POST", "/api/v1/members", 201, body={"first_name": "Rider", "last_name": f"No{i} {tag}",
                                                           "email": f"rider{i}.{tag}@example.com"}) for i in range(2)]
    if not class_club or not class_studio or not class_plan or not all(riders):
        raise Failure("cannot go on without the classes' club, studio, plan and members")
    CC, CS, CP = class_club["id"], class_studio["id"], class_plan["id"]
    CM, CM2 = riders[0]["id"], riders[1]["id"]
    for rider in (CM, CM2):
        c.call("POST", "/api/v1/subscriptions", 201, body={"member_id": rider, "plan_id": CP, "start_date": "2026-01-01",
                                                           "paid_through": "2099-12-31"}, label="a class pass")
    rules_path = f"/api/v1/plans/{CP}/class-rules"
    c.call("GET", rules_path, 200, label="none yet", check=lambda b: eq(b["items"], [], "rules"))
    rule = {"studio_id": CS, "allowance": "per_week", "count": 2, "door_mode": "booked_classes"}
    c.call("PUT", rules_path, 200, body={"rules": [rule]}, check=lambda b: eq(b["items"], [rule], "rules"))
    c.call("PUT", rules_path, 422, body={"rules": [dict(rule, count=None)]}, label="count missing",
           check=error_code("validation_failed", "rules[0].count"))
    c.call("PUT", rules_path, 422, body={"rules": [dict(rule, door_mode="all_day")]}, label="all day outside the plan's studios",
           check=error_code("validation_failed", "rules[0].door_mode"))
    c.call("PUT", rules_path, 400, raw=b"{", check=error_code("malformed_json"))
    c.call("PUT", f"/api/v1/plans/{nobody}/class-rules", 404, body={"rules": []}, check=error_code("not_found"))
    c.call("GET", f"/api/v1/plans/{nobody}/class-rules", 404, check=error_code("not_found"))

    weekly = {"studio_id": CS, "name": "Spinning", "instructor": "Ioana", "capacity": 1, "start_time": "18:00",
              "duration_minutes": 60, "weekday": "tuesday", "valid_from": "2030-01-01"}
    spin = c.call("POST", "/api/v1/classes", 201, body=weekly,
                  check=lambda b: (eq(b["recurrence"], "weekly", "recurrence"), eq(b["start_time"], "18:00", "start_time")))
    if not spin:
        raise Failure("cannot go on without a class")
    K = spin["id"]
    c.call("POST", "/api/v1/classes", 422, body=dict(weekly, start_time="25:00"), label="no such time",
           check=error_code("validation_failed", "start_time"))
    c.call("POST", "/api/v1/classes", 422, body=dict(weekly, date="2030-01-08"), label="weekly and one-off at once",
           check=error_code("validation_failed", "weekday"))
    c.call("POST", "/api/v1/classes", 400, raw=b"[]", check=error_code("malformed_json"))
    c.call("GET", "/api/v1/classes", 200, params={"studio_id": CS}, check=lambda b: eq([k["id"] for k in b["items"]], [K], "classes"))
    c.call("GET", "/api/v1/classes", 400, params={"studio_id": "spinning"}, check=error_code("bad_parameter"))
    c.call("GET", f"/api/v1/classes/{K}", 200, check=lambda b: eq(b["weekday"], "tuesday", "weekday"))
    c.call("GET", f"/api/v1/classes/{nobody}", 404, check=error_code("not_found"))
    c.call("PATCH", f"/api/v1/classes/{K}", 200, body={"instructor": None, "valid_until": "2030-12-31"},
           check=lambda b: (eq("instructor" in b, False, "instructor removed"), eq(b["valid_until"], "2030-12-31", "valid_until")))
    c.call("PATCH", f"/api/v1/classes/{K}", 422, body={"capacity": 0}, check=error_code("validation_failed", "capacity"))
    c.call("PATCH", f"/api/v1/classes/{K}", 400, raw=b"{", check=error_code("malformed_json"))
    c.call("PATCH", f"/api/v1/classes/{nobody}", 404, body={"name": "x"}, check=error_code("not_found"))

    bookings_path = f"/api/v1/classes/{K}/bookings"
    first = c.call("POST", bookings_path, 201, body={"member_id": CM, "date": "2030-01-08"},
                   check=lambda b: (eq(b["status"], "booked", "status"), eq(b["plan_id"], CP, "plan")))
    c.call("POST", bookings_path, 201, body={"member_id": CM2, "date": "2030-01-08"}, label="full: waitlisted",
           check=lambda b: eq(b["status"], "waitlisted", "status"))
    c.call("POST", bookings_path, 409, body={"member_id": CM, "date": "2030-01-08"}, label="booked already",
           check=error_code("booking_refused"))
    c.call("POST", bookings_path, 201, body={"member_id": CM, "date": "2030-01-15", "waitlist": False}, label="the next Tuesday")
    c.call("POST", bookings_path, 409, body={"member_id": CM2, "date": "2030-01-15", "waitlist": False}, label="full, no waitlist",
           check=error_code("conflict"))
    c.call("POST", bookings_path, 422, body={"member_id": CM, "date": "2030-01-09"}, label="not a Tuesday",
           check=error_code("validation_failed", "date"))
    c.call("POST", bookings_path, 422, body={"date": "2030-01-08"}, label="no member", check=error_code("validation_failed", "member_id"))
    c.call("POST", bookings_path, 400, raw=b"{", check=error_code("malformed_json"))
    c.call("POST", f"/api/v1/classes/{nobody}/bookings", 404, body={"member_id": CM, "date": "2030-01-08"}, check=error_code("not_found"))
    roster_path = f"/api/v1/classes/{K}/roster"
    c.call("GET", roster_path, 200, params={"date": "2030-01-08"},
           check=lambda b: (eq([p["member_id"] for p in b["places"]], [CM], "places"),
                            eq([w["member_id"] for w in b["waitlist"]], [CM2], "waitlist"),
                            eq(b["occurrence"]["starts_at"], "2030-01-08T16:00:00Z", "18:00 in Bucharest")))
    c.call("GET", roster_path, 400, params={"date": "2030-02-30"}, check=error_code("bad_parameter"))
    c.call("GET", roster_path, 404, params={"date": "2030-01-09"}, check=error_code("not_found"))
    c.call("GET", "/api/v1/class-occurrences", 200, params={"studio_id": CS, "from": "2030-01-07", "until": "2030-01-13"},
           check=lambda b: eq([(o["date"], o["booked"], o["waitlisted"]) for o in b["items"]], [("2030-01-08", 1, 1)], "occurrences"))
    c.call("GET", "/api/v1/class-occurrences", 400, params={"from": "2030-01-07", "until": "2030-03-01"}, label="over 42 days",
           check=error_code("bad_parameter"))
    c.call("GET", "/api/v1/class-occurrences", 404, params={"studio_id": nobody}, check=error_code("not_found"))
    c.call("GET", "/api/v1/bookings", 200, params={"member_id": CM},
           check=lambda b: eq(b["items"][0]["door_window"]["explanation"],
                              f"Spinning studio {tag}: booked class Tue 18:00–19:00, door open 17:45–19:15", "door window"))
    c.call("GET", "/api/v1/bookings", 400, params={"date": "soon"}, check=error_code("bad_parameter"))
    if first:
        c.call("GET", f"/api/v1/bookings/{first['id']}", 200, check=lambda b: eq(b["member_id"], CM, "member"))
        c.call("POST", f"/api/v1/bookings/{first['id']}/cancel", 200,
               check=lambda b: (eq(b["cancelled"]["status"], "cancelled", "cancelled"), eq(b["promoted"]["member_id"], CM2, "promoted")))
        c.call("POST", f"/api/v1/bookings/{first['id']}/cancel", 409, label="again", check=error_code("conflict"))
    c.call("GET", f"/api/v1/bookings/{nobody}", 404, check=error_code("not_found"))
    c.call("POST", f"/api/v1/bookings/{nobody}/cancel", 404, check=error_code("not_found"))
    cancel_path = f"/api/v1/classes/{K}/cancel-occurrence"
    c.call("POST", cancel_path, 200, body={"date": "2030-01-08", "reason": "Instructor ill"},
           check=lambda b: (eq(b["occurrence"]["cancellation"]["reason"], "Instructor ill", "reason"), eq(b["places"], [], "places")))
    c.call("POST", cancel_path, 422, body={"date": "2030-01-09"}, check=error_code("validation_failed", "date"))
    c.call("POST", cancel_path, 400, raw=b"{", check=error_code("malformed_json"))
    c.call("POST", f"/api/v1/classes/{nobody}/cancel-occurrence", 404, body={"date": "2030-01-08"}, check=error_code("not_found"))
    c.call("DELETE", f"/api/v1/classes/{K}", 409, label="booked once", check=error_code("conflict"))
    c.call("DELETE", f"/api/v1/classes/{nobody}", 404, check=error_code("not_found"))
    for rider in (CM, CM2):
        c.call("DELETE", f"/api/v1/members/{rider}", 204, label="takes the bookings along")
    c.call("DELETE", f"/api/v1/classes/{K}", 204, label="nobody's bookings left")
    c.call("DELETE", f"/api/v1/plans/{CP}", 204, label="takes the class rules along")
    c.call("DELETE", f"/api/v1/studios/{CS}", 204)
    c.call("DELETE", f"/api/v1/clubs/{CC}", 204)

    # -- validator self-test: drift must not slip through -----------------------------------------
    real = c.session.get(f"{c.base_url}/api/v1/clubs/{A}", headers={"Authorization": f"Bearer {c.token}"}, timeout=30)
    extra = dict(real.json(), surprise=True)
    missing = {k: v for k, v in real.json().items() if k != "time_zone"}
    c.expect_drift_caught("an undocumented property", "GET", f"/api/v1/clubs/{A}",
                          FakeResponse.of(real, data=json.dumps(extra).encode()))
    c.expect_drift_caught("a missing required property", "GET", f"/api/v1/clubs/{A}",
                          FakeResponse.of(real, data=json.dumps(missing).encode()))
    c.expect_drift_caught("a lower-case UUID", "GET", f"/api/v1/clubs/{A}",
                          FakeResponse.of(real, data=real.content.replace(A.encode(), A.lower().encode())))
    c.expect_drift_caught("a wrong Content-Type", "GET", f"/api/v1/clubs/{A}",
                          FakeResponse.of(real, content_type="text/html"))
    c.expect_drift_caught("an undocumented status", "GET", f"/api/v1/clubs/{A}", FakeResponse.of(real, status_code=418))
    denied = c.session.get(f"{c.base_url}/api/v1/clubs", timeout=30)
    c.expect_drift_caught("a 401 without WWW-Authenticate", "GET", "/api/v1/clubs",
                          FakeResponse.of(denied, headers=CaseInsensitiveDict({"Content-Type": denied.headers["Content-Type"]})))
    c.expect_drift_caught("a 401 with another WWW-Authenticate", "GET", "/api/v1/clubs",
                          FakeResponse.of(denied, headers=CaseInsensitiveDict({"WWW-Authenticate": "Basic"})))
    real_status = c.session.get(f"{c.base_url}/api/v1/sync/status", headers={"Authorization": f"Bearer {c.token}"}, timeout=30)
    c.expect_drift_caught("an absent optional key sent as null", "GET", "/api/v1/sync/status",
                          FakeResponse.of(real_status, data=json.dumps(dict(real_status.json(), paused_reason=None)).encode()))
    c.expect_drift_caught("a write status left out", "GET", "/api/v1/sync/status",
                          FakeResponse.of(real_status, data=json.dumps(dict(real_status.json(), writes_last_hour={"failed": 0})).encode()))
    c.expect_drift_caught("a plan action without a priority", "POST", "/api/v1/sync/plan",
                          FakeResponse(json.dumps({"actions": [{"kind": "createGrant", "reason": "x", "detail": "y"}]}).encode(),
                                       200, "application/json", CaseInsensitiveDict()))
    c.expect_drift_caught("a 409 with the generic conflict code", "POST", "/api/v1/sync/plan",
                          FakeResponse(json.dumps({"error": {"status": 409, "code": "conflict", "message": "x"}}).encode(),
                                       409, "application/json", CaseInsensitiveDict()))
    c.expect_drift_caught("a 204 turned into an empty 200", "DELETE", f"/api/v1/clubs/{A}",
                          FakeResponse(b"", 200, "application/json", CaseInsensitiveDict()))

    # -- deletes (and cleanup) --------------------------------------------------------------------
    c.call("DELETE", f"/api/v1/subscriptions/{SUB2}", 204)
    c.call("DELETE", f"/api/v1/subscriptions/{SUB2}", 404, label="again", check=error_code("not_found"))
    c.call("DELETE", f"/api/v1/members/{M}", 204, label="takes the subscriptions along")
    c.call("GET", f"/api/v1/subscriptions/{SUB}", 404, label="gone with the member", check=error_code("not_found"))
    c.call("DELETE", f"/api/v1/members/{M2}", 204)
    c.call("DELETE", f"/api/v1/members/{M2}", 404, label="again", check=error_code("not_found"))
    c.call("DELETE", f"/api/v1/plans/{P}", 204, label="nobody holds it any more")
    c.call("DELETE", f"/api/v1/plans/{P2}", 204, label="archived, never sold")
    c.call("DELETE", f"/api/v1/plans/{P2}", 404, label="again", check=error_code("not_found"))
    c.call("DELETE", f"/api/v1/studios/{S}", 204)
    c.call("DELETE", f"/api/v1/studios/{S2}", 204)
    c.call("DELETE", f"/api/v1/studios/{S2}", 404, label="again", check=error_code("not_found"))
    c.call("DELETE", f"/api/v1/clubs/{A}", 204)
    c.call("DELETE", f"/api/v1/clubs/{B}", 204)
    c.call("DELETE", f"/api/v1/clubs/{B}", 404, label="again", check=error_code("not_found"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8080")
    parser.add_argument("--token", required=True, help="an API token secret (bgm_…)")
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC, help=f"default: {DEFAULT_SPEC}")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every request and the coverage table")
    args = parser.parse_args()

    spec_text = args.spec.read_text(encoding="utf-8")
    spec = yaml.safe_load(spec_text)
    try:
        validate_spec(spec)
    except Exception as error:
        print(f"FAIL {args.spec} is not a valid OpenAPI document: {error}", file=sys.stderr)
        print("0 passed, 1 failed")
        return 1
    print(f"openapi document: {args.spec} is valid OpenAPI {spec.get('openapi')}")

    checker = Checker(spec, spec_text, args.base_url, args.token, args.verbose)
    try:
        run_scenario(checker)
    except Failure as error:
        checker.fail(f"scenario stopped: {error}")
    except Exception:
        checker.fail("scenario crashed:\n" + traceback.format_exc())
    checker.report_coverage()

    print(f"validator self-test: {checker.drift_caught} kinds of deliberate drift caught")
    print(f"openapi conformance: {checker.responses_validated} responses validated across "
          f"{len(checker.exercised)} of {len(checker.operations)} operations "
          f"({checker.requests_validated} accepted requests validated too)")
    print(f"{checker.passed} passed, {checker.failed} failed")
    return 0 if checker.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
