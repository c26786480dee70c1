import FoundationEssentials
import GatewayCore
import PurviewWorkflow
import Testing

/// The retry state of one event, driven by an injected clock (no I/O).
@Suite struct WebhookDeliveryTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    var deadline: Date { t0.addingTimeInterval(WebhookDelivery.maximumAge.seconds) }

    @Test func failuresBackOffOnTheScheduleThenGiveUpAtTheDeadline() {
        var delivery = WebhookDelivery(attempts: 0, deadline: deadline)
        var clock = t0
        var delays: [Double] = []
        var decision = WebhookDeliveryDecision.failed(reason: "not started")
        for _ in 0..<40 {
            decision = delivery.attemptFinished(.response(status: 503), now: clock)
            guard case .retry(let at, let reason) = decision else { break }
            #expect(reason == "the receiver answered 503")
            #expect(at <= deadline)
            delays.append(at.timeIntervalSince(clock))
            clock = at
        }
        // 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, then every 4 h, cut short at the deadline.
        #expect(Array(delays.prefix(8)) == [5, 30, 120, 600, 1800, 3600, 7200, 14400])
        #expect(delays.dropFirst(7).dropLast().allSatisfy { $0 == 14400 })
        #expect(clock == deadline, "the last attempt is made at the deadline")
        guard case .failed(let reason) = decision else {
            Issue.record("expected a final failure, got \(decision)")
            return
        }
        #expect(reason.contains("gave up after \(delivery.attempts) attempts"))
        #expect(delivery.attempts == delays.count + 1)
        #expect(delays.reduce(0, +) == WebhookDelivery.maximumAge.seconds)
    }

    @Test func retriesAreSpreadOverTheLastFifthOfEachDelay() {
        var earliest = WebhookDelivery(attempts: 4, deadline: deadline)
        var latest = WebhookDelivery(attempts: 4, deadline: deadline)
        // After the 5th failure the schedule says 30 min; jitter brings it anywhere from 24 to 30 min.
        #expect(earliest.attemptFinished(.response(status: 503), now: t0, random: 0.999_999) == .retry(at: t0.addingTimeInterval(1800 * (1 - 0.2 * 0.999_999)), reason: "the receiver answered 503"))
        #expect(latest.attemptFinished(.response(status: 503), now: t0, random: 0) == .retry(at: t0.addingTimeInterval(1800), reason: "the receiver answered 503"))
        var spread = Set<Int>()
        for _ in 0..<50 {
            var delivery = WebhookDelivery(attempts: 4, deadline: deadline)
            guard case .retry(let at, _) = delivery.attemptFinished(.transportFailure("refused"), now: t0, random: Double.random(in: 0..<1)) else {
                Issue.record("expected a retry")
                return
            }
            let delay = at.timeIntervalSince(t0)
            #expect(delay >= 1440 && delay <= 1800)
            spread.insert(Int(delay / 36))
        }
        #expect(spread.count > 3, "50 events that failed together must not all retry in the same window")
    }

    @Test func aSuccessDeliversAnd410StopsTheURL() {
        var delivery = WebhookDelivery(attempts: 2, deadline: deadline)
        #expect(delivery.attemptFinished(.response(status: 204), now: t0) == .delivered(at: t0))
        #expect(delivery.attempts == 3)
        var gone = WebhookDelivery(attempts: 0, deadline: deadline)
        #expect(gone.attemptFinished(.response(status: 410), now: t0) == .gone)
        // 410 is final even after the deadline, and other 4xx are retried like 5xx.
        var late = WebhookDelivery(attempts: 5, deadline: deadline)
        #expect(late.attemptFinished(.response(status: 410), now: deadline + 10) == .gone)
        var notFound = WebhookDelivery(attempts: 0, deadline: deadline)
        #expect(
            notFound.attemptFinished(.response(status: 404), now: t0)
                == .retry(at: t0 + 5, reason: "the receiver answered 404"))
    }

    @Test func redirectsAndTransportFailuresAreRetriedAndUnsendableEventsFail() {
        var delivery = WebhookDelivery(attempts: 0, deadline: deadline)
        guard case .retry(let at, let reason) = delivery.attemptFinished(.response(status: 302), now: t0) else {
            Issue.record("a redirect must be retried")
            return
        }
        #expect(at == t0 + 5 && reason.contains("redirects are not followed"))
        #expect(
            delivery.attemptFinished(.transportFailure("connect_failed: refused"), now: t0 + 5)
                == .retry(at: t0 + 35, reason: "connect_failed: refused"))
        var blocked = WebhookDelivery(attempts: 0, deadline: deadline)
        #expect(
            blocked.attemptFinished(.notSendable("host not allowed"), now: t0) == .failed(reason: "host not allowed"))
    }

    @Test func retriesNeverGoPastTheDeadline() {
        var delivery = WebhookDelivery(attempts: 7, deadline: deadline)
        let nearEnd = deadline - 60
        #expect(
            delivery.attemptFinished(.response(status: 500), now: nearEnd)
                == .retry(at: deadline, reason: "the receiver answered 500"))
    }
}

/// Which writes add which events to the outbox.
@Suite struct OutboxEventTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func makeRequest(callbackUrl: String? = "https://hooks.contoso.com/purview") throws -> GatewayRequest {
        var body: JSONObject = [
            "glossaryId": "20031e20-b4df-4a66-a61d-1b0716f3fa48", "name": "Revenue", "definition": "d",
            "requestedBy": "ada@contoso.com",
        ]
        body["callbackUrl"] = callbackUrl.map(JSONValue.string)
        let validated = try RequestMapper.validate(kind: .termCreation, body: .object(body)).get()
        return GatewayRequest(id: "r1", clientName: "portal", validated: validated, idempotencyKey: nil, now: t0)
    }

    @Test func everyStatusOrOutcomeChangeButSubmittingIsAnEvent() throws {
        var request = try makeRequest()
        var types: [String] = []
        var ids: [String] = []
        func written() {
            for event in OutboxEvent.new(for: request) where !ids.contains(event.id) {
                types.append(event.type)
                ids.append(event.id)
                #expect(event.url == "https://hooks.contoso.com/purview" && event.clientName == "portal")
                #expect(event.deadline == event.createdAt.addingTimeInterval(24 * 3600))
            }
        }
        written()
        try request.apply(.sendStarted, now: t0 + 1, actor: "forwarder")
        written()
        try request.apply(.accepted(purviewRequestId: "p1", runIds: ["run-a"]), now: t0 + 2, actor: "forwarder")
        written()
        let pending = RunRecord(runId: "run-a", status: .inProgress, pendingApprovers: ["u1"], approvals: [.pending])
        try request.apply(.runsRefreshed([pending]), now: t0 + 3, actor: "poller")
        written()
        // A poll that changes nothing writes no new event (the last one again, with the same id).
        _ = try request.apply(.runsRefreshed([pending]), now: t0 + 4, actor: "poller")
        request.polledAt = t0 + 4
        written()
        let rejectedWhileRunning = RunRecord(runId: "run-a", status: .inProgress, approvals: [.rejected])
        try request.apply(.runsRefreshed([rejectedWhileRunning]), now: t0 + 5, actor: "poller")
        written()
        let done = RunRecord(runId: "run-a", status: .completed, approvals: [.rejected])
        try request.apply(.runsRefreshed([done]), now: t0 + 6, actor: "poller")
        written()
        #expect(
            types == [
                "request.queued", "request.submitted", "request.in_progress", "request.rejected", "request.completed",
            ])
        #expect(ids == ["evt_r1_0", "evt_r1_2", "evt_r1_3", "evt_r1_4", "evt_r1_5"])
    }

    @Test func aRetriedSendIsQueuedAgainAndNoCallbackMeansNoEvents() throws {
        var request = try makeRequest()
        try request.apply(.sendStarted, now: t0 + 1, actor: "forwarder")
        try request.apply(
            .deferred(retryAt: t0 + 10, reason: RequestError(code: "503", message: "busy")), now: t0 + 2,
            actor: "forwarder")
        #expect(OutboxEvent.new(for: request).map(\.type) == ["request.queued"])
        #expect(OutboxEvent.new(for: request).map(\.sequence) == [2])

        var silent = try makeRequest(callbackUrl: nil)
        #expect(OutboxEvent.new(for: silent).isEmpty)
        try silent.apply(.cancelRequested(comment: nil), now: t0 + 1, actor: "portal")
        #expect(OutboxEvent.new(for: silent).isEmpty)
    }

    @Test func typesAreDocumented() {
        #expect(WebhookEventType.all.contains("request.completed"))
        #expect(!WebhookEventType.all.contains("request.submitting"))
        #expect(WebhookEventType.all.count == RequestStatus.allCases.count - 1 + 3)
    }
}

@Suite struct CallbackURLTests {
    @Test(arguments: [
        ("https://hooks.contoso.com/purview", "hooks.contoso.com", true, nil as Int?),
        ("HTTPS://Hooks.Contoso.COM.:8443/a?b=c", "hooks.contoso.com", true, 8443),
        ("http://127.0.0.1:9000", "127.0.0.1", false, 9000),
        ("https://[::1]:8443/x", "::1", true, 8443),
    ])
    func acceptable(_ text: String, host: String, https: Bool, port: Int?) throws {
        let url = try CallbackURL.parse(text).get()
        #expect(url.host == host && url.isHTTPS == https && url.port == port)
    }

    @Test(arguments: [
        ("ftp://hooks.contoso.com/", "absolute https"),
        ("hooks.contoso.com/purview", "absolute https"),
        ("https://user:pass@hooks.contoso.com/", "user information"),
        ("https://hooks.contoso.com@evil.example/", "user information"),
        ("https://hooks.contoso.com/a#frag", "fragment"),
        ("https://hooks.contoso.com:99999/", "port"),
        ("https:///path", "no host"),
        ("https://hooks.contoso.com/a b", "printable ASCII"),
    ])
    func refused(_ text: String, reason: String) {
        guard case .failure(let problem) = CallbackURL.parse(text) else {
            Issue.record("\(text) was accepted")
            return
        }
        #expect(problem.message.contains(reason), "\(problem.message)")
    }

    @Test func theBodyFieldIsValidated() {
        let body: JSONValue = [
            "glossaryId": "20031e20-b4df-4a66-a61d-1b0716f3fa48", "name": "Revenue", "definition": "d",
            "requestedBy": "ada@contoso.com", "callbackUrl": "https://u:p@hooks.contoso.com/",
        ]
        guard case .failure(let failure) = RequestMapper.validate(kind: .termCreation, body: body) else {
            Issue.record("accepted a callbackUrl with user information")
            return
        }
        #expect(failure.violations.map(\.pointer) == ["/callbackUrl"])
    }
}
