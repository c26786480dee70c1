import Foundation
import PurviewWorkflow
import Testing

@testable import PurviewEmulator

/// Parses JSON text with Foundation and converts it to JSONValue (object key order is not kept).
func json(_ text: String) -> JSONValue {
    let object = try! JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    return jsonValue(object)
}

func jsonValue(_ any: Any) -> JSONValue {
    switch any {
    case is NSNull:
        return .null
    case let text as String:
        return .string(text)
    case let number as NSNumber:
        // Foundation's booleans are NSNumbers of Objective-C type "c".
        if String(cString: number.objCType) == "c" { return .bool(number.boolValue) }
        return .number(number.doubleValue)
    case let items as [Any]:
        return .array(items.map(jsonValue))
    case let object as [String: Any]:
        return .object(JSONObject(object.sorted { $0.key < $1.key }.map { ($0.key, jsonValue($0.value)) }))
    default:
        fatalError("unexpected JSON value \(any)")
    }
}

/// 2024-01-01T00:00:00Z.
let testEpoch = Date(timeIntervalSince1970: 1_704_067_200)

enum People {
    static let requestor = "11111111-1111-1111-1111-111111111111"
    static let alice = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"
    static let bob = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"
    static let carol = "cccccccc-cccc-cccc-cccc-cccccccccccc"
    static let admin = "dddddddd-dddd-dddd-dddd-dddddddddddd"
    static let stranger = "eeeeeeee-eeee-eeee-eeee-eeeeeeeeeeee"
}

let glossaryGuid = "20031e20-b4df-4a66-a61d-1b0716f3fa48"

func makeEngine(accountName: String = "contoso") -> EmulatorEngine {
    EmulatorEngine(
        configuration: EmulatorConfiguration(
            accountName: accountName,
            principals: [
                EmulatorPrincipal(objectId: People.alice, email: "alice@contoso.com", displayName: "Alice"),
                EmulatorPrincipal(objectId: People.bob, email: "bob@contoso.com"),
                EmulatorPrincipal(objectId: People.carol, email: "carol@contoso.com"),
                EmulatorPrincipal(objectId: People.admin, email: "admin@contoso.com", isAdministrator: true),
            ]),
        clock: FixedClock(testEpoch), ids: SequentialIDGenerator(startingAt: 1000))
}

/// The spec example's workflow: approval, then If on the outcome: CreateTerm and an email when
/// approved, a rejection email otherwise.
func approvalWorkflow(
    approvalType: String = "PendingOnAny", assignedTo: [JSONValue] = [.string(People.alice)],
    trigger: JSONValue = ["type": "when_term_creation_is_requested"], extraApprovalParameters: JSONObject = [:],
    isEnabled: Bool = true, name: String = "Create glossary term workflow"
) -> JSONValue {
    var parameters: JSONObject = [
        "approvalType": .string(approvalType), "title": "Approval Request for Create Glossary Term",
        "assignedTo": .array(assignedTo),
    ]
    for (key, value) in extraApprovalParameters { parameters[key] = value }
    return [
        "name": .string(name), "description": "", "isEnabled": .bool(isEnabled), "triggers": [trigger],
        "actionDag": [
            "actions": [
                "Start and wait for an approval": [
                    "type": "Approval", "inputs": ["parameters": .object(parameters)], "runAfter": [:],
                ],
                "Condition": [
                    "type": "If",
                    "expression": [
                        "and": [["equals": ["@{outputs('Start and wait for an approval')['outcome']}", "Approved"]]]
                    ],
                    "actions": [
                        "Create glossary term": ["type": "CreateTerm", "runAfter": [:]],
                        "Send email notification": [
                            "type": "EmailNotification",
                            "inputs": [
                                "parameters": [
                                    "emailSubject": "Glossary Term Create - APPROVED",
                                    "emailMessage":
                                        "Your request for Glossary Term @{runInput()['term']['name']} is approved.",
                                    "emailRecipients": ["@{runInput()['requestor']}"],
                                ]
                            ],
                            "runAfter": ["Create glossary term": ["Succeeded"]],
                        ],
                    ],
                    "else": [
                        "actions": [
                            "Send reject email notification": [
                                "type": "EmailNotification",
                                "inputs": [
                                    "parameters": [
                                        "emailSubject": "Glossary Term Create - REJECTED",
                                        "emailMessage":
                                            "Your request for Glossary Term @{runInput()['term']['name']} is rejected.",
                                        "emailRecipients": ["@{runInput()['requestor']}"],
                                    ]
                                ],
                                "runAfter": [:],
                            ]
                        ]
                    ],
                    "runAfter": ["Start and wait for an approval": ["Succeeded"]],
                ],
            ]
        ],
    ]
}

func createTermRequest(name: String = "term", glossary: String = glossaryGuid, extra: JSONObject = [:]) -> JSONValue {
    var term: JSONObject = [
        "name": .string(name), "anchor": ["glossaryGuid": .string(glossary)], "status": "Approved",
        "nickName": .string(name),
    ]
    for (key, value) in extra { term[key] = value }
    return ["operations": [["type": "CreateTerm", "payload": ["glossaryTerm": .object(term)]]], "comment": "Thanks!"]
}

extension EmulatorEngine {
    /// PUTs a workflow with a fresh sequential-looking id and returns the id.
    @discardableResult
    mutating func put(_ definition: JSONValue, id: String = "4afb5752-e47f-43a1-8ba7-c696bf8d2745") throws -> String {
        _ = try createOrReplaceWorkflow(id: id, body: definition, caller: People.admin)
        return id
    }

    /// Submits and returns (response, first run id or nil).
    mutating func submit(_ body: JSONValue, as caller: String = People.requestor) throws -> (JSONValue, String?) {
        let response = try submitUserRequest(body: body, caller: caller)
        return (response, response["workflowRunIds"]?[0]?.stringValue)
    }

    mutating func run(_ id: String) throws -> JSONValue { try getWorkflowRun(id: id, caller: People.requestor) }

    mutating func task(_ id: String) throws -> JSONValue { try getWorkflowTask(id: id, caller: People.requestor) }

    /// The task id the named action of a run waits for.
    func taskId(run: String, action: String = "Start and wait for an approval") -> String? {
        state.runs[run]?.actions[action]?.taskId
    }
}

/// Runs `body` and returns the EmulatorError it throws (or records an issue).
func emulatorError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> EmulatorError? {
    do {
        try body()
        Issue.record("expected an EmulatorError", sourceLocation: sourceLocation)
        return nil
    } catch let error as EmulatorError {
        return error
    } catch {
        Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
