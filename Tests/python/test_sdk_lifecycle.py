"""Microsoft's Python SDK (azure-purview-workflow 1.0.0b2 + azure-identity) against the emulator over
https, used exactly as a user would point it at a Purview account (docs/PURVIEW.md §9): tokens come
from the emulator's token endpoint through ClientSecretCredential, calls go through
PurviewWorkflowClient, and every assertion reads the SDK's parsed answers or its exceptions.

The full lifecycle: create a workflow with an approval, list, get, validate, submit a CreateTerm
request, list and get runs and tasks, approve (run completes, term recorded), reject (else branch),
reassign, cancel, delete; 401 for a wrong secret and for bad bearer tokens; 404 for unknown ids.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.identity import ClientSecretCredential
from azure.purview.workflow import PurviewWorkflowClient

API_2022 = "2022-05-01-preview"
APPROVAL = "Start and wait for an approval"
CONDITION = "Condition"
CREATE_TERM = "Create glossary term"
APPROVED_EMAIL = "Send email notification"
REJECTED_EMAIL = "Send reject email notification"


def new_principal(name: str) -> dict[str, Any]:
    return {
        "clientId": str(uuid.uuid4()),
        "clientSecret": f"{name}-secret-{uuid.uuid4().hex}",
        "objectId": str(uuid.uuid4()),
        "name": name,
        "email": f"{name}@contoso.example",
    }


@pytest.fixture(scope="session")
def emulator(launch_emulator):
    """An emulator with a requester app, an approver and a second approver (for reassignment)."""
    principals = {name: new_principal(name) for name in ("requester", "approver", "second-approver")}
    config = {
        "tenantId": str(uuid.uuid4()),
        "adminToken": f"admin-{uuid.uuid4().hex}",
        "accountName": "sdk-lifecycle",
        "tokenLifetimeSeconds": 3599,
        "principals": list(principals.values()),
    }
    yield launch_emulator(config, "sdk-lifecycle")


def credential_for(emulator, principal: dict[str, Any], secret: str | None = None) -> ClientSecretCredential:
    return ClientSecretCredential(
        emulator.tenant_id,
        principal["clientId"],
        secret if secret is not None else principal["clientSecret"],
        authority=emulator.url,
        disable_instance_discovery=True,
        connection_verify=emulator.ca_file,
    )


def client_with(emulator, credential, **options) -> PurviewWorkflowClient:
    return PurviewWorkflowClient(
        endpoint=emulator.url, credential=credential, connection_verify=emulator.ca_file, **options
    )


@pytest.fixture(scope="session")
def clients(emulator):
    """One SDK client per principal, each with its own ClientSecretCredential."""
    made = {
        name: client_with(emulator, credential_for(emulator, principal))
        for name, principal in emulator.principals.items()
    }
    yield made
    for client in made.values():
        client.close()


def oid(emulator, name: str) -> str:
    return emulator.principals[name]["objectId"]


def approval_workflow(glossary: str, approvers: list[str], name: str) -> dict[str, Any]:
    """The published "create glossary term" workflow (spec example and Java recording): an approval,
    then CreateTerm and an email when approved, a rejection email otherwise. Legacy expressions, as
    the example writes them; action names with spaces."""
    return {
        "name": name,
        "description": "Term creation needs an approval",
        "isEnabled": True,
        "triggers": [{"type": "when_term_creation_is_requested", "underGlossaryHierarchy": f"/glossaries/{glossary}"}],
        "actionDag": {
            "actions": {
                APPROVAL: {
                    "type": "Approval",
                    "inputs": {
                        "parameters": {
                            "approvalType": "PendingOnAll",
                            "title": "Approval Request for Create Glossary Term",
                            "assignedTo": approvers,
                        }
                    },
                    "runAfter": {},
                },
                CONDITION: {
                    "type": "If",
                    "expression": {"and": [{"equals": [f"@outputs('{APPROVAL}')['body/outcome']", "Approved"]}]},
                    "actions": {
                        CREATE_TERM: {"type": "CreateTerm", "runAfter": {}},
                        APPROVED_EMAIL: {
                            "type": "EmailNotification",
                            "inputs": {
                                "parameters": {
                                    "emailSubject": "Glossary Term Create - APPROVED",
                                    "emailMessage": "Your request for Glossary Term "
                                    "@{triggerBody()['request']['term']['name']} is approved.",
                                    "emailRecipients": ["@{triggerBody()['request']['requestor']}"],
                                }
                            },
                            "runAfter": {CREATE_TERM: ["Succeeded"]},
                        },
                    },
                    "else": {
                        "actions": {
                            REJECTED_EMAIL: {
                                "type": "EmailNotification",
                                "inputs": {
                                    "parameters": {
                                        "emailSubject": "Glossary Term Create - REJECTED",
                                        "emailMessage": "Your request for Glossary Term "
                                        "@{triggerBody()['request']['term']['name']} is rejected.",
                                        "emailRecipients": ["@{triggerBody()['request']['requestor']}"],
                                    }
                                },
                                "runAfter": {},
                            }
                        }
                    },
                    "runAfter": {APPROVAL: ["Succeeded"]},
                },
            }
        },
    }


def term_request(glossary: str, term: str, comment: str) -> dict[str, Any]:
    return {
        "operations": [
            {
                "type": "CreateTerm",
                "payload": {
                    "glossaryTerm": {
                        "name": term,
                        "anchor": {"glossaryGuid": glossary},
                        "nickName": term,
                        "status": "Approved",
                    }
                },
            }
        ],
        "comment": comment,
    }


class Scenario:
    """A workflow with its own glossary scope, so its runs are only the ones a test starts."""

    def __init__(self, emulator, clients, approvers: list[str], label: str):
        self.emulator = emulator
        self.clients = clients
        self.glossary = str(uuid.uuid4())
        self.workflow_id = str(uuid.uuid4())
        self.definition = approval_workflow(self.glossary, approvers, f"Create glossary term ({label})")
        self.created = clients["requester"].workflow.create_or_replace(self.workflow_id, self.definition)

    def submit(self, term: str) -> tuple[dict[str, Any], str]:
        """Submits a CreateTerm request as the requester; the answer and its one run id."""
        answer = self.clients["requester"].user_requests.submit(term_request(self.glossary, term, f"please add {term}"))
        run_ids = answer["operations"][0]["workflowRunIds"]
        assert len(run_ids) == 1, answer
        return answer, run_ids[0]

    def task_of(self, run_id: str, viewer: str = "approver") -> dict[str, Any]:
        tasks = [
            task
            for task in self.clients[viewer].workflow_tasks.list(view_mode="received", workflow_ids=[self.workflow_id])
            if task["workflowRunId"] == run_id
        ]
        assert len(tasks) == 1, tasks
        return tasks[0]


@pytest.fixture(scope="module")
def scenario(emulator, clients):
    return Scenario(emulator, clients, [oid(emulator, "approver")], "lifecycle")


# MARK: - Workflows


def test_create_workflow_echoes_server_fields(emulator, scenario):
    created = scenario.created
    requester = oid(emulator, "requester")
    assert created["id"] == scenario.workflow_id
    assert created["name"] == scenario.definition["name"]
    assert created["description"] == scenario.definition["description"]
    assert created["isEnabled"] is True
    assert created["triggers"] == scenario.definition["triggers"]
    assert created["createdBy"] == requester and created["updatedBy"] == requester
    assert created["createdTime"].endswith("Z") and created["lastUpdateTime"] == created["createdTime"]
    assert created["type"] == "UserManaged"
    actions = created["actionDag"]["actions"]
    # The echo keeps the definition as sent and adds the service's runtimeConfiguration defaults.
    assert actions[APPROVAL]["runtimeConfiguration"] == {"aggregateEmails": False}
    assert actions[CONDITION]["actions"][APPROVED_EMAIL]["runtimeConfiguration"] == {
        "secureInput": False,
        "secureOutput": False,
        "aggregateEmails": False,
    }
    assert "runtimeConfiguration" not in actions[CONDITION]["actions"][CREATE_TERM]
    assert actions[CONDITION]["expression"] == scenario.definition["actionDag"]["actions"][CONDITION]["expression"]


def test_replace_keeps_creation_and_bumps_update(emulator, clients):
    workflow_id = str(uuid.uuid4())
    definition = approval_workflow(str(uuid.uuid4()), [oid(emulator, "approver")], "replaced")
    first = clients["requester"].workflow.create_or_replace(workflow_id, definition)
    definition["isEnabled"] = False
    definition["description"] = "second version"
    second = clients["approver"].workflow.create_or_replace(workflow_id, definition)
    assert second["createdTime"] == first["createdTime"]
    assert second["createdBy"] == oid(emulator, "requester")
    assert second["updatedBy"] == oid(emulator, "approver")
    assert second["lastUpdateTime"] > first["lastUpdateTime"]
    assert second["isEnabled"] is False and second["description"] == "second version"


def test_list_and_get_workflow(clients, scenario):
    listed = {item["id"]: item for item in clients["requester"].workflows.list()}
    assert scenario.workflow_id in listed
    summary = listed[scenario.workflow_id]
    assert summary["name"] == scenario.definition["name"]
    assert "actionDag" not in summary, "lists carry metadata only"

    fetched = clients["approver"].workflow.get(scenario.workflow_id)
    assert fetched["id"] == scenario.workflow_id
    assert fetched["createdTime"] == scenario.created["createdTime"]
    # GET shows the expressions rewritten to the current forms, as the live service does.
    condition = fetched["actionDag"]["actions"][CONDITION]
    assert condition["expression"] == {"and": [{"equals": [f"@{{outputs('{APPROVAL}')['outcome']}}", "Approved"]}]}
    email = condition["actions"][APPROVED_EMAIL]["inputs"]["parameters"]
    assert email["emailRecipients"] == ["@{runInput()['requestor']}"]


def test_validate_reports_violations_only_for_a_broken_definition(emulator, clients, scenario):
    good = clients["requester"].workflow.validate(scenario.workflow_id, scenario.definition)
    assert good["value"] == []

    broken = approval_workflow(str(uuid.uuid4()), [oid(emulator, "approver")], "broken")
    approval = broken["actionDag"]["actions"][APPROVAL]
    del approval["inputs"]["parameters"]["assignedTo"]
    broken["actionDag"]["actions"][CONDITION]["runAfter"] = {"No such action": ["Succeeded"]}
    answer = clients["requester"].workflow.validate(scenario.workflow_id, broken)
    violations = answer["value"]
    assert violations, answer
    assert all(item["severity"] in ("error", "warning") and item["message"] for item in violations)
    located = {
        (item["location"]["type"], item["location"].get("actionName"), item["location"].get("parameterKey"))
        for item in violations
    }
    assert ("actionParameter", APPROVAL, "assignedTo") in located
    assert ("action", CONDITION, None) in located

    # The service refuses to store what validate flags.
    with pytest.raises(HttpResponseError) as refused:
        clients["requester"].workflow.create_or_replace(str(uuid.uuid4()), broken)
    assert refused.value.status_code == 400
    assert refused.value.error.code == "Workflow.InvalidWorkflowDefinition"


# MARK: - Requests, runs, tasks


def test_submit_then_approve_completes_the_run_and_creates_the_term(emulator, clients, scenario):
    requester, approver = oid(emulator, "requester"), oid(emulator, "approver")
    answer, run_id = scenario.submit("Revenue")
    assert answer["requestor"] == requester
    assert answer["status"] == "InProgress"
    assert answer["comment"] == "please add Revenue"
    assert answer["operations"][0]["type"] == "CreateTerm"
    assert answer["operations"][0]["payload"]["glossaryTerm"]["name"] == "Revenue"
    uuid.UUID(answer["requestId"])

    runs = clients["requester"].workflow_runs.list(workflow_ids=[scenario.workflow_id])
    listed = [run for run in runs if run["id"] == run_id]
    assert len(listed) == 1
    assert listed[0]["status"] == "InProgress"
    assert listed[0]["userRequestId"] == answer["requestId"]
    assert listed[0]["runPayload"] == {"type": "CreateTerm", "targetValue": "Revenue"}
    assert listed[0]["requestor"] == requester

    run = clients["requester"].workflow_run.get(run_id)
    assert run["status"] == "InProgress" and run["workflowId"] == scenario.workflow_id
    assert run["runPayload"]["payload"]["glossaryTerm"]["name"] == "Revenue"
    assert run["detail"]["actions"][APPROVAL]["status"] == "Running"
    assert run["detail"]["runInput"]["term"]["name"] == "Revenue"
    assert run["detail"]["runInput"]["requestor"] == requester

    task = scenario.task_of(run_id)
    assert task["type"] == "Approval"
    assert task["title"] == "Approval Request for Create Glossary Term"
    assert task["requestor"] == requester
    assert task["payload"] == {"type": "CreateTerm", "targetValue": "Revenue"}, "lists omit the inner payload"
    assert task["approvalDetail"]["approvers"] == {approver: {"reply": "Pending"}}
    sent = clients["requester"].workflow_tasks.list(view_mode="sent", workflow_ids=[scenario.workflow_id])
    assert task["id"] in [item["id"] for item in sent]

    detail = clients["approver"].workflow_task.get(task["id"])
    assert detail["approvalDetail"]["approvalType"] == "PendingOnAll"
    assert detail["approvalDetail"]["status"] == "Pending"
    assert detail["payload"]["payload"]["glossaryTerm"]["name"] == "Revenue"

    clients["approver"].approval.approve(task["id"], {"comment": "Looks right"})

    run = clients["requester"].workflow_run.get(run_id)
    assert run["status"] == "Completed" and run["endTime"] >= run["startTime"]
    actions = run["detail"]["actions"]
    assert actions[APPROVAL]["status"] == "Succeeded"
    assert actions[CREATE_TERM]["status"] == "Succeeded"
    assert actions[REJECTED_EMAIL]["status"] == "Skipped"
    decided = clients["requester"].workflow_task.get(task["id"])
    assert decided["approvalDetail"]["status"] == "Approved"
    reply = decided["approvalDetail"]["approvers"][approver]
    assert reply["reply"] == "Approved" and reply["comment"] == "Looks right" and reply["responseTime"]

    created_terms = [e for e in emulator.effects() if e.get("runId") == run_id]
    assert [(e["type"], e["payload"]["glossaryTerm"]["name"], e["requestor"]) for e in created_terms] == [
        ("CreateTerm", "Revenue", requester)
    ]
    mails = [m for m in emulator.emails() if m.get("runId") == run_id]
    assert [(m["subject"], m["recipients"]) for m in mails] == [("Glossary Term Create - APPROVED", [requester])]
    assert mails[0]["message"] == "Your request for Glossary Term Revenue is approved."

    # A decided approval takes no second answer.
    with pytest.raises(ResourceExistsError) as again:
        clients["approver"].approval.reject(task["id"], {"comment": "changed my mind"})
    assert again.value.status_code == 409


def test_reject_runs_the_else_branch(emulator, clients, scenario):
    requester = oid(emulator, "requester")
    _, run_id = scenario.submit("Churn")
    task = scenario.task_of(run_id)
    clients["approver"].approval.reject(task["id"], {"comment": "Duplicate of Attrition"})

    run = clients["requester"].workflow_run.get(run_id)
    assert run["status"] == "Completed"
    actions = run["detail"]["actions"]
    assert actions[REJECTED_EMAIL]["status"] == "Succeeded"
    assert actions[CREATE_TERM]["status"] == "Skipped"
    assert actions[APPROVED_EMAIL]["status"] == "Skipped"
    assert clients["approver"].workflow_task.get(task["id"])["approvalDetail"]["status"] == "Rejected"
    assert [e for e in emulator.effects() if e.get("runId") == run_id] == []
    mails = [(m["subject"], m["recipients"], m["message"]) for m in emulator.emails() if m.get("runId") == run_id]
    assert mails == [
        ("Glossary Term Create - REJECTED", [requester], "Your request for Glossary Term Churn is rejected.")
    ]


def test_reassign_hands_the_approval_to_the_second_approver(emulator, clients, scenario):
    first, second = oid(emulator, "approver"), oid(emulator, "second-approver")
    _, run_id = scenario.submit("Margin")
    task = scenario.task_of(run_id)

    # Not yet the second approver's to decide.
    with pytest.raises(HttpResponseError) as early:
        clients["second-approver"].approval.approve(task["id"], {"comment": "too early"})
    assert early.value.status_code == 403

    clients["approver"].workflow_task.reassign(
        task["id"], {"reassignments": [{"reassignFrom": first, "reassignTo": second}]}
    )
    moved = clients["second-approver"].workflow_task.get(task["id"])
    assert moved["approvalDetail"]["approvers"] == {second: {"reply": "Pending"}}
    assert task["id"] == scenario.task_of(run_id, viewer="second-approver")["id"]
    with pytest.raises(HttpResponseError) as gone:
        clients["approver"].approval.approve(task["id"], {"comment": "no longer mine"})
    assert gone.value.status_code == 403

    clients["second-approver"].approval.approve(task["id"], {"comment": "Approved on behalf"})
    run = clients["requester"].workflow_run.get(run_id)
    assert run["status"] == "Completed"
    assert [e["payload"]["glossaryTerm"]["name"] for e in emulator.effects() if e.get("runId") == run_id] == ["Margin"]


def test_cancel_by_the_requestor_cancels_run_and_task(emulator, clients, scenario):
    _, run_id = scenario.submit("Backlog")
    task = scenario.task_of(run_id)

    # Only the requestor (or an administrator) may cancel.
    with pytest.raises(HttpResponseError) as refused:
        clients["approver"].workflow_run.cancel(run_id, {"comment": "not mine"})
    assert refused.value.status_code == 403

    clients["requester"].workflow_run.cancel(run_id, {"comment": "Raised by mistake"})
    run = clients["requester"].workflow_run.get(run_id)
    assert run["status"] == "Canceled"
    assert run["cancelComment"] == "Raised by mistake" and run["cancelTime"]
    assert run["detail"]["actions"][APPROVAL]["status"] == "Canceled"
    listed = [r for r in clients["requester"].workflow_runs.list(run_statuses=["Canceled"]) if r["id"] == run_id]
    assert len(listed) == 1 and listed[0]["cancelComment"] == "Raised by mistake"
    assert clients["approver"].workflow_task.get(task["id"])["approvalDetail"]["status"] == "Canceled"
    with pytest.raises(ResourceExistsError):
        clients["approver"].approval.approve(task["id"], {"comment": "too late"})
    assert [e for e in emulator.effects() if e.get("runId") == run_id] == []


def test_run_and_task_lists_page_through_absolute_next_links(emulator, clients):
    paging = Scenario(emulator, clients, [oid(emulator, "approver")], "paging")
    run_ids = {paging.submit(f"Paged {index}")[1] for index in range(3)}
    runs = clients["requester"].workflow_runs.list(
        workflow_ids=[paging.workflow_id], orderby="startTime desc", maxpagesize=1
    )
    pages = list(runs.by_page())
    seen = [run["id"] for page in pages for run in page]
    assert len(pages) == 3 and set(seen) == run_ids
    task_pages = list(
        clients["approver"].workflow_tasks.list(workflow_ids=[paging.workflow_id], maxpagesize=2).by_page()
    )
    assert [len(list(page)) for page in task_pages] == [2, 1]


def test_delete_workflow_answers_204_then_get_is_not_found(emulator, clients):
    doomed = Scenario(emulator, clients, [oid(emulator, "approver")], "to delete")
    status = clients["requester"].workflow.delete(
        doomed.workflow_id, cls=lambda pipeline_response, _body, _headers: pipeline_response.http_response.status_code
    )
    assert status == 204
    with pytest.raises(ResourceNotFoundError) as missing:
        clients["requester"].workflow.get(doomed.workflow_id)
    assert missing.value.status_code == 404
    assert missing.value.error.code == "Workflow.WorkflowNotFound"
    assert doomed.workflow_id not in {item["id"] for item in clients["requester"].workflows.list()}
    # With the workflow gone, a request in its scope starts no run and is applied directly.
    answer = clients["requester"].user_requests.submit(term_request(doomed.glossary, "Orphan", "no workflow"))
    assert answer["operations"][0]["workflowRunIds"] == [] and answer["status"] == "Completed"


# MARK: - Errors


def test_wrong_client_secret_fails_in_azure_identity(emulator):
    requester = emulator.principals["requester"]
    credential = credential_for(emulator, requester, secret="not-the-secret")
    with client_with(emulator, credential) as client:
        with pytest.raises(ClientAuthenticationError) as refused:
            list(client.workflows.list())
    assert "AADSTS7000215" in str(refused.value), str(refused.value)


class StaticTokenCredential:
    """A TokenCredential that hands out a fixed bearer token, as custom credentials do."""

    def __init__(self, token: str):
        self.token = token
        self.calls = 0

    def get_token(self, *scopes, claims=None, tenant_id=None, enable_cae=False, **kwargs) -> AccessToken:
        self.calls += 1
        return AccessToken(self.token, int(time.time()) + 3600)


def forged_token(emulator) -> str:
    """A well-formed HS256 token with the right claims, signed with a key the emulator does not use."""

    def encode(part: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {
        "aud": "https://purview.azure.net",
        "tid": emulator.tenant_id,
        "oid": emulator.principals["requester"]["objectId"],
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
    }
    signing_input = encode({"alg": "HS256", "typ": "JWT"}) + "." + encode(claims)
    signature = hmac.new(b"some other key", signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


@pytest.mark.parametrize("kind", ["garbage", "forged signature", "token for another audience"])
def test_bad_bearer_token_is_refused_by_the_api(emulator, kind):
    if kind == "garbage":
        token = "not-a-token"
    elif kind == "forged signature":
        token = forged_token(emulator)
    else:
        token = emulator.token_for(emulator.principals["requester"], scope="https://graph.microsoft.com/.default")
    credential = StaticTokenCredential(token)
    with client_with(emulator, credential) as client:
        with pytest.raises(ClientAuthenticationError) as refused:
            client.workflow_run.get(str(uuid.uuid4()))
        with pytest.raises(ClientAuthenticationError):
            list(client.workflows.list())
    assert credential.calls >= 1
    assert refused.value.status_code == 401
    assert refused.value.error.code == "Unauthorized"
    assert refused.value.response.headers.get("WWW-Authenticate", "").startswith("Bearer")


def test_unknown_ids_raise_resource_not_found(clients):
    client = clients["requester"]
    unknown = str(uuid.uuid4())
    calls = {
        "get run": (lambda: client.workflow_run.get(unknown), "Workflow.WorkflowRunNotFound"),
        "cancel run": (lambda: client.workflow_run.cancel(unknown, {"comment": "x"}), "Workflow.WorkflowRunNotFound"),
        "get task": (lambda: client.workflow_task.get(unknown), "Workflow.TaskNotFound"),
        "approve task": (lambda: clients["approver"].approval.approve(unknown, {}), "Workflow.TaskNotFound"),
        "reject task": (lambda: clients["approver"].approval.reject(unknown, {}), "Workflow.TaskNotFound"),
        "get workflow": (lambda: client.workflow.get(unknown), "Workflow.WorkflowNotFound"),
        "delete workflow": (lambda: client.workflow.delete(unknown), "Workflow.WorkflowNotFound"),
    }
    for name, (call, code) in calls.items():
        with pytest.raises(ResourceNotFoundError) as missing:
            call()
        assert missing.value.status_code == 404, name
        assert missing.value.error.code == code, name
        assert unknown in missing.value.error.message, name


# MARK: - The older api-version


def test_2022_api_version_client(emulator, clients, scenario):
    credential = credential_for(emulator, emulator.principals["approver"])
    with client_with(emulator, credential, api_version=API_2022) as older:
        assert scenario.workflow_id in {item["id"] for item in older.workflows.list()}
        assert older.workflow.get(scenario.workflow_id)["name"] == scenario.definition["name"]
        _, run_id = scenario.submit("Older client")
        tasks = [t for t in older.workflow_tasks.list(view_mode="received") if t["workflowRunId"] == run_id]
        assert len(tasks) == 1
        older.approval.approve(tasks[0]["id"], {"comment": "via 2022-05-01-preview"})
        assert older.workflow_task.get(tasks[0]["id"])["approvalDetail"]["status"] == "Approved"
        assert clients["requester"].workflow_run.get(run_id)["status"] == "Completed"
        # Validation arrived with 2023-10-01-preview; the older version has no such operation.
        with pytest.raises(ResourceNotFoundError):
            older.workflow.validate(scenario.workflow_id, scenario.definition)


# MARK: - Identity


def test_msal_with_instance_discovery_pointed_at_the_emulator(emulator, monkeypatch):
    """MSAL (under azure-identity) validates an unknown authority through instance discovery unless
    told not to; given the emulator's discovery endpoint it goes the whole way: discovery, the
    tenant's OpenID document, then the token, which the API accepts."""
    import msal

    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's `verify`, so the CA goes
    # there, as docs/PURVIEW.md's environment recipe does.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emulator.ca_file)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    requester = emulator.principals["requester"]
    application = msal.ConfidentialClientApplication(
        requester["clientId"],
        client_credential=requester["clientSecret"],
        authority=f"{emulator.url}/{emulator.tenant_id}",
        instance_discovery=f"{emulator.url}/common/discovery/instance",
        verify=emulator.ca_file,
    )
    result = application.acquire_token_for_client(scopes=["https://purview.azure.net/.default"])
    assert "access_token" in result, result
    with client_with(emulator, StaticTokenCredential(result["access_token"])) as client:
        assert isinstance(list(client.workflows.list()), list)
    stats = emulator.admin("GET", "/_emulator/stats")["calls"]
    assert stats.get("POST /token", 0) >= 1
