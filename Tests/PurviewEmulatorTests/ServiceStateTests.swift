import Foundation
import HTTP
import Networking
import PurviewWorkflow
import Testing

@testable import PurviewEmulator

/// `--state`: the SQLite file that carries the emulator across restarts.
@Suite(.serialized)
struct ServiceStateTests {
    @Test func stateSurvivesARestart() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/state.db"
        // No tokenSigningKey: with a state file the key is derived, so tokens outlive the restart.
        let config = serviceTestConfig(signingKey: nil)
        let (token, approvedRun, openRun, shiftedNow) = try await withEmulator(
            config: config, statePath: path, tls: false
        ) {
            emulator in
            let rita = APISession(emulator, token: try await emulator.token(TestIds.requestor))
            let ada = APISession(emulator, token: try await emulator.token(TestIds.approver))
            let approved = try await rita.submit(createTermRequest("Persisted"))
            try await ada.command("/workflow/workflowtasks/\(try await ada.task(of: approved))/approve-approval")
            let open = try await rita.submit(createTermRequest("Still open"))
            let deleted = try await emulator.send(
                .delete, EmulatorHarness.v2023("/workflow/workflows/\(TestIds.taskWorkflowId)"), token: rita.token)
            #expect(deleted.status.code == 204)
            let clock = try await emulator.send(
                .post, "/_emulator/clock", headers: emulator.adminHeaders, json: ["advanceSeconds": 3600])
            let now = try #require(PurviewTimestamp(try clock.json()["now"]?.stringValue ?? ""))
            return (rita.token, approved, open, now)
        }

        try await withEmulator(config: config, statePath: path, tls: false) { emulator in
            let rita = APISession(emulator, token: token)
            #expect(try await rita.runStatus(approvedRun) == "Completed")
            #expect(try await rita.runStatus(openRun) == "InProgress")
            let ada = APISession(emulator, token: try await emulator.token(TestIds.approver))
            let task = try await ada.task(of: openRun)
            try await ada.command("/workflow/workflowtasks/\(task)/approve-approval")
            #expect(try await rita.runStatus(openRun) == "Completed")
            // The state file wins over the config: the deleted workflow stays deleted.
            let workflows = try await rita.ok(.get, "/workflow/workflows")
            #expect(workflows["value"]?.arrayValue?.map { $0["id"]?.stringValue } == [TestIds.termWorkflowId])
            #expect(emulator.service.now >= shiftedNow)
            // Both CreateTerm effects: one from before the restart, one after.
            #expect(emulator.service.withEngine { $0.effects.count } == 2)
        }
    }

    @Test func changesReachTheFileWhileRunning() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/state.db"
        try await withEmulator(statePath: path, tls: false) { emulator in
            let rita = APISession(emulator, token: try await emulator.token())
            let run = try await rita.submit(createTermRequest("Written soon"))
            var found = false
            for _ in 0..<30 where !found {
                try await Task.sleep(for: .milliseconds(100))
                // A second reader of the same file sees what the running emulator wrote.
                let reader = try EmulatorStateStore(path: path)
                let runs = reader.restoredSnapshot?["runs"]?.arrayValue ?? []
                found = runs.contains { $0["id"]?.stringValue == run }
                await reader.shutdown()
            }
            #expect(found)
        }
    }

    @Test func anUnreadableStateFileIsAnError() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/state.db"
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: path))
        #expect(throws: EmulatorStateError.self) {
            _ = try EmulatorService(config: serviceTestConfig(), statePath: path)
        }
    }
}

/// The config file: what it holds and how it is refused.
struct ServiceConfigTests {
    static let valid = #"""
        {
          "tenantId": "0B5E0000-0000-4000-8000-000000000001",
          "accountName": "fabrikam",
          "tokenLifetimeSeconds": 600,
          "tokenSigningKey": "k",
          "adminToken": "admin",
          "maxRequestBodyBytes": 4096,
          "principals": [
            {"clientId": "c1000000-0000-4000-8000-000000000001", "clientSecret": "s", "objectId": "01000000-0000-4000-8000-0000000000a1",
             "name": "Rita", "email": "rita@fabrikam.com"},
            {"clientId": "c2000000-0000-4000-8000-000000000002", "clientSecret": "t", "objectId": "02000000-0000-4000-8000-0000000000a2",
             "name": "Ada", "isAdministrator": true}
          ],
          "workflows": [
            {"id": "f1000000-0000-4000-8000-000000000001", "name": "W", "description": "", "isEnabled": true,
             "triggers": [{"type": "when_term_creation_is_requested"}],
             "actionDag": {"actions": {"Create": {"type": "CreateTerm", "runAfter": {}}}}}
          ],
          "faults": [{"match": "POST /userrequests", "status": 503, "retryAfter": 2, "count": 5, "seconds": null, "latencyMs": 0, "drop": false}]
        }
        """#

    @Test func aFullConfigIsRead() throws {
        let config = try EmulatorConfig.parse(Array(Self.valid.utf8))
        #expect(config.tenantId == "0b5e0000-0000-4000-8000-000000000001")
        #expect(config.accountName == "fabrikam")
        #expect(config.tokenLifetimeSeconds == 600)
        #expect(config.tokenSigningKey == "k")
        #expect(config.adminToken == "admin")
        #expect(config.maxRequestBodyBytes == 4096)
        #expect(config.principals.map(\.name) == ["Rita", "Ada"])
        #expect(config.principals.map(\.isAdministrator) == [false, true])
        #expect(config.principals[0].email == "rita@fabrikam.com")
        #expect(config.workflows.count == 1)
        #expect(config.faults == [EmulatorFault(match: "POST /userrequests", status: 503, retryAfter: 2, count: 5)])
    }

    struct Broken: Sendable, CustomTestStringConvertible {
        var name: String
        var edit: @Sendable (inout JSONObject) -> Void
        var key: String
        var testDescription: String { name }
    }

    static func principal(_ object: inout JSONObject, _ index: Int, _ key: String, _ value: JSONValue?) {
        var list = object["principals"]!.arrayValue!
        var entry = list[index].objectValue!
        entry[key] = value
        list[index] = .object(entry)
        object["principals"] = .array(list)
    }

    static let broken: [Broken] = [
        Broken(name: "no tenant", edit: { $0["tenantId"] = nil }, key: "tenantId"),
        Broken(name: "tenant not a UUID", edit: { $0["tenantId"] = "contoso" }, key: "tenantId"),
        Broken(name: "empty admin token", edit: { $0["adminToken"] = "" }, key: "adminToken"),
        Broken(name: "lifetime not a number", edit: { $0["tokenLifetimeSeconds"] = "1h" }, key: "tokenLifetimeSeconds"),
        Broken(name: "lifetime too long", edit: { $0["tokenLifetimeSeconds"] = 100_000 }, key: "tokenLifetimeSeconds"),
        Broken(name: "no principals", edit: { $0["principals"] = [] }, key: "principals"),
        Broken(name: "principal not an object", edit: { $0["principals"] = [5] }, key: "principals[0]"),
        Broken(
            name: "client id not a UUID", edit: { principal(&$0, 1, "clientId", "ada") }, key: "principals[1].clientId"),
        Broken(name: "no object id", edit: { principal(&$0, 0, "objectId", nil) }, key: "principals[0].objectId"),
        Broken(name: "no name", edit: { principal(&$0, 0, "name", nil) }, key: "principals[0].name"),
        Broken(name: "no credential", edit: { principal(&$0, 0, "clientSecret", nil) }, key: "principals[0]"),
        Broken(
            name: "bad certificate", edit: { principal(&$0, 0, "certificatePem", "-----BEGIN nothing") },
            key: "principals[0].certificatePem"),
        Broken(
            name: "administrator flag not a bool", edit: { principal(&$0, 1, "isAdministrator", "yes") },
            key: "principals[1].isAdministrator"),
        Broken(
            name: "duplicate client id",
            edit: { principal(&$0, 1, "clientId", "c1000000-0000-4000-8000-000000000001") },
            key: "principals[1].clientId"),
        Broken(name: "workflow without id", edit: { $0["workflows"] = [["name": "W"]] }, key: "workflows[0].id"),
        Broken(
            name: "invalid workflow",
            edit: {
                $0["workflows"] = [
                    [
                        "id": "f1000000-0000-4000-8000-000000000001", "name": "W", "description": "", "isEnabled": true,
                        "triggers": [],
                    ]
                ]
            },
            key: "workflows[0]"),
        Broken(
            name: "fault with a success status", edit: { $0["faults"] = [["match": "GET /workflows", "status": 200]] },
            key: "faults[0].status"),
        Broken(
            name: "fault without a method", edit: { $0["faults"] = [["match": "/workflows", "drop": true]] },
            key: "faults[0].match"),
        Broken(
            name: "fault that does nothing", edit: { $0["faults"] = [["match": "GET /workflows"]] }, key: "faults[0]"),
        Broken(name: "faults not an array", edit: { $0["faults"] = ["match": "GET /workflows"] }, key: "faults"),
    ]

    @Test(arguments: broken) func configErrorsNameTheKey(_ broken: Broken) throws {
        var object = try JSONValue(parsing: Self.valid).objectValue!
        broken.edit(&object)
        let error = try #require(throws: EmulatorConfigError.self) {
            _ = try EmulatorConfig.parse(JSONValue.object(object).serialized())
        }
        #expect(error.key == broken.key, "\(error)")
        #expect(!error.message.isEmpty)
        #expect(error.description.contains(broken.key))
    }

    @Test func notJSONAtAll() throws {
        let error = try #require(throws: EmulatorConfigError.self) {
            _ = try EmulatorConfig.parse(Array("tenantId: x".utf8))
        }
        #expect(error.key == "(file)")
        let missing = try #require(throws: EmulatorConfigError.self) {
            _ = try EmulatorConfig.load(path: "/nonexistent/emulator.json")
        }
        #expect(missing.key == "--config")
    }

    @Test func theDemoConfigIsValidAndSeedsItsWorkflows() throws {
        let demo = EmulatorConfig.demo()
        try demo.check()
        #expect(demo.tenantId == EmulatorConfig.Demo.tenantId)
        #expect(
            demo.principal(clientId: EmulatorConfig.Demo.gatewayClientId)?.clientSecret
                == EmulatorConfig.Demo.gatewayClientSecret)
        #expect(demo.principal(clientId: EmulatorConfig.Demo.adminClientId)?.isAdministrator == true)
        let service = EmulatorService(config: demo)
        let ids = service.withEngine { engine in
            engine.listWorkflows(caller: EmulatorConfig.Demo.adminObjectId).value.compactMap { $0["id"]?.stringValue }
        }
        #expect(ids == [EmulatorConfig.Demo.termCreationWorkflowId, EmulatorConfig.Demo.dataAccessWorkflowId])
    }
}
