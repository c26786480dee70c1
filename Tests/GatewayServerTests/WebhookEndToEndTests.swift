import Foundation
import GatewayServer
import HTTP
import PurviewWorkflow
import Testing

/// Webhooks with the gateway and the emulator as processes and a receiver on loopback.
@Suite(.serialized) struct WebhookEndToEndTests {
    static let secret = "whsec-e2e-0123456789abcdef"

    static func callbacks() -> [String: Any] {
        ["allowedHosts": ["127.0.0.1"], "secret": secret, "allowHttp": true]
    }

    static func term(callbackUrl: String) -> JSONValue {
        guard case .object(var object) = EndToEndSystem.termBody else { return .null }
        object["callbackUrl"] = .string(callbackUrl)
        return .object(object)
    }

    /// The event types a request's timeline calls for: every change of status or outcome but entering submitting.
    static func expectedTypes(_ resource: JSONValue) -> [String] {
        let timeline = resource["timeline"]?.arrayValue ?? []
        var types: [String] = []
        for (index, entry) in timeline.enumerated() {
            let status = entry["status"]?.stringValue ?? ""
            let outcome = entry["outcome"]?.stringValue
            let statusChanged = index == 0 || timeline[index - 1]["status"]?.stringValue != status
            let outcomeChanged = index > 0 && timeline[index - 1]["outcome"]?.stringValue != outcome
            guard (statusChanged || outcomeChanged) && status != "submitting" else { continue }
            types.append("request." + (statusChanged ? status : (outcome ?? "outcome_cleared")))
        }
        return types
    }

    /// The deliveries of one request, first delivery of each event only (receivers de-duplicate by event id).
    static func distinct(_ deliveries: [WebhookReceiver.Delivery], of id: String) -> [WebhookReceiver.Delivery] {
        var seen: Set<String> = []
        return deliveries.filter { $0.requestId == id && seen.insert($0.eventId ?? "").inserted }
    }

    static func verifyAll(_ deliveries: [WebhookReceiver.Delivery]) {
        for delivery in deliveries {
            let verified = delivery.signature.map {
                WebhookMessage.verify(header: $0, body: delivery.body, secret: secret, now: Date())
            }
            #expect(verified == true, "delivery \(delivery.eventId ?? "?") does not verify")
            #expect(delivery.eventId != nil && delivery.eventId == delivery.json["id"]?.stringValue)
        }
    }

    @Test func approvedAndRejectedRequestsNotifyEveryTransitionInOrder() async throws {
        let receiver = try WebhookReceiver()
        let system = try await EndToEndSystem(portalCallbacks: Self.callbacks())
        defer {
            Task {
                await system.stop()
                await receiver.stop()
            }
        }
        // A host off the allowlist is refused at submission, and nothing is stored.
        let refusedBody = Self.term(callbackUrl: "http://169.254.169.254/latest/meta-data")
        let refused = try await system.gatewayCall(.post, "/v1/requests/term-creation", json: refusedBody)
        #expect(refused.status == 422)
        #expect(refused.headers["Content-Type"] == "application/problem+json")
        #expect(refused.json["code"] == "callback_not_allowed")
        #expect(refused.json["errors"]?[0]?["pointer"] == "/callbackUrl")
        #expect(refused.json["detail"]?.stringValue?.contains("169.254.169.254") == true)

        let approvedBody = Self.term(callbackUrl: receiver.url)
        let approved = try await system.gatewayCall(.post, "/v1/requests/term-creation", json: approvedBody)
        #expect(approved.status == 201)
        let approvedId = try #require(approved.json["id"]?.stringValue)
        try await system.decide(run: try #require(approved.json["workflowRunIds"]?[0]?.stringValue), approve: true)
        let approvedFinal = try await system.waitFor(approvedId) { $0["status"] == "completed" }
        #expect(approvedFinal["outcome"] == "approved")

        let rejected = try await system.gatewayCall(
            .post, "/v1/requests/data-access",
            json: [
                "assetId": "0f8b3b7e-2a51-4c1d-9f0e-1b2c3d4e5f61", "purpose": "audit", "requestedBy": "bob@contoso.com",
                "callbackUrl": .string(receiver.url),
            ])
        let rejectedId = try #require(rejected.json["id"]?.stringValue)
        try await system.decide(run: try #require(rejected.json["workflowRunIds"]?[0]?.stringValue), approve: false)
        let rejectedFinal = try await system.waitFor(rejectedId) { $0["status"] == "completed" }
        #expect(rejectedFinal["outcome"] == "rejected")

        for (id, final) in [(approvedId, approvedFinal), (rejectedId, rejectedFinal)] {
            let expected = Self.expectedTypes(final)
            #expect(expected.first == "request.queued" && expected.last == "request.completed")
            let received = try await receiver.waitFor { Self.distinct($0, of: id).count >= expected.count }
            let mine = Self.distinct(received, of: id)
            #expect(mine.map(\.type) == expected.map { Optional($0) }, "request \(id)")
            #expect(mine.last?.json["request"]?["outcome"] == final["outcome"])
            #expect(mine.last?.json["request"]?["status"] == "completed")
            Self.verifyAll(mine)
        }
        let events = try await system.gatewayCall(.get, "/v1/requests/\(approvedId)/events")
        #expect(events.json["items"]?.arrayValue?.allSatisfy { $0["state"] == "delivered" } == true)
    }

    @Test func aReceiverDownAndAGatewayKilledMidwayStillGetEveryEvent() async throws {
        let receiver = try WebhookReceiver()
        await receiver.down()
        let system = try await EndToEndSystem(portalCallbacks: Self.callbacks())
        defer {
            Task {
                await system.stop()
                await receiver.stop()
            }
        }
        let body = Self.term(callbackUrl: receiver.url)
        let created = try await system.gatewayCall(.post, "/v1/requests/term-creation", json: body)
        let id = try #require(created.json["id"]?.stringValue)
        try await system.decide(run: try #require(created.json["workflowRunIds"]?[0]?.stringValue), approve: true)
        let final = try await system.waitFor(id) { $0["status"] == "completed" }
        // The first event was tried and failed (nobody listening); every event is still pending.
        let deadline = ContinuousClock.now + .seconds(20)
        var items: [JSONValue] = []
        while ContinuousClock.now < deadline {
            items = try await system.gatewayCall(.get, "/v1/requests/\(id)/events").json["items"]?.arrayValue ?? []
            if items.first?["attempts"]?.arrayValue?.isEmpty == false { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(items.count == Self.expectedTypes(final).count)
        #expect(items.allSatisfy { $0["state"] == "pending" })
        #expect(items.first?["attempts"]?[0]?["error"]?.stringValue?.isEmpty == false)

        system.gateway?.kill()
        try receiver.up()
        try await system.startGateway()
        let expected = Self.expectedTypes(final)
        let received = try await receiver.waitFor(timeout: .seconds(90)) {
            Self.distinct($0, of: id).count >= expected.count
        }
        let mine = Self.distinct(received, of: id)
        #expect(mine.map(\.type) == expected.map { Optional($0) })
        Self.verifyAll(mine)
        #expect(received.count >= mine.count)
    }
}
