import PurviewWorkflow
import Testing

@testable import PurviewEmulator

/// A valid one-action workflow, changed by `edit` on its action map.
private func workflow(_ actions: JSONObject, triggers: JSONValue = [["type": "when_term_creation_is_requested"]])
    -> JSONValue
{
    [
        "name": "wf", "description": "", "isEnabled": true, "triggers": triggers,
        "actionDag": ["actions": .object(actions)],
    ]
}

private let email: JSONValue = [
    "type": "EmailNotification",
    "inputs": ["parameters": ["emailSubject": "s", "emailMessage": "m", "emailRecipients": ["a@contoso.com"]]],
    "runAfter": [:],
]

private func violations(_ definition: JSONValue) -> [WorkflowViolation] { WorkflowValidator.validate(definition) }

@Suite struct WorkflowValidation {
    @Test func realDefinitionsHaveNoViolations() {
        for text in [
            Fixtures.createWorkflowCommand2023, Fixtures.validateWorkflowCommand2023, Fixtures.javaPutRequest,
        ] {
            #expect(violations(json(text)).isEmpty)
        }
        #expect(violations(approvalWorkflow()).isEmpty)
    }

    @Test func unknownActionType() {
        let found = violations(workflow(["Grant": ["type": "WaitForApproval", "runAfter": [:]]]))
        #expect(
            found == [
                .action("Grant", "The action type 'WaitForApproval' of action 'Grant' is not supported.")
            ])
        #expect(
            found[0].json
                == json(
                    #"{"severity":"error","location":{"type":"action","actionName":"Grant"},"message":"The action type 'WaitForApproval' of action 'Grant' is not supported."}"#
                ))
    }

    @Test func missingType() {
        #expect(violations(workflow(["A": ["runAfter": [:]]])) == [.action("A", "The action 'A' has no 'type'.")])
    }

    @Test func runAfterNamingAMissingSibling() {
        let found = violations(
            workflow(["Mail": email.objectValue!.setting("runAfter", ["Ghost": ["Succeeded"]]).json]))
        #expect(
            found == [
                .action("Mail", "The action 'Mail' runs after 'Ghost', which is not an action in the same scope.")
            ])
    }

    @Test func runAfterNamingAnActionInAnotherScope() {
        var definition = approvalWorkflow().objectValue!
        var dag = definition["actionDag"]!.objectValue!
        var actions = dag["actions"]!.objectValue!
        actions["Late"] = email.objectValue!.setting("runAfter", ["Create glossary term": ["Succeeded"]]).json
        dag["actions"] = .object(actions)
        definition["actionDag"] = .object(dag)
        #expect(
            violations(.object(definition)).map(\.message) == [
                "The action 'Late' runs after 'Create glossary term', which is not an action in the same scope."
            ])
    }

    @Test func badRunAfterStatus() {
        let found = violations(
            workflow([
                "A": email, "B": email.objectValue!.setting("runAfter", ["A": ["Done"]]).json,
            ]))
        #expect(found.count == 1)
        #expect(found.first?.locationType == .action)
        #expect(found.first?.actionName == "B")
        #expect(found.first?.message.contains("runAfter status 'Done'") == true)
    }

    @Test func cycles() {
        let found = violations(
            workflow([
                "A": email.objectValue!.setting("runAfter", ["C": ["Succeeded"]]).json,
                "B": email.objectValue!.setting("runAfter", ["A": ["Succeeded"]]).json,
                "C": email.objectValue!.setting("runAfter", ["B": ["Succeeded"]]).json,
                "D": email,
            ]))
        #expect(found.count == 1)
        #expect(found.first?.locationType == .action)
        #expect(found.first?.actionName == "A")
        #expect(found.first?.message == "The actions form a cycle through runAfter: 'A' -> 'C' -> 'B' -> 'A'.")
    }

    @Test func selfReference() {
        let found = violations(workflow(["A": email.objectValue!.setting("runAfter", ["A": ["Succeeded"]]).json]))
        #expect(found == [.action("A", "The action 'A' cannot run after itself.")])
    }

    @Test func missingRequiredParameters() {
        let found = violations(
            workflow([
                "Approve": ["type": "Approval", "inputs": ["parameters": [:]], "runAfter": [:]],
                "Mail": ["type": "EmailNotification", "inputs": ["parameters": ["emailSubject": 3]], "runAfter": [:]],
            ]))
        let locations = found.map { "\($0.actionName ?? "")/\($0.parameterKey ?? "")" }
        #expect(
            locations == [
                "Approve/title", "Approve/assignedTo", "Approve/approvalType", "Mail/emailSubject", "Mail/emailMessage",
                "Mail/emailRecipients",
            ])
        #expect(found.allSatisfy { $0.locationType == .actionParameter && $0.severity == .error })
        #expect(found[0].message == "The required parameter 'title' of action 'Approve' is missing.")
        #expect(found[3].message == "The parameter 'emailSubject' of action 'Mail' must be a string.")
    }

    @Test func invalidApprovalTypeAndSettings() {
        let found = violations(
            workflow([
                "Approve": [
                    "type": "Approval",
                    "inputs": [
                        "parameters": [
                            "approvalType": "PendingOnMost", "title": "t", "assignedTo": ["a@contoso.com"],
                            "reminderSettings": ["interval": "every day"],
                            "expirySettings": ["expireAfter": "1 month", "notifyOnExpiration": "x"],
                        ]
                    ],
                    "runAfter": [:],
                ]
            ]))
        #expect(found.map(\.parameterKey) == ["approvalType", "reminderSettings", "expirySettings"])
    }

    @Test func badExpressionsAreLocatedAtTheirParameter() {
        let mail = email.objectValue!.setting(
            "inputs",
            [
                "parameters": [
                    "emailSubject": "@{runInput(}", "emailMessage": "@{startsWith()}", "emailRecipients": ["@{nope()}"],
                ]
            ])
        let found = violations(workflow(["Email notification action": mail.json]))
        #expect(found.map(\.parameterKey) == ["emailSubject", "emailMessage", "emailRecipients"])
        #expect(found.map(\.locationType) == [.actionParameter, .actionParameter, .actionParameter])
        #expect(found[0].message.contains("is not valid"))
        #expect(found[2].message == "The template function 'nope' is not defined or not valid.")
        // The service's own example answer for this problem.
        let example = json(Fixtures.validateWorkflowResponse2023)["value"]?[0]
        #expect(found[1].json == example)
    }

    @Test func outputsOfAnUnknownAction() {
        let mail = email.objectValue!.setting(
            "inputs",
            [
                "parameters": [
                    "emailSubject": "@{outputs('Ghost')['outcome']}", "emailMessage": "m", "emailRecipients": ["x"],
                ]
            ])
        let found = violations(workflow(["Mail": mail.json]))
        #expect(
            found.map(\.message) == ["The action 'Ghost' referenced by 'outputs()' is not defined in the workflow."])
    }

    @Test func conditionProblems() {
        let found = violations(
            workflow([
                "No expression": ["type": "If", "actions": [:], "runAfter": [:]],
                "Bad operator": [
                    "type": "If", "expression": ["similar": ["a", "b"]], "actions": [:], "runAfter": [:],
                ],
                "Bad arity": [
                    "type": "If", "expression": ["and": [["equals": ["a"]]]], "actions": [:], "runAfter": [:],
                ],
                "Bad operand": [
                    "type": "If", "expression": ["or": [["equals": ["@{runInput(", "b"]]]], "actions": [:],
                    "runAfter": [:],
                ],
            ]))
        #expect(found.map(\.actionName) == ["No expression", "Bad operator", "Bad arity", "Bad operand"])
        #expect(found.allSatisfy { $0.parameterKey == "expression" })
        #expect(found[1].message == "The condition operator 'similar' is not supported.")
    }

    @Test func nestedActionsAreValidatedAndNamesAreUnique() {
        let found = violations(
            workflow([
                "Outer": [
                    "type": "If", "expression": true,
                    "actions": ["Inner": ["type": "Bogus", "runAfter": [:]]],
                    "else": ["actions": ["Outer": email]], "runAfter": [:],
                ]
            ]))
        #expect(
            found.map(\.message) == [
                "The action name 'Outer' is used more than once.",
                "The action type 'Bogus' of action 'Inner' is not supported.",
            ])
    }

    @Test func workflowLevelProblems() {
        let found = violations(
            [
                "name": "", "isEnabled": "yes",
                "triggers": [
                    ["type": "when_pigs_fly"],
                    ["type": "when_term_creation_is_requested", "underGlossaryHierarchy": "/folders/x"],
                    ["type": "when_asset_update_is_requested", "underCollection": ""],
                ],
            ])
        #expect(found.allSatisfy { $0.locationType == .workflow && $0.actionName == nil })
        #expect(found.filter { $0.severity == .error }.count == 6)
        #expect(found.last?.severity == .warning)
        #expect(found.last?.message == "The workflow has no actions.")
        #expect(found.contains { $0.message.hasPrefix("The trigger type 'when_pigs_fly' is not supported") })
        #expect(found.contains { $0.message.contains("'/folders/x'") })
        #expect(
            violations(["name": "x", "description": "", "isEnabled": true]).first?.message.contains("triggers") == true)
    }

    @Test func engineValidateAnswersValueAndErrors() throws {
        var engine = makeEngine()
        let answer = try engine.validateWorkflow(
            id: "4afb5752-e47f-43a1-8ba7-c696bf8d2745", body: workflow(["A": ["type": "Nope", "runAfter": [:]]]),
            caller: People.admin)
        #expect(answer["value"]?.arrayValue?.count == 1)
        #expect(answer["errors"] == answer["value"])
        let clean = try engine.validateWorkflow(
            id: "4afb5752-e47f-43a1-8ba7-c696bf8d2745", body: json(Fixtures.validateWorkflowCommand2023),
            caller: People.admin)
        #expect(clean == ["value": [], "errors": []])
        let error = emulatorError { _ = try engine.validateWorkflow(id: "not-a-uuid", body: [:], caller: People.admin) }
        #expect(error?.kind == .badRequest)
        #expect(error?.target == "workflowId")
    }

    @Test func putRefusesInvalidDefinitionsWithOneDetailPerViolation() {
        var engine = makeEngine()
        let error = emulatorError {
            try engine.put(workflow(["A": ["type": "Nope", "runAfter": ["Ghost": ["Succeeded"]]]]))
        }
        #expect(error?.statusCode == 400)
        #expect(error?.code == "Workflow.InvalidWorkflowDefinition")
        #expect(error?.details.count == 2)
        #expect(error?.details.first?.target == "A")
        #expect(error?.message.hasSuffix("(and 1 more problems)") == true)
        #expect(error?.envelope["error"]?["details"]?.arrayValue?.count == 2)
        #expect(emulatorError { try engine.put(.string("x")) }?.code == "Workflow.InvalidRequest")
        #expect(engine.listWorkflows(caller: People.admin).value.isEmpty)
    }
}

extension JSONObject {
    fileprivate var json: JSONValue { .object(self) }
}
