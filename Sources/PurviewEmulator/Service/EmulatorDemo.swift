import PurviewWorkflow

extension EmulatorConfig {
    /// The fixed, well-known identities and workflows of the demo configuration (docs/EMULATOR.md).
    /// Secrets here are public on purpose: the demo only ever runs on a developer's machine.
    public enum Demo {
        public static let tenantId = "7e1a0000-0000-4000-8000-000000000001"
        public static let accountName = "contoso"
        public static let adminToken = "emulator-admin-token"

        /// The gateway's own application: it submits requests and polls runs.
        public static let gatewayClientId = "9a7e0000-0000-4000-8000-000000000001"
        public static let gatewayClientSecret = "gateway-demo-secret"
        public static let gatewayObjectId = "9a7e0000-0000-4000-8000-0000000000a1"

        /// Ada, the approver of both workflows.
        public static let approverClientId = "ada00000-0000-4000-8000-000000000002"
        public static let approverClientSecret = "ada-demo-secret"
        public static let approverObjectId = "ada00000-0000-4000-8000-0000000000a2"
        public static let approverEmail = "ada@contoso.com"

        /// An administrator (sees every run, may cancel any).
        public static let adminClientId = "ad000000-0000-4000-8000-000000000003"
        public static let adminClientSecret = "admin-demo-secret"
        public static let adminObjectId = "ad000000-0000-4000-8000-0000000000a3"

        /// Approval by Ada, then CreateTerm if approved, else an email to the requestor.
        public static let termCreationWorkflowId = "7e000000-0000-4000-8000-00000000f001"
        /// Approval by Ada, then GrantDataAccess if approved, else an email to the requestor.
        public static let dataAccessWorkflowId = "7e000000-0000-4000-8000-00000000f002"
    }

    /// The demo configuration: three principals (the gateway, the approver Ada, an administrator) and
    /// two workflows (term creation and data access, each approved by Ada), all with the ids in ``Demo``.
    public static func demo(tokenLifetimeSeconds: Int = 3600) -> EmulatorConfig {
        EmulatorConfig(
            tenantId: Demo.tenantId, adminToken: Demo.adminToken,
            principals: [
                Principal(
                    clientId: Demo.gatewayClientId, clientSecret: Demo.gatewayClientSecret,
                    objectId: Demo.gatewayObjectId, name: "Purview Gateway", email: "gateway@contoso.com"),
                Principal(
                    clientId: Demo.approverClientId, clientSecret: Demo.approverClientSecret,
                    objectId: Demo.approverObjectId, name: "Ada", email: Demo.approverEmail),
                Principal(
                    clientId: Demo.adminClientId, clientSecret: Demo.adminClientSecret, objectId: Demo.adminObjectId,
                    name: "Admin", email: "admin@contoso.com", isAdministrator: true),
            ],
            workflows: [
                approvalWorkflow(
                    id: Demo.termCreationWorkflowId, name: "Approve new glossary terms",
                    description: "Ada approves every new glossary term before it is created.",
                    trigger: "when_term_creation_is_requested", operation: "CreateTerm",
                    approvedTitle: "Create glossary term", subjectNoun: "Glossary term",
                    targetExpression: "@{runInput()['term']['name']}"),
                approvalWorkflow(
                    id: Demo.dataAccessWorkflowId, name: "Approve data access",
                    description: "Ada approves every data access grant.",
                    trigger: "when_data_access_grant_is_requested", operation: "GrantDataAccess",
                    approvedTitle: "Grant data access", subjectNoun: "Data access request",
                    targetExpression: "@{runInput()['requestor']}"),
            ],
            accountName: Demo.accountName, tokenLifetimeSeconds: tokenLifetimeSeconds)
    }

    private static func approvalWorkflow(
        id: String, name: String, description: String, trigger: String, operation: String, approvedTitle: String,
        subjectNoun: String, targetExpression: String
    ) -> JSONValue {
        let approval = "Approval by Ada"
        return [
            "id": .string(id), "name": .string(name), "description": .string(description), "isEnabled": true,
            "triggers": [["type": .string(trigger)]],
            "actionDag": [
                "actions": [
                    approval: [
                        "type": "Approval",
                        "inputs": [
                            "parameters": [
                                "approvalType": "PendingOnAny", "title": .string("\(subjectNoun) needs approval"),
                                "assignedTo": [.string(Demo.approverEmail)],
                            ]
                        ],
                        "runAfter": [:],
                    ],
                    "Approved?": [
                        "type": "If",
                        "expression": [
                            "and": [["equals": [.string("@{outputs('\(approval)')['outcome']}"), "Approved"]]]
                        ],
                        "actions": [approvedTitle: ["type": .string(operation), "runAfter": [:]]],
                        "else": [
                            "actions": [
                                "Tell the requestor": [
                                    "type": "EmailNotification",
                                    "inputs": [
                                        "parameters": [
                                            "emailSubject": .string("\(subjectNoun) rejected"),
                                            "emailMessage": .string(
                                                "Your request (\(targetExpression)) was rejected."),
                                            "emailRecipients": ["@{runInput()['requestor']}"],
                                        ]
                                    ],
                                    "runAfter": [:],
                                ]
                            ]
                        ],
                        "runAfter": [approval: ["Succeeded"]],
                    ],
                ]
            ],
        ]
    }
}
