"""Replays the recorded traffic of the real Purview service (../shared/purview/recordings) through the
emulator's API and checks that the emulator answers each recorded request with the recorded status
code and the recorded response's field names.

How a recording is replayed (one recording file = one test, each against a fresh emulator):

* The principal directory is the one the recordings imply: every object id they show acting or being
  assigned (requestor, createdBy, updatedBy, approvers, reassignFrom/To, assignees, workflow
  assignees) becomes a principal with an arbitrary client id and secret, except users the service
  itself reported as unknown ("Users not found: [...]" in a run's detail), so that those runs fail the
  way they failed live.
* What a recording acts on but did not create itself (the workflow it GETs, the run it cancels, the
  task it approves, ...) is created first through the API, from what the recordings as a whole say
  about that object (the "world": workflows' definitions and metadata, runs' workflows, requestors,
  payloads and statuses, tasks' runs, titles and approvers). Objects no recording describes are
  synthesised minimally (an approval task assigned to the recorded reassignFrom, a SimpleTask for a
  status change, an in-progress run for a cancellation). Workflows keep their recorded ids; runs,
  tasks and requests get ids from the emulator, mapped from the recorded ones.
* Each recorded request is then sent with the token of the principal the recording implies (the
  requestor for submit and cancel, an approver for approve and reject, reassignFrom for reassign,
  ...), with ids substituted, and the answer compared: status code, whether there is a body and a
  Content-Type, and the set of keys of every object, recursively (arrays: elements paired by id when
  they have one, else the first elements), apart from the explicit allowlists below.
"""

from __future__ import annotations

import collections
import copy
import json
import os
import re
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from emulator_harness import REPO_ROOT, RunningEmulator

UUID_PATTERN = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
USERS_NOT_FOUND = re.compile(r"Users not found: \[([^\]]*)\]")
AZURE_AD_HOST = "login.microsoftonline.com"
# The version the preparation calls use (the Java recordings' version; both versions share these calls).
V2022 = "api-version=2022-05-01-preview"

# Fields the real service includes in some of its answers and not in others. Each entry is
# (operation, where in the answer, key) -> the one direction in which a difference is accepted
# ("extra": ours has it, the recording not). `where` spells array items `[]`.
CONDITIONAL_FIELDS: dict[tuple[str, str, str], str] = {
    # Workflows gained "type": "UserManaged" in 2023 service builds, on both api-versions: the
    # 2022-05-01-preview recordings of February 2023 lack it, those of July 2023 have it. The emulator
    # answers as the current service does.
    ("GET /workflows", ".value[]", "type"): "extra",
}

# Fields the emulator adds beyond the live service because the project's seed OpenAPI description
# (shared/seed) names them; clients of the live service ignore them. Same form as above.
SEED_SPEC_FIELDS: dict[tuple[str, str, str], str] = {
    # The seed's UserRequestResponse carries every run id at the top level; the live service lists
    # them per operation only (operations[].workflowRunIds, which the emulator also returns).
    ("POST /userrequests", "", "workflowRunIds"): "extra",
}


def recordings_directory() -> Path:
    """$PURVIEW_RECORDINGS_DIR, else `shared/purview/recordings` beside the checkout (../shared from
    the main checkout, ../../shared from a worktree under wt/)."""
    configured = os.environ.get("PURVIEW_RECORDINGS_DIR")
    candidates = [Path(configured)] if configured else [
        parent / "shared" / "purview" / "recordings" for parent in REPO_ROOT.parents
    ]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise RuntimeError(f"no recordings directory among {candidates}; set PURVIEW_RECORDINGS_DIR")


# MARK: - Recordings


@dataclass
class Entry:
    """One recorded request and its answer."""

    source: str
    index: int
    method: str
    url: urllib.parse.SplitResult
    request_body: Any
    status: int
    response_body: Any
    response_content_type: bool

    @property
    def is_identity(self) -> bool:
        return self.url.hostname == AZURE_AD_HOST

    @property
    def operation(self) -> str:
        """`METHOD /template` for API calls (`POST /workflowtasks/{id}/approve-approval`), and
        `METHOD identity:<what>` for Azure AD calls."""
        path = self.url.path
        if self.is_identity:
            if path.endswith("/discovery/instance"):
                return f"{self.method} identity:instance-discovery"
            if path.endswith("/.well-known/openid-configuration"):
                return f"{self.method} identity:openid-configuration"
            if path.endswith("/oauth2/v2.0/token"):
                return f"{self.method} identity:token"
            return f"{self.method} identity:{path}"
        assert path.startswith("/workflow/"), path
        parts = path[len("/workflow") :].split("/")
        template = "/".join("{id}" if UUID_PATTERN.match(part) else part for part in parts)
        return f"{self.method} {template}"

    @property
    def path_id(self) -> str | None:
        """The id in the path (lowercase), if any."""
        for part in self.url.path.split("/"):
            if UUID_PATTERN.match(part):
                return part.lower()
        return None

    def describe(self) -> str:
        return f"{self.source}#{self.index} {self.method} {self.url.path}?{self.url.query}"


def parse_body(text: Any) -> Any:
    if text is None or text == "":
        return None
    if isinstance(text, (dict, list)):
        return text
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def load_json_recording(path: Path) -> list[Entry]:
    data = json.loads(path.read_text())
    entries = []
    for index, raw in enumerate(data["Entries"]):
        headers = {name.lower() for name in raw.get("ResponseHeaders", {})}
        entries.append(
            Entry(
                source=path.name,
                index=index,
                method=raw["RequestMethod"],
                url=urllib.parse.urlsplit(raw["RequestUri"]),
                request_body=parse_body(raw.get("RequestBody")),
                status=int(raw["StatusCode"]),
                response_body=parse_body(raw.get("ResponseBody")),
                response_content_type="content-type" in headers,
            )
        )
    return entries


def load_yaml_recording(path: Path) -> list[Entry]:
    """A vcrpy cassette made through the test proxy. Its `/record/start` and `/record/stop` calls go to
    the proxy itself (Kestrel on localhost:5001), not to Purview, and are left out; proxied calls are
    rebuilt against their `x-recording-upstream-base-uri`."""
    data = yaml.safe_load(path.read_text())
    entries = []
    for index, interaction in enumerate(data["interactions"]):
        request, response = interaction["request"], interaction["response"]
        url = urllib.parse.urlsplit(request["uri"])
        if url.path.startswith("/record/"):
            continue
        upstream = (request.get("headers") or {}).get("x-recording-upstream-base-uri")
        if upstream:
            base = urllib.parse.urlsplit(upstream[0] if isinstance(upstream, list) else upstream)
            url = url._replace(scheme=base.scheme, netloc=base.netloc)
        headers = {name.lower() for name in response.get("headers") or {}}
        entries.append(
            Entry(
                source=path.name,
                index=index,
                method=request["method"],
                url=url,
                request_body=parse_body(request.get("body")),
                status=int(response["status"]["code"]),
                response_body=parse_body((response.get("body") or {}).get("string")),
                response_content_type="content-type" in headers,
            )
        )
    return entries


def purview_signature(entries: list[Entry]) -> list[tuple]:
    """What a recording says about Purview (for spotting a YAML cassette that repeats a JSON one)."""
    return [
        (e.method, e.url.path, e.url.query, e.status, json.dumps(e.response_body, sort_keys=True))
        for e in entries
        if not e.is_identity
    ]


def all_recordings() -> dict[str, list[Entry]]:
    directory = recordings_directory()
    recordings = {
        str(path.relative_to(directory)): load_json_recording(path) for path in sorted(directory.rglob("*.json"))
    }
    signatures = [purview_signature(entries) for entries in recordings.values()]
    for path in sorted(directory.rglob("*.yaml")):
        entries = load_yaml_recording(path)
        # Replayed only when it says something the JSON recordings do not.
        if purview_signature(entries) not in signatures:
            recordings[str(path.relative_to(directory))] = entries
    return recordings


RECORDINGS = all_recordings()


# MARK: - What the recordings say, taken together


def is_uuid(value: Any) -> bool:
    return isinstance(value, str) and bool(UUID_PATTERN.match(value))


class World:
    """Every workflow, run and task the recordings describe, and the principals they imply."""

    def __init__(self, recordings: dict[str, list[Entry]]):
        self.workflows: dict[str, dict[str, Any]] = collections.defaultdict(dict)
        self.runs: dict[str, dict[str, Any]] = collections.defaultdict(dict)
        self.tasks: dict[str, dict[str, Any]] = collections.defaultdict(dict)
        self.unknown_users: set[str] = set()
        self.people: set[str] = set()
        submitters: collections.Counter = collections.Counter()
        for entries in recordings.values():
            for entry in entries:
                if entry.is_identity or entry.status >= 300:
                    continue
                self._learn(entry, submitters)
        self.principals = sorted(self.people - self.unknown_users)
        # The identity the recorded test suites ran as: who submitted their user requests.
        self.default_actor = submitters.most_common(1)[0][0] if submitters else self.principals[0]

    def _person(self, value: Any) -> None:
        if is_uuid(value):
            self.people.add(value.lower())

    def _workflow(self, body: dict[str, Any], with_definition: bool) -> None:
        record = self.workflows[body["id"].lower()]
        for key in ("name", "description", "isEnabled", "triggers", "createdBy", "updatedBy"):
            if key in body:
                record[key] = body[key]
        if with_definition and "actionDag" in body:
            record["actionDag"] = body["actionDag"]
        self._person(body.get("createdBy"))
        self._person(body.get("updatedBy"))

    def _run(self, body: dict[str, Any]) -> None:
        record = self.runs[body["id"].lower()]
        for key in ("workflowId", "requestor", "userRequestId", "status"):
            if key in body:
                record[key] = body[key]
        payload = body.get("runPayload") or {}
        record.setdefault("runPayload", {}).update(payload)
        self._person(body.get("requestor"))
        for action in ((body.get("detail") or {}).get("actions") or {}).values():
            message = (((action.get("output") or {}).get("error")) or {}).get("message", "")
            for match in USERS_NOT_FOUND.finditer(message):
                self.unknown_users.update(user.strip().lower() for user in match.group(1).split(",") if user.strip())

    def _task(self, body: dict[str, Any]) -> None:
        self.tasks[body["id"].lower()].update(body)
        # What the task tells about its run, for runs no recording shows.
        run = self.runs[body["workflowRunId"].lower()]
        run.setdefault("workflowId", body["workflowId"])
        run.setdefault("requestor", body.get("requestor"))
        run.setdefault("runPayload", {}).setdefault("targetValue", body["payload"]["targetValue"])
        self._person(body.get("requestor"))
        for approver in ((body.get("approvalDetail") or {}).get("approvers") or {}):
            self._person(approver)
        for assignee in (body.get("taskDetail") or {}).get("assignedTo") or []:
            self._person(assignee)

    def _dag_people(self, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "assignedTo":
                    for person in item if isinstance(item, list) else [item]:
                        self._person(person)
                else:
                    self._dag_people(item)
        elif isinstance(value, list):
            for item in value:
                self._dag_people(item)

    def _learn(self, entry: Entry, submitters: collections.Counter) -> None:
        operation, request, response = entry.operation, entry.request_body, entry.response_body
        if operation == "PUT /workflows/{id}":
            authors = {key: response[key] for key in ("createdBy", "updatedBy")}
            self._workflow(dict(request, id=entry.path_id, **authors), True)
            self._dag_people(request.get("actionDag"))
        elif operation == "GET /workflows/{id}":
            self._workflow(response, True)
            self._dag_people(response.get("actionDag"))
        elif operation == "GET /workflows":
            for item in response["value"]:
                self._workflow(item, False)
        elif operation == "POST /userrequests":
            submitters[response["requestor"].lower()] += 1
            self._person(response["requestor"])
            for index, operation_answer in enumerate(response["operations"]):
                for run_id in operation_answer.get("workflowRunIds") or []:
                    run = self.runs[run_id.lower()]
                    run.setdefault("requestor", response["requestor"])
                    run.setdefault("userRequestId", response["requestId"])
                    sent = request["operations"][index]
                    run.setdefault("runPayload", {}).update({"type": sent["type"], "payload": sent["payload"]})
        elif operation == "GET /workflowruns/{id}":
            self._run(response)
        elif operation == "GET /workflowruns":
            for item in response["value"]:
                self._run(item)
        elif operation == "GET /workflowtasks":
            for item in response["value"]:
                self._task(item)
        elif operation == "GET /workflowtasks/{id}":
            self._task(response)
        elif operation == "POST /workflowtasks/{id}/reassign":
            for pair in request.get("reassignments") or []:
                self._person(pair.get("reassignFrom"))
                self._person(pair.get("reassignTo"))


WORLD = World(RECORDINGS)


# MARK: - The emulator, prepared as each recording assumes


class PreparationError(AssertionError):
    """The state a recording assumes could not be built through the API."""


def synthesized_definition(
    name: str, triggers: list[dict[str, Any]], is_enabled: bool, *, assignee: str, simple_task: bool = False,
    title: str = "Approval Request", approval_type: str = "PendingOnAll", description: str = "",
) -> dict[str, Any]:
    """A minimal workflow: one Approval (or one SimpleTask) assigned to `assignee`."""
    if simple_task:
        action = {
            "type": "Task",
            "inputs": {"parameters": {"title": title, "taskBody": "Please review", "assignedTo": [assignee]}},
            "runAfter": {},
        }
    else:
        action = {
            "type": "Approval",
            "inputs": {"parameters": {"approvalType": approval_type, "title": title, "assignedTo": [assignee]}},
            "runAfter": {},
        }
    return {
        "name": name,
        "description": description,
        "isEnabled": is_enabled,
        "triggers": triggers,
        "actionDag": {"actions": {"Start and wait": action}},
    }


def term_payload(name: str, trigger: dict[str, Any]) -> dict[str, Any]:
    """A CreateTerm payload that `trigger` matches."""
    term: dict[str, Any] = {"name": name, "nickName": name, "status": "Approved"}
    scope = trigger.get("underGlossaryHierarchy", "")
    if scope.startswith("/glossaries/"):
        term["anchor"] = {"glossaryGuid": scope.split("/")[2]}
    elif scope.startswith("/terms/"):
        term["anchor"] = {"glossaryGuid": str(uuid.uuid4())}
        term["parentRelatedTerm"] = {"termGuid": scope.split("/")[2]}
    else:
        term["anchor"] = {"glossaryGuid": str(uuid.uuid4())}
    return {"glossaryTerm": term}


class Replayer:
    def __init__(self, emulator: RunningEmulator, source: str):
        self.emulator = emulator
        self.source = source
        self.tokens: dict[str, str] = {}
        self.by_object_id = {p["objectId"]: p for p in emulator.config["principals"]}
        # Workflow id -> the definition we PUT.
        self.created_workflows: dict[str, dict[str, Any]] = {}
        # Recorded id -> ours, by kind (the 2022 service reused the request id as the run id).
        self.runs: dict[str, str] = {}
        self.tasks: dict[str, str] = {}
        self.requests: dict[str, str] = {}
        self.keys_compared = 0
        self.objects_compared = 0
        self.allowlisted: list[str] = []
        self.prepared: list[str] = []

    # MARK: Calls

    def principal(self, object_id: str | None) -> dict[str, Any]:
        wanted = (object_id or "").lower()
        return self.by_object_id.get(wanted) or self.by_object_id[WORLD.default_actor]

    def token(self, object_id: str | None) -> str:
        principal = self.principal(object_id)
        if principal["objectId"] not in self.tokens:
            self.tokens[principal["objectId"]] = self.emulator.token_for(principal)
        return self.tokens[principal["objectId"]]

    def api(self, method: str, path_and_query: str, actor: str, body: Any = None) -> tuple[int, Any]:
        status, _, payload = self.emulator.request(method, path_and_query, token=self.token(actor), body=body)
        return status, (json.loads(payload) if payload else None)

    def must(self, method: str, path_and_query: str, actor: str, body: Any = None) -> Any:
        status, answer = self.api(method, path_and_query, actor, body)
        if status not in (200, 204):
            raise PreparationError(f"preparing {self.source}: {method} {path_and_query} answered {status}: {answer}")
        return answer

    # MARK: Preparation

    def ensure_workflow(
        self, workflow_id: str, *, needs_runs: bool = False, snapshot: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Creates the workflow as the recordings describe it (as its creator, then re-PUT by its last
        updater), with its recorded definition or a synthesised one. `snapshot` (the workflow as the
        replayed recording itself shows it) wins over what other recordings say: workflows change
        between recording sessions."""
        workflow_id = workflow_id.lower()
        known = dict(WORLD.workflows.get(workflow_id, {}))
        for key in ("name", "description", "isEnabled", "triggers", "createdBy", "updatedBy"):
            if snapshot and key in snapshot:
                known[key] = snapshot[key]
        if workflow_id in self.created_workflows:
            return self.created_workflows[workflow_id]
        creator = known.get("createdBy", "").lower()
        creator = creator if creator in self.by_object_id else WORLD.default_actor
        updater = known.get("updatedBy", "").lower()
        updater = updater if updater in self.by_object_id else creator
        triggers = known.get("triggers") or [
            {"type": "when_term_creation_is_requested", "underGlossaryHierarchy": f"/glossaries/{uuid.uuid4()}"}
        ]
        is_enabled = known.get("isEnabled", True)
        if needs_runs and not is_enabled:
            raise PreparationError(f"workflow {workflow_id} is disabled in the recordings but has runs")
        if "actionDag" in known:
            definition = {
                "name": known["name"], "description": known.get("description", ""), "isEnabled": is_enabled,
                "triggers": triggers, "actionDag": known["actionDag"],
            }
        else:
            # No recorded definition: an approval shaped like this workflow's recorded tasks.
            task = next((t for t in WORLD.tasks.values() if t.get("workflowId", "").lower() == workflow_id), None)
            approvers = list(((task or {}).get("approvalDetail") or {}).get("approvers") or {})
            definition = synthesized_definition(
                known.get("name", f"Replay workflow {workflow_id[:8]}"), triggers, is_enabled,
                assignee=approvers[0] if approvers else creator,
                title=(task or {}).get("title", "Approval Request"),
                approval_type=((task or {}).get("approvalDetail") or {}).get("approvalType", "PendingOnAll"),
                description=known.get("description", ""),
            )
        self.must("PUT", f"/workflow/workflows/{workflow_id}?{V2022}", creator, definition)
        if updater != creator:
            self.must("PUT", f"/workflow/workflows/{workflow_id}?{V2022}", updater, definition)
        self.created_workflows[workflow_id] = definition
        self.prepared.append(f"workflow {workflow_id}")
        return definition

    def synthesize_workflow(self, assignee: str, simple_task: bool = False) -> dict[str, Any]:
        """A new workflow of our own (no recording names it) with one task for `assignee`."""
        workflow_id = str(uuid.uuid4())
        trigger = {"type": "when_term_creation_is_requested", "underGlossaryHierarchy": f"/glossaries/{uuid.uuid4()}"}
        definition = synthesized_definition(
            f"Replay support {workflow_id[:8]}", [trigger], True, assignee=assignee, simple_task=simple_task
        )
        self.must("PUT", f"/workflow/workflows/{workflow_id}?{V2022}", WORLD.default_actor, definition)
        self.created_workflows[workflow_id] = definition
        return definition

    def start_run(
        self, workflow: dict[str, Any], requestor: str, target: str, payload: dict[str, Any] | None
    ) -> tuple[str, str]:
        """Submits a CreateTerm request that starts one run of `workflow`; answers (run id, request id)."""
        operation = {"type": "CreateTerm", "payload": payload or term_payload(target, workflow["triggers"][0])}
        answer = self.must("POST", f"/workflow/userrequests?{V2022}", requestor, {"operations": [operation]})
        run_ids = answer["operations"][0]["workflowRunIds"]
        if len(run_ids) != 1:
            raise PreparationError(f"a request for {target} started {len(run_ids)} runs, expected 1: {answer}")
        return run_ids[0], answer["requestId"]

    def ensure_run(self, recorded_id: str) -> str:
        """Our run standing for a recorded one: started by the recorded requestor with the recorded
        payload on the recorded workflow, then brought to the recorded status."""
        recorded_id = recorded_id.lower()
        if recorded_id in self.runs:
            return self.runs[recorded_id]
        known = WORLD.runs.get(recorded_id)
        if known is None or "workflowId" not in known:
            # No recording describes this run: a pending approval of the default actor's, in a
            # workflow of our own.
            workflow = self.synthesize_workflow(assignee=self.other_principal(WORLD.default_actor))
            ours, _ = self.start_run(workflow, WORLD.default_actor, "replayed term", None)
            self.runs[recorded_id] = ours
            self.prepared.append(f"run {recorded_id[:8]} (synthesised)")
            return ours
        if (known.get("runPayload") or {}).get("type", "CreateTerm") != "CreateTerm":
            raise PreparationError(f"run {recorded_id}: only CreateTerm runs can be rebuilt")
        workflow = self.ensure_workflow(known["workflowId"], needs_runs=True)
        requestor = known.get("requestor") if is_uuid(known.get("requestor")) else WORLD.default_actor
        payload = (known.get("runPayload") or {}).get("payload")
        target = (known.get("runPayload") or {}).get("targetValue", "replayed term")
        ours, request_id = self.start_run(workflow, requestor, target, payload)
        self.runs[recorded_id] = ours
        if known.get("userRequestId"):
            self.requests[known["userRequestId"].lower()] = request_id
        self.drive_run(recorded_id, ours, requestor, known.get("status"))
        self.prepared.append(f"run {recorded_id[:8]} ({known.get('status', 'InProgress')})")
        return ours

    def drive_run(self, recorded_id: str, ours: str, requestor: str, status: str | None) -> None:
        if status == "Completed":
            for task in self.tasks_of(ours, requestor):
                for approver in task["approvalDetail"]["approvers"]:
                    self.must("POST", f"/workflow/workflowtasks/{task['id']}/approve-approval?{V2022}", approver, {})
        elif status == "Canceled":
            self.must("POST", f"/workflow/workflowruns/{ours}/cancel?{V2022}", requestor, {})
        answer = self.must("GET", f"/workflow/workflowruns/{ours}?{V2022}", requestor)
        wanted = status or "InProgress"
        if answer["status"] != wanted:
            raise PreparationError(
                f"run {recorded_id} was {wanted} in the recording; ours is {answer['status']}: {json.dumps(answer)}"
            )

    def tasks_of(self, run_id: str, requestor: str) -> list[dict[str, Any]]:
        tasks = self.must("GET", f"/workflow/workflowtasks?{V2022}&viewMode=sent", requestor)["value"]
        return [task for task in tasks if task["workflowRunId"] == run_id]

    def other_principal(self, not_this: str) -> str:
        return next(p for p in sorted(self.by_object_id) if p != not_this.lower())

    def ensure_task(self, recorded_id: str, *, assignee: str | None = None, simple_task: bool = False) -> str:
        """Our open task standing for a recorded one: on a run of the recorded workflow for the
        recorded target, or, when no recording describes it, on a run of our own assigned to
        `assignee`."""
        recorded_id = recorded_id.lower()
        if recorded_id in self.tasks:
            return self.tasks[recorded_id]
        known = WORLD.tasks.get(recorded_id)
        if known is not None:
            run = self.ensure_run(known["workflowRunId"])
            requestor = known["requestor"] if is_uuid(known.get("requestor")) else WORLD.default_actor
            candidates = [t for t in self.tasks_of(run, requestor) if t["title"] == known["title"]]
        else:
            workflow = self.synthesize_workflow(assignee=assignee or WORLD.default_actor, simple_task=simple_task)
            requestor = self.other_principal(assignee or WORLD.default_actor)
            run, _ = self.start_run(workflow, requestor, "replayed term", None)
            candidates = self.tasks_of(run, requestor)
        if len(candidates) != 1:
            raise PreparationError(f"task {recorded_id}: expected one task on our run {run}, found {candidates}")
        self.tasks[recorded_id] = candidates[0]["id"]
        self.prepared.append(f"task {recorded_id[:8]}" + ("" if known else " (synthesised)"))
        return candidates[0]["id"]

    def prepare(self, entry: Entry) -> str:
        """Builds what `entry` acts on; answers the object id of the principal that sends it."""
        operation, request, response = entry.operation, entry.request_body, entry.response_body
        target = entry.path_id
        if operation == "PUT /workflows/{id}":
            self.created_workflows[target] = request
            return (response or {}).get("updatedBy") or WORLD.default_actor
        if operation in ("GET /workflows/{id}", "DELETE /workflows/{id}"):
            self.ensure_workflow(target, snapshot=response if isinstance(response, dict) else None)
            return WORLD.default_actor
        if operation == "GET /workflows":
            for item in (response or {}).get("value", []):
                self.ensure_workflow(item["id"], snapshot=item)
            return WORLD.default_actor
        if operation == "POST /userrequests":
            for answer in (response or {}).get("operations", []):
                for run_id in answer.get("workflowRunIds") or []:
                    workflow_id = WORLD.runs.get(run_id.lower(), {}).get("workflowId")
                    if workflow_id:
                        self.ensure_workflow(workflow_id, needs_runs=True)
            return (response or {}).get("requestor") or WORLD.default_actor
        if operation == "GET /workflowruns":
            listed = sorted((response or {}).get("value", []), key=lambda run: run["startTime"])
            for run in listed:
                self.ensure_run(run["id"])
            requestors = {run["requestor"].lower() for run in listed if is_uuid(run.get("requestor"))}
            return requestors.pop() if len(requestors) == 1 else WORLD.default_actor
        if operation in ("GET /workflowruns/{id}", "POST /workflowruns/{id}/cancel"):
            self.ensure_run(target)
            requestor = WORLD.runs.get(target, {}).get("requestor")
            return requestor if is_uuid(requestor) else WORLD.default_actor
        if operation == "GET /workflowtasks":
            listed = sorted((response or {}).get("value", []), key=lambda task: task["createdTime"])
            for task in listed:
                self.ensure_task(task["id"])
            view = dict(urllib.parse.parse_qsl(entry.url.query)).get("viewMode")
            if view == "received" and listed:
                return next(iter(listed[0]["approvalDetail"]["approvers"]))
            requestors = {task["requestor"].lower() for task in listed if is_uuid(task.get("requestor"))}
            return requestors.pop() if len(requestors) == 1 else WORLD.default_actor
        if operation in ("POST /workflowtasks/{id}/approve-approval", "POST /workflowtasks/{id}/reject-approval"):
            known = WORLD.tasks.get(target)
            approver = next(iter(known["approvalDetail"]["approvers"])) if known else WORLD.default_actor
            self.ensure_task(target, assignee=approver)
            return approver
        if operation == "POST /workflowtasks/{id}/reassign":
            source = request["reassignments"][0]["reassignFrom"]
            self.ensure_task(target, assignee=source)
            return source
        if operation == "POST /workflowtasks/{id}/change-task-status":
            known = WORLD.tasks.get(target) or {}
            assignee = ((known.get("taskDetail") or {}).get("assignedTo") or [WORLD.default_actor])[0]
            self.ensure_task(target, assignee=assignee, simple_task=True)
            return assignee
        if operation == "GET /workflowtasks/{id}":
            self.ensure_task(target)
            return WORLD.tasks.get(target, {}).get("requestor") or WORLD.default_actor
        raise PreparationError(f"no preparation for {operation} ({entry.describe()})")

    # MARK: Sending

    def substitute_path(self, entry: Entry) -> str:
        parts = entry.url.path.split("/")
        for index, part in enumerate(parts):
            key = part.lower()
            if not UUID_PATTERN.match(part):
                continue
            collection = parts[index - 1] if index else ""
            if collection == "workflowruns":
                parts[index] = self.runs.get(key, part)
            elif collection == "workflowtasks":
                parts[index] = self.tasks.get(key, part)
        path = "/".join(parts)
        query = entry.url.query.replace(f"https://{AZURE_AD_HOST}", self.emulator.url)
        return path + ("?" + query if query else "")

    def learn(self, entry: Entry, answer: Any) -> None:
        """Maps the ids of what this entry created to ours, for the entries after it."""
        if entry.operation == "POST /userrequests" and isinstance(answer, dict) and entry.response_body:
            self.requests[entry.response_body["requestId"].lower()] = answer["requestId"]
            for recorded, ours in zip(entry.response_body["operations"], answer["operations"]):
                pairs = zip(recorded.get("workflowRunIds") or [], ours.get("workflowRunIds") or [])
                for recorded_run, our_run in pairs:
                    self.runs[recorded_run.lower()] = our_run

    def send_identity(self, entry: Entry) -> tuple[int, dict[str, str], bytes]:
        parts = entry.url.path.split("/")
        if len(parts) > 1 and parts[1] != "common":
            parts[1] = self.emulator.tenant_id  # the recorded tenant is ours
        path = "/".join(parts)
        query = entry.url.query.replace(f"https://{AZURE_AD_HOST}", self.emulator.url)
        target = path + ("?" + query if query else "")
        form = None
        if isinstance(entry.request_body, str):
            principal = self.principal(WORLD.default_actor)
            # The recorded client's credentials are redacted: ours, for the principal the suite ran as.
            ours = {"client_id": principal["clientId"], "client_secret": principal["clientSecret"]}
            pairs = urllib.parse.parse_qsl(entry.request_body, keep_blank_values=True)
            form = urllib.parse.urlencode([(name, ours.get(name, value)) for name, value in pairs])
        return self.emulator.request(entry.method, target, form=form)

    def replay(self, entry: Entry) -> list[str]:
        """Sends one entry and answers its mismatches."""
        if entry.is_identity:
            status, headers, payload = self.send_identity(entry)
        else:
            actor = self.prepare(entry)
            body = copy.deepcopy(entry.request_body)
            status, headers, payload = self.emulator.request(
                entry.method, self.substitute_path(entry), token=self.token(actor), body=body
            )
        answer = parse_body(payload.decode()) if payload else None
        problems = []
        if status != entry.status:
            problems.append(f"{entry.describe()}: status {status}, recorded {entry.status}: {payload[:300]!r}")
            return problems
        has_type = any(name.lower() == "content-type" for name in headers)
        if has_type != entry.response_content_type:
            presence = "present" if has_type else "absent"
            problems.append(f"{entry.describe()}: Content-Type {presence}, recorded the other way")
        if entry.response_body is None:
            if payload:
                problems.append(f"{entry.describe()}: a body where the recording has none: {payload[:200]!r}")
        else:
            problems += self.compare(entry, entry.response_body, answer, "")
        if not entry.is_identity:
            self.learn(entry, answer)
        return problems

    # MARK: Comparing

    def reverse(self, key: str) -> str:
        """Our id as the recording knows it (dict keys can be ids, e.g. approvers)."""
        for mapping in (self.runs, self.tasks, self.requests):
            for recorded, ours in mapping.items():
                if ours == key:
                    return recorded
        return key

    def allowed(self, entry: Entry, where: str, key: str, direction: str) -> bool:
        place = re.sub(r"\[[^\]]*\]", "[]", where)
        for table, label in ((CONDITIONAL_FIELDS, "conditional"), (SEED_SPEC_FIELDS, "seed spec")):
            if table.get((entry.operation, place, key)) == direction:
                self.allowlisted.append(f"{entry.operation}: {direction} {place}.{key} ({label})")
                return True
        return False

    def compare(self, entry: Entry, recorded: Any, ours: Any, where: str) -> list[str]:
        if isinstance(recorded, dict):
            if not isinstance(ours, dict):
                return [f"{entry.describe()}: {where or 'body'} is {type(ours).__name__}, recorded an object"]
            self.objects_compared += 1
            ours_by_key = {self.reverse(key): value for key, value in ours.items()}
            recorded_keys, our_keys = set(recorded), set(ours_by_key)
            self.keys_compared += len(recorded_keys)
            problems = []
            for key in sorted(recorded_keys - our_keys):
                if not self.allowed(entry, where, key, "missing"):
                    problems.append(f"{entry.describe()}: {where}.{key} missing (recorded)")
            for key in sorted(our_keys - recorded_keys):
                if not self.allowed(entry, where, key, "extra"):
                    problems.append(f"{entry.describe()}: {where}.{key} not in the recording")
            for key in sorted(recorded_keys & our_keys):
                problems += self.compare(entry, recorded[key], ours_by_key[key], f"{where}.{key}")
            return problems
        if isinstance(recorded, list):
            if not isinstance(ours, list):
                return [f"{entry.describe()}: {where} is {type(ours).__name__}, recorded an array"]
            if not recorded or not ours:
                return []
            if all(isinstance(item, dict) and "id" in item for item in recorded + ours):
                ours_by_id = {self.reverse(item["id"]).lower(): item for item in ours}
                problems = []
                if len(ours) != len(recorded):
                    problems.append(f"{entry.describe()}: {where} has {len(ours)} items, recorded {len(recorded)}")
                for item in recorded:
                    partner = ours_by_id.get(item["id"].lower())
                    if partner is None:
                        problems.append(f"{entry.describe()}: {where} lacks the item standing for {item['id']}")
                    else:
                        problems += self.compare(entry, item, partner, f"{where}[{item['id'][:8]}]")
                return problems
            return self.compare(entry, recorded[0], ours[0], f"{where}[0]")
        return []


# MARK: - The tests


def emulator_config() -> dict[str, Any]:
    """The recordings' directory: every principal they imply, with made-up client ids and secrets."""
    return {
        "tenantId": str(uuid.uuid4()),
        "adminToken": f"admin-{uuid.uuid4().hex}",
        "accountName": "test-create-account",
        # As the recorded token answers (expires_in 3599): below the 2 h from which Azure AD adds refresh_in.
        "tokenLifetimeSeconds": 3599,
        "principals": [
            {
                "clientId": str(uuid.uuid4()),
                "clientSecret": f"secret-{uuid.uuid4().hex}",
                "objectId": object_id,
                "name": f"principal-{object_id[:8]}",
                "email": f"{object_id[:8]}@contoso.example",
            }
            for object_id in WORLD.principals
        ],
    }


def test_world_is_what_the_recordings_show():
    """The directory derived from the recordings: the suites' own identity acts, the approver the live
    service could not find is left out (so its runs fail as recorded), the others are present."""
    assert WORLD.default_actor == "00000000-0000-0000-0000-000000000000"
    assert "eece94d9-0619-4669-bb8a-d6ecec5220bc" in WORLD.unknown_users
    assert "eece94d9-0619-4669-bb8a-d6ecec5220bc" not in WORLD.principals
    for expected in ("285c34a9-c3d0-4a53-8eed-e2e3eaecb662", "ed67245e-fa55-48a4-8cbd-dc4b97e146ab"):
        assert expected in WORLD.principals
    assert len(RECORDINGS) >= 18, sorted(RECORDINGS)


@pytest.mark.parametrize("name", sorted(RECORDINGS))
def test_recording_replays(name, launch_emulator, replay_summary):
    entries = RECORDINGS[name]
    assert entries, f"{name} holds no Purview or Azure AD traffic"
    emulator = launch_emulator(emulator_config(), "replay")
    replayer = Replayer(emulator, name)
    problems: list[str] = []
    try:
        for entry in entries:
            problems += replayer.replay(entry)
    finally:
        exit_code = emulator.stop()
    counts = collections.Counter(entry.operation for entry in entries)
    operations = ", ".join(f"{operation} x{n}" if n > 1 else operation for operation, n in counts.items())
    replay_summary.append(
        f"{name}: {len(entries)} requests ({operations}); "
        f"{replayer.objects_compared} objects / {replayer.keys_compared} keys compared; "
        f"prepared: {', '.join(replayer.prepared) or 'nothing'}; "
        f"allowlisted: {', '.join(sorted(set(replayer.allowlisted))) or 'none'}"
        + (f"; {len(problems)} MISMATCHES" if problems else "")
    )
    assert not problems, "\n".join(problems)
    assert exit_code == 0, f"the emulator exited with {exit_code} after SIGTERM:\n{emulator.log_tail()}"
    assert replayer.keys_compared > 0 or all(entry.response_body is None for entry in entries)
