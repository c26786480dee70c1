import Crypto
import Foundation
import HTTP
import Networking
import PurviewWorkflow
import Testing

@testable import PurviewEmulator

/// Faults, statistics and the admin routes.
@Suite(.serialized)
struct ServiceFaultTests {
    static let submitPath = EmulatorHarness.v2023("/workflow/userrequests")

    func addFault(_ emulator: EmulatorHarness, _ fault: JSONValue) async throws {
        let response = try await emulator.send(.post, "/_emulator/faults", headers: emulator.adminHeaders, json: fault)
        #expect(response.status.code == 200, "\(response.text)")
    }

    func stats(_ emulator: EmulatorHarness) async throws -> JSONValue {
        let response = try await emulator.send(.get, "/_emulator/stats", headers: emulator.adminHeaders)
        #expect(response.status.code == 200)
        return try response.json()
    }

    func submit(_ emulator: EmulatorHarness, token: String, name: String, clientRequestId: String) async throws
        -> HTTPClientResponse
    {
        try await emulator.send(
            .post, Self.submitPath, token: token, headers: ["x-ms-client-request-id": clientRequestId],
            json: createTermRequest(name))
    }

    func runCount(_ emulator: EmulatorHarness, token: String) async throws -> Int {
        let response = try await emulator.send(.get, EmulatorHarness.v2023("/workflow/workflowruns"), token: token)
        return try response.json()["value"]?.arrayValue?.count ?? -1
    }

    @Test func statusFaultForTwoCallsThenNormal() async throws {
        try await withEmulator { emulator in
            let token = try await emulator.token()
            try await addFault(emulator, ["match": "POST /userrequests", "status": 503, "retryAfter": 2, "count": 2])
            for _ in 0..<2 {
                let refused = try await submit(emulator, token: token, name: "Alpha", clientRequestId: "req-1")
                #expect(refused.status.code == 503)
                #expect(refused.headers["Retry-After"] == "2")
                #expect(refused.errorCode == "ServiceUnavailable")
                #expect(refused.headers["x-ms-client-request-id"] == "req-1")
            }
            let accepted = try await submit(emulator, token: token, name: "Alpha", clientRequestId: "req-1")
            #expect(accepted.status.code == 200)
            #expect(try await runCount(emulator, token: token) == 1)
            let numbers = try await stats(emulator)
            #expect(numbers["calls"]?["POST /userrequests"] == 3)
            #expect(numbers["calls"]?["GET /workflowruns"] == 1)
            // Refused attempts were not carried out, so the retried id is no duplicate.
            #expect(numbers["duplicateUserRequests"] == [])
            #expect(numbers["identicalUserRequests"] == [])
        }
    }

    @Test func faultWindowAndConcretePaths() async throws {
        try await withEmulator(tls: false) { emulator in
            let token = try await emulator.token()
            let run = "0e000000-0000-4000-8000-00000000aaaa"
            let other = "0e000000-0000-4000-8000-00000000bbbb"
            // A window long enough that the first call lands in it on a busy machine (0.3 s did not always).
            try await addFault(emulator, ["match": "GET /workflowruns/{id}", "status": 500, "seconds": 2])
            try await addFault(
                emulator, ["match": .string("GET /workflow/workflowruns/\(other)"), "status": 429, "count": 1])
            let during = try await emulator.send(
                .get, EmulatorHarness.v2023("/workflow/workflowruns/\(run)"), token: token)
            #expect(during.status.code == 500)
            #expect(during.errorCode == "InternalServerError")
            try await Task.sleep(for: .milliseconds(2_100))
            let after = try await emulator.send(
                .get, EmulatorHarness.v2023("/workflow/workflowruns/\(run)"), token: token)
            #expect(after.status.code == 404)
            // The concrete path fault hits only its own run, once.
            let first = try await emulator.send(
                .get, EmulatorHarness.v2023("/workflow/workflowruns/\(other)"), token: token)
            #expect(first.status.code == 429)
            let second = try await emulator.send(
                .get, EmulatorHarness.v2023("/workflow/workflowruns/\(other)"), token: token)
            #expect(second.status.code == 404)
            let listed = try await emulator.send(.get, "/_emulator/faults", headers: emulator.adminHeaders)
            #expect(try listed.json()["value"] == [])
        }
    }

    @Test func latencyDelaysTheAnswer() async throws {
        try await withEmulator(tls: false) { emulator in
            let token = try await emulator.token()
            try await addFault(emulator, ["match": "GET /workflows", "latencyMs": 250, "count": 1])
            let started = ContinuousClock.now
            let slow = try await emulator.send(.get, EmulatorHarness.v2023("/workflow/workflows"), token: token)
            #expect(slow.status.code == 200)
            #expect(started.duration(to: .now) >= .milliseconds(250))
        }
    }

    @Test func droppedConnectionsAndDuplicateDetection() async throws {
        try await withEmulator { emulator in
            let token = try await emulator.token()
            func expectDrop(_ clientRequestId: String) async throws {
                do {
                    let response = try await submit(
                        emulator, token: token, name: "Beta", clientRequestId: clientRequestId)
                    Issue.record("expected the connection to be dropped, got \(response.status)")
                } catch let error as HTTPClientError {
                    #expect(error.code == .connectionClosed, "\(error)")
                    #expect(error.requestMayHaveBeenProcessed)
                }
            }
            // Dropped before processing: nothing happened.
            try await addFault(emulator, ["match": "POST /userrequests", "drop": true, "count": 1])
            try await expectDrop("lost-1")
            #expect(try await runCount(emulator, token: token) == 0)
            // Processed, then the answer is lost; a blind resend is a duplicate the stats show.
            try await addFault(
                emulator, ["match": "POST /userrequests", "drop": true, "processFirst": true, "count": 1])
            try await expectDrop("lost-2")
            #expect(try await runCount(emulator, token: token) == 1)
            let resent = try await submit(emulator, token: token, name: "Beta", clientRequestId: "lost-2")
            #expect(resent.status.code == 200)
            let numbers = try await stats(emulator)
            #expect(numbers["calls"]?["POST /userrequests"] == 3)
            let duplicate = try #require(numbers["duplicateUserRequests"]?.arrayValue?.first)
            #expect(numbers["duplicateUserRequests"]?.arrayValue?.count == 1)
            #expect(duplicate["clientRequestId"] == "lost-2")
            #expect(duplicate["count"] == 2)
            #expect(duplicate["requestIds"]?.arrayValue?.count == 2)
            let identical = try #require(numbers["identicalUserRequests"]?.arrayValue?.first)
            #expect(identical["requestor"]?.stringValue == TestIds.requestor.objectId)
            #expect(identical["count"] == 2)
        }
    }

    @Test func tokenEndpointFaults() async throws {
        try await withEmulator(tls: false) { emulator in
            try await addFault(emulator, ["match": "POST /token", "status": 503, "retryAfter": 1, "count": 1])
            let form = [
                ("client_id", TestIds.requestor.clientId), ("grant_type", "client_credentials"),
                ("client_secret", "requestor-secret"), ("scope", "https://purview.azure.net/.default"),
            ]
            let refused = try await emulator.tokenRequest(form)
            #expect(refused.status.code == 503)
            #expect(refused.headers["Retry-After"] == "1")
            #expect(refused.errorCode == "temporarily_unavailable")
            let granted = try await emulator.tokenRequest(form)
            #expect(granted.status.code == 200)
            #expect(try await stats(emulator)["calls"]?["POST /token"] == 2)
        }
    }

    @Test func adminRoutesNeedTheAdminToken() async throws {
        try await withEmulator(tls: false) { emulator in
            let userToken = try await emulator.token(TestIds.admin)
            let refusals: [HTTPFields] = [
                [:], ["Authorization": "Bearer wrong-token"], ["Authorization": "Bearer " + userToken],
                ["Authorization": TestIds.adminToken],
            ]
            for headers in refusals {
                let response = try await emulator.send(.get, "/_emulator/stats", headers: headers)
                #expect(response.status.code == 401)
                #expect(response.errorCode == "Unauthorized")
                let reset = try await emulator.send(.post, "/_emulator/reset", headers: headers)
                #expect(reset.status.code == 401)
            }
            let badFault = try await emulator.send(
                .post, "/_emulator/faults", headers: emulator.adminHeaders,
                json: ["match": "POST /userrequests", "status": 200])
            #expect(badFault.status.code == 400)
            #expect(try badFault.json()["error"]?["target"] == "fault.status")
            let badClock = try await emulator.send(
                .post, "/_emulator/clock", headers: emulator.adminHeaders, json: ["advanceSeconds": "soon"])
            #expect(badClock.status.code == 400)
        }
    }

    @Test func advancingTheClockExpiresTasksAndSendsEmails() async throws {
        try await withEmulator(tls: false) { emulator in
            let rita = APISession(emulator, token: try await emulator.token(TestIds.requestor))
            let ada = APISession(emulator, token: try await emulator.token(TestIds.approver))
            let run = try await rita.submit(createTermRequest("Slow"))
            let task = try await ada.task(of: run)
            let before = try await emulator.send(.get, "/_emulator/clock", headers: emulator.adminHeaders)
            let start = try #require(PurviewTimestamp(try before.json()["now"]?.stringValue ?? ""))
            let advanced = try await emulator.send(
                .post, "/_emulator/clock", headers: emulator.adminHeaders, json: ["advanceSeconds": .number(4 * 86_400)]
            )
            #expect(advanced.status.code == 200)
            let now = try #require(PurviewTimestamp(try advanced.json()["now"]?.stringValue ?? ""))
            #expect(now - start >= .seconds(4 * 86_400))

            let expired = try await ada.ok(.get, "/workflow/workflowtasks/\(task)")
            #expect(expired["approvalDetail"]?["status"] == "Canceled")
            #expect(try await rita.runStatus(run) == "Failed")
            let emails = try await emulator.send(.get, "/_emulator/emails", headers: emulator.adminHeaders)
            let sent = try emails.json()["value"]?.arrayValue ?? []
            #expect(sent.filter { $0["kind"] == "reminder" }.count == 2)
            let expiry = sent.filter { $0["kind"] == "expiry" }
            #expect(expiry.count == 1)
            #expect(expiry.first?["recipients"] == [.string(TestIds.admin.email)])
        }
    }

    @Test func effectsAndEmailsOfDecisions() async throws {
        try await withEmulator(tls: false) { emulator in
            let rita = APISession(emulator, token: try await emulator.token(TestIds.requestor))
            let ada = APISession(emulator, token: try await emulator.token(TestIds.approver))
            let approved = try await rita.submit(createTermRequest("Kept"))
            try await ada.command("/workflow/workflowtasks/\(try await ada.task(of: approved))/approve-approval")
            let rejected = try await rita.submit(createTermRequest("Dropped"))
            try await ada.command("/workflow/workflowtasks/\(try await ada.task(of: rejected))/reject-approval")

            let effects = try await emulator.send(.get, "/_emulator/effects", headers: emulator.adminHeaders)
            let applied = try effects.json()["value"]?.arrayValue ?? []
            #expect(applied.count == 1)
            #expect(applied.first?["type"] == "CreateTerm")
            #expect(applied.first?["runId"]?.stringValue == approved)
            #expect(applied.first?["payload"]?["glossaryTerm"]?["name"] == "Kept")
            let emails = try await emulator.send(.get, "/_emulator/emails", headers: emulator.adminHeaders)
            let sent = try emails.json()["value"]?.arrayValue ?? []
            #expect(sent.count == 1)
            #expect(sent.first?["runId"]?.stringValue == rejected)
            #expect(sent.first?["message"] == "Dropped was rejected")
        }
    }

    @Test func resetGoesBackToTheConfig() async throws {
        let configured = EmulatorFault(match: "GET /workflows", status: 502, count: 1)
        try await withEmulator(config: serviceTestConfig(faults: [configured]), tls: false) { emulator in
            let token = try await emulator.token()
            let rita = APISession(emulator, token: token)
            #expect(
                try await emulator.send(.get, EmulatorHarness.v2023("/workflow/workflows"), token: token).status.code
                    == 502)
            _ = try await rita.submit(createTermRequest("Temporary"))
            _ = try await emulator.send(
                .delete, EmulatorHarness.v2023("/workflow/workflows/\(TestIds.taskWorkflowId)"), token: token)
            try await addFault(emulator, ["match": "GET /workflowruns", "status": 500])

            let reset = try await emulator.send(.post, "/_emulator/reset", headers: emulator.adminHeaders)
            #expect(reset.status.code == 204)
            let numbers = try await stats(emulator)
            #expect(numbers["calls"] == [:])
            // The config's fault is back (once); the added one is gone.
            #expect(
                try await emulator.send(.get, EmulatorHarness.v2023("/workflow/workflows"), token: token).status.code
                    == 502)
            let workflows = try await emulator.send(.get, EmulatorHarness.v2023("/workflow/workflows"), token: token)
            #expect(try workflows.json()["value"]?.arrayValue?.count == 2)
            #expect(try await runCount(emulator, token: token) == 0)
            let cleared = try await emulator.send(.delete, "/_emulator/faults", headers: emulator.adminHeaders)
            #expect(cleared.status.code == 204)
        }
    }

    @Test func theTickFiresRemindersWithoutTraffic() async throws {
        let clock = ManualClock()
        try await withEmulator(tls: false, clock: clock) { emulator in
            let rita = APISession(emulator, token: try await emulator.token())
            _ = try await rita.submit(createTermRequest("Waiting"))
            #expect(emulator.service.withEngine { $0.emails.count } == 0)
            clock.advance(seconds: 86_400 + 60)
            // No call reaches the engine now; only the once-a-second tick can send the reminder.
            var reminders = 0
            for _ in 0..<40 where reminders == 0 {
                try await Task.sleep(for: .milliseconds(100))
                reminders = emulator.service.withEngine { $0.emails.filter { $0.kind == .reminder }.count }
            }
            #expect(reminders == 1)
        }
    }
}
