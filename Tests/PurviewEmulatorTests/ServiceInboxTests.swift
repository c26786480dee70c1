import Foundation
import HTTP
import Networking
import PurviewWorkflow
import Testing

@testable import PurviewEmulator

/// The inbox page (`/_emulator/ui`) and the admin routes it calls, over real sockets.
@Suite(.serialized)
struct ServiceInboxTests {
    typealias Demo = EmulatorConfig.Demo
    static let admin: HTTPFields = ["Authorization": "Bearer " + Demo.adminToken]
    static let hostile = "<img src=x onerror=alert(1)>"

    static func asPrincipal(_ objectId: String, _ path: String) -> String { "/_emulator/as/\(objectId)\(path)" }

    @Test func pageAndAssetsCarryAStrictPolicyAndNoSecret() async throws {
        try await withEmulator(config: .demo(), tls: false) { emulator in
            for (path, type) in [
                ("/_emulator/ui", "text/html"), ("/_emulator/ui/inbox.js", "text/javascript"),
                ("/_emulator/ui/inbox.css", "text/css"),
            ] {
                let response = try await emulator.send(.get, path)
                #expect(response.status.code == 200, "\(path)")
                #expect(response.headers["Content-Type"]?.hasPrefix(type) == true, "\(path)")
                let policy = try #require(response.headers["Content-Security-Policy"])
                #expect(policy.contains("default-src 'none'") && policy.contains("script-src 'self'"))
                #expect(policy.contains("frame-ancestors 'none'") && !policy.contains("unsafe"))
                #expect(response.headers["X-Content-Type-Options"] == "nosniff")
                #expect(response.headers["Referrer-Policy"] == "no-referrer")
                #expect(!response.text.contains(Demo.adminToken))
            }
            let page = try await emulator.send(.get, "/_emulator/ui").text
            // No inline script or style: the policy would block them anyway.
            #expect(!page.contains("<script>") && !page.contains("style="))
            #expect(!page.contains(try Regex(#"\son[a-z]+\s*="#)), "no inline event handler")
            // The script builds the page from text nodes only.
            let script = try await emulator.send(.get, "/_emulator/ui/inbox.js").text
            #expect(
                !script.contains("innerHTML") && !script.contains("insertAdjacentHTML") && !script.contains("eval("))
        }
    }

    @Test func dataRoutesNeedTheAdminToken() async throws {
        try await withEmulator(config: .demo(), tls: false) { emulator in
            for path in [
                "/_emulator/principals", "/_emulator/runs", Self.asPrincipal(Demo.approverObjectId, "/workflowtasks"),
            ] {
                let missing = try await emulator.send(.get, path)
                #expect(missing.status.code == 401, "\(path)")
                let wrong = try await emulator.send(.get, path, headers: ["Authorization": "Bearer nope"])
                #expect(wrong.status.code == 401, "\(path)")
                #expect(wrong.errorCode == "Unauthorized")
            }
            let approve = try await emulator.send(
                .post,
                Self.asPrincipal(
                    Demo.approverObjectId, "/workflowtasks/00000000-0000-4000-8000-000000000001/approve-approval"),
                json: [:])
            #expect(approve.status.code == 401)
        }
    }

    @Test func principalsAreListedWithoutSecrets() async throws {
        try await withEmulator(config: .demo(), tls: false) { emulator in
            let response = try await emulator.send(.get, "/_emulator/principals", headers: Self.admin)
            #expect(response.status.code == 200)
            let principals = try #require(try response.json()["value"]?.arrayValue)
            #expect(principals.compactMap { $0["name"]?.stringValue } == ["Purview Gateway", "Ada", "Admin"])
            #expect(principals[1]["objectId"]?.stringValue == Demo.approverObjectId)
            for secret in [Demo.gatewayClientSecret, Demo.approverClientSecret, Demo.adminClientSecret] {
                #expect(!response.text.contains(secret))
            }
        }
    }

    @Test func actingAsPrincipalsApprovesARun() async throws {
        try await withEmulator(config: .demo(), tls: false) { emulator in
            let request = createTermRequest(Self.hostile, comment: "<b>please</b>")
            let submitted = try await emulator.send(
                .post, Self.asPrincipal(Demo.gatewayObjectId, "/userrequests"), headers: Self.admin, json: request)
            #expect(submitted.status.code == 200, "\(submitted.text)")
            let runId = try #require(try submitted.json()["operations"]?[0]?["workflowRunIds"]?[0]?.stringValue)

            let tasks = try await emulator.send(
                .get, Self.asPrincipal(Demo.approverObjectId, "/workflowtasks?viewMode=received"), headers: Self.admin)
            #expect(tasks.status.code == 200)
            let task = try #require(try tasks.json()["value"]?[0])
            // The JSON carries the name as data; the page shows it with textContent.
            #expect(task["payload"]?["targetValue"]?.stringValue == Self.hostile)
            let taskId = try #require(task["id"]?.stringValue)

            // Someone who is not an approver is refused by the engine, as in the API.
            let stranger = try await emulator.send(
                .post, Self.asPrincipal(Demo.gatewayObjectId, "/workflowtasks/\(taskId)/approve-approval"),
                headers: Self.admin, json: [:])
            #expect(stranger.status.code == 403, "\(stranger.text)")
            let unknown = try await emulator.send(
                .post,
                Self.asPrincipal("00000000-0000-4000-8000-0000000000ff", "/workflowtasks/\(taskId)/approve-approval"),
                headers: Self.admin, json: [:])
            #expect(unknown.status.code == 400)
            #expect(try unknown.json()["error"]?["target"]?.stringValue == "principal")

            let approved = try await emulator.send(
                .post, Self.asPrincipal(Demo.approverObjectId, "/workflowtasks/\(taskId)/approve-approval"),
                headers: Self.admin, json: ["comment": "fine"])
            #expect(approved.status.code == 200, "\(approved.text)")

            let runs = try await emulator.send(.get, "/_emulator/runs", headers: Self.admin)
            let run = try #require(try runs.json()["value"]?.arrayValue?.first { $0["id"]?.stringValue == runId })
            #expect(run["status"]?.stringValue == "Completed")
            let actions = try #require(run["detail"]?["actions"]?.objectValue)
            #expect(actions["Approval by Ada"]?["status"]?.stringValue == "Succeeded")
            let effects = try await emulator.send(.get, "/_emulator/effects", headers: Self.admin)
            #expect(effects.text.contains("CreateTerm"))
        }
    }

    @Test func reassignMovesTheTaskToAnotherPrincipal() async throws {
        try await withEmulator(config: .demo(), tls: false) { emulator in
            let submitted = try await emulator.send(
                .post, Self.asPrincipal(Demo.gatewayObjectId, "/userrequests"), headers: Self.admin,
                json: createTermRequest("Reassigned"))
            #expect(submitted.status.code == 200)
            let received = Self.asPrincipal(Demo.approverObjectId, "/workflowtasks?viewMode=received")
            let taskId = try #require(
                try await emulator.send(.get, received, headers: Self.admin).json()["value"]?[0]?["id"]?.stringValue)
            let moved = try await emulator.send(
                .post, Self.asPrincipal(Demo.approverObjectId, "/workflowtasks/\(taskId)/reassign"),
                headers: Self.admin,
                json: [
                    "reassignments": [
                        ["reassignFrom": .string(Demo.approverObjectId), "reassignTo": .string(Demo.adminObjectId)]
                    ]
                ])
            #expect(moved.status.code == 200, "\(moved.text)")
            let left = try await emulator.send(.get, received, headers: Self.admin).json()["value"]?.arrayValue ?? []
            #expect(left.isEmpty)
            let adminTasks = try await emulator.send(
                .get, Self.asPrincipal(Demo.adminObjectId, "/workflowtasks?viewMode=received"), headers: Self.admin)
            #expect(try adminTasks.json()["value"]?[0]?["id"]?.stringValue == taskId)
        }
    }
}
