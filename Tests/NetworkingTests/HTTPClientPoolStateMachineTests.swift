import Testing

@testable import Networking

/// The pool as a value: events in, actions out, no sockets.
@Suite struct HTTPClientPoolStateMachineTests {
    typealias Machine = HTTPConnectionPoolStateMachine<String>
    typealias Action = Machine.Action

    static func request(_ raw: Int) -> Machine.RequestID { Machine.RequestID(rawValue: raw) }
    static func connection(_ raw: Int) -> Machine.ConnectionID { Machine.ConnectionID(rawValue: raw) }

    let refused = HTTPClientError(code: .connectFailed, message: "refused", requestMayHaveBeenProcessed: false)

    @Test func firstRequestStartsAConnectionAndWaits() {
        var machine = Machine(maxConnectionsPerKey: 2)
        let actions = machine.requestArrived(Self.request(1), key: "a")
        #expect(actions == [.scheduleRequestTimeout(Self.request(1)), .startConnecting(Self.connection(0), "a")])
        #expect(machine.counts(for: "a") == (0, 0, 1, 1))
        let established = machine.connectionEstablished(Self.connection(0))
        #expect(
            established == [.cancelRequestTimeout(Self.request(1)), .lease(Self.connection(0), to: Self.request(1))])
        #expect(machine.counts(for: "a") == (0, 1, 0, 0))
    }

    @Test func releasedConnectionGoesIdleAndIsReusedWithoutConnecting() {
        var machine = Machine(maxConnectionsPerKey: 2)
        _ = machine.requestArrived(Self.request(1), key: "a")
        _ = machine.connectionEstablished(Self.connection(0))
        #expect(machine.connectionReleased(Self.connection(0)) == [.scheduleIdleTimeout(Self.connection(0))])
        #expect(machine.counts(for: "a") == (1, 0, 0, 0))
        #expect(machine.requestArrived(Self.request(2), key: "a") == [.lease(Self.connection(0), to: Self.request(2))])
        #expect(machine.counts(for: "a") == (0, 1, 0, 0))
    }

    @Test func releasedConnectionServesTheOldestWaiterFirst() {
        var machine = Machine(maxConnectionsPerKey: 1)
        _ = machine.requestArrived(Self.request(1), key: "a")
        _ = machine.connectionEstablished(Self.connection(0))
        // At the limit: later requests queue without new attempts.
        #expect(machine.requestArrived(Self.request(2), key: "a") == [.scheduleRequestTimeout(Self.request(2))])
        #expect(machine.requestArrived(Self.request(3), key: "a") == [.scheduleRequestTimeout(Self.request(3))])
        #expect(
            machine.connectionReleased(Self.connection(0)) == [
                .cancelRequestTimeout(Self.request(2)), .lease(Self.connection(0), to: Self.request(2)),
            ])
        #expect(
            machine.connectionReleased(Self.connection(0)) == [
                .cancelRequestTimeout(Self.request(3)), .lease(Self.connection(0), to: Self.request(3)),
            ])
    }

    @Test func neverMoreConnectionsThanTheLimitAndNeverMoreAttemptsThanWaiters() {
        var machine = Machine(maxConnectionsPerKey: 4)
        var started: [Machine.ConnectionID] = []
        for index in 0..<20 {
            for action in machine.requestArrived(Self.request(index), key: "a") {
                if case .startConnecting(let id, _) = action { started.append(id) }
            }
            let counts = machine.counts(for: "a")
            #expect(counts.idle + counts.leased + counts.connecting <= 4)
        }
        #expect(started.count == 4)
        #expect(machine.counts(for: "a") == (0, 0, 4, 20))
        // Each established connection takes the oldest waiter.
        var leasedTo: [Int] = []
        for id in started {
            for action in machine.connectionEstablished(id) {
                if case .lease(_, let request) = action { leasedTo.append(request.rawValue) }
            }
        }
        #expect(leasedTo == [0, 1, 2, 3])
        #expect(machine.counts(for: "a") == (0, 4, 0, 16))
    }

    @Test func keysHaveSeparateLimits() {
        var machine = Machine(maxConnectionsPerKey: 1)
        let a = machine.requestArrived(Self.request(1), key: "a")
        let b = machine.requestArrived(Self.request(2), key: "b")
        #expect(a.contains(.startConnecting(Self.connection(0), "a")))
        #expect(b.contains(.startConnecting(Self.connection(1), "b")))
    }

    @Test func failedAttemptFailsTheOldestWaiterAndRetriesForTheRest() {
        var machine = Machine(maxConnectionsPerKey: 1)
        _ = machine.requestArrived(Self.request(1), key: "a")
        _ = machine.requestArrived(Self.request(2), key: "a")
        let actions = machine.connectionFailed(Self.connection(0), error: refused)
        #expect(
            actions == [
                .cancelRequestTimeout(Self.request(1)), .failRequest(Self.request(1), refused),
                .startConnecting(Self.connection(1), "a"),
            ])
        let last = machine.connectionFailed(Self.connection(1), error: refused)
        #expect(last == [.cancelRequestTimeout(Self.request(2)), .failRequest(Self.request(2), refused)])
        #expect(machine.isEmpty)
    }

    @Test func waitingRequestTimesOutWithoutProcessing() {
        var machine = Machine(maxConnectionsPerKey: 1)
        _ = machine.requestArrived(Self.request(1), key: "a")
        let actions = machine.requestTimedOut(Self.request(1))
        guard case .failRequest(let id, let error) = actions.first, actions.count == 1 else {
            Issue.record("expected one failure, got \(actions)")
            return
        }
        #expect(id == Self.request(1))
        #expect(error.code == .requestTimeout)
        #expect(!error.requestMayHaveBeenProcessed)
        // The attempt goes on; when it lands, the connection parks as idle.
        #expect(machine.connectionEstablished(Self.connection(0)) == [.scheduleIdleTimeout(Self.connection(0))])
        // A timeout for a request already leased is not the pool's business.
        _ = machine.requestArrived(Self.request(2), key: "a")
        #expect(machine.requestTimedOut(Self.request(2)).isEmpty)
    }

    @Test func cancelledWaiterIsRemovedAndItsTimerCancelled() {
        var machine = Machine(maxConnectionsPerKey: 1)
        _ = machine.requestArrived(Self.request(1), key: "a")
        _ = machine.requestArrived(Self.request(2), key: "a")
        let cancelled = HTTPClientError(code: .requestTimeout, message: "cancelled", requestMayHaveBeenProcessed: false)
        #expect(
            machine.requestCancelled(Self.request(1), error: cancelled) == [
                .cancelRequestTimeout(Self.request(1)), .failRequest(Self.request(1), cancelled),
            ])
        #expect(
            machine.connectionEstablished(Self.connection(0)) == [
                .cancelRequestTimeout(Self.request(2)), .lease(Self.connection(0), to: Self.request(2)),
            ])
        #expect(machine.requestCancelled(Self.request(2), error: cancelled).isEmpty)
    }

    @Test func idleTimeoutClosesOnlyIdleConnections() {
        var machine = Machine(maxConnectionsPerKey: 1)
        _ = machine.requestArrived(Self.request(1), key: "a")
        _ = machine.connectionEstablished(Self.connection(0))
        #expect(machine.idleTimeoutFired(Self.connection(0)).isEmpty)  // leased: a stale timer
        _ = machine.connectionReleased(Self.connection(0))
        #expect(machine.idleTimeoutFired(Self.connection(0)) == [.closeConnection(Self.connection(0))])
        #expect(machine.isEmpty)
        #expect(machine.connectionClosed(Self.connection(0)).isEmpty)  // already forgotten
    }

    @Test func closedConnectionFreesCapacityForWaiters() {
        var machine = Machine(maxConnectionsPerKey: 1)
        _ = machine.requestArrived(Self.request(1), key: "a")
        _ = machine.connectionEstablished(Self.connection(0))
        _ = machine.requestArrived(Self.request(2), key: "a")
        #expect(machine.connectionClosed(Self.connection(0)) == [.startConnecting(Self.connection(1), "a")])
        // An idle connection that the server closed just leaves.
        _ = machine.connectionEstablished(Self.connection(1))
        _ = machine.connectionReleased(Self.connection(1))
        #expect(machine.connectionClosed(Self.connection(1)).isEmpty)
        #expect(machine.isEmpty)
    }

    @Test func retryAfterStaleConnectionNeedsANewConnection() {
        var machine = Machine(maxConnectionsPerKey: 2)
        _ = machine.requestArrived(Self.request(1), key: "a")
        _ = machine.connectionEstablished(Self.connection(0))
        _ = machine.connectionReleased(Self.connection(0))
        // The idle connection is not offered; a new one is started.
        #expect(
            machine.requestArrived(Self.request(2), key: "a", requiresNewConnection: true) == [
                .scheduleRequestTimeout(Self.request(2)), .startConnecting(Self.connection(1), "a"),
            ])
        #expect(
            machine.connectionEstablished(Self.connection(1)) == [
                .cancelRequestTimeout(Self.request(2)), .lease(Self.connection(1), to: Self.request(2)),
            ])
    }

    @Test func retryAtTheLimitReplacesAnIdleConnection() {
        var machine = Machine(maxConnectionsPerKey: 1)
        _ = machine.requestArrived(Self.request(1), key: "a")
        _ = machine.connectionEstablished(Self.connection(0))
        _ = machine.connectionReleased(Self.connection(0))
        #expect(
            machine.requestArrived(Self.request(2), key: "a", requiresNewConnection: true) == [
                .scheduleRequestTimeout(Self.request(2)), .closeConnection(Self.connection(0)),
                .startConnecting(Self.connection(1), "a"),
            ])
        #expect(machine.counts(for: "a") == (0, 0, 1, 1))
    }

    @Test func releasedConnectionSkipsAWaiterThatNeedsANewOne() {
        var machine = Machine(maxConnectionsPerKey: 1)
        _ = machine.requestArrived(Self.request(1), key: "a")
        _ = machine.connectionEstablished(Self.connection(0))
        _ = machine.requestArrived(Self.request(2), key: "a", requiresNewConnection: true)
        // At the limit, the released connection makes room for the new one.
        #expect(
            machine.connectionReleased(Self.connection(0)) == [
                .scheduleIdleTimeout(Self.connection(0)), .closeConnection(Self.connection(0)),
                .startConnecting(Self.connection(1), "a"),
            ])
    }

    @Test func shutdownFailsWaitersClosesIdleAndConnectingAndLeasedOnRelease() {
        var machine = Machine(maxConnectionsPerKey: 3)
        _ = machine.requestArrived(Self.request(1), key: "a")
        _ = machine.requestArrived(Self.request(2), key: "a")
        _ = machine.connectionEstablished(Self.connection(0))  // leased to request 1
        _ = machine.requestArrived(Self.request(3), key: "b")
        _ = machine.connectionEstablished(Self.connection(2))
        _ = machine.connectionReleased(Self.connection(2))  // idle
        let actions = machine.shutdown()
        let failed = actions.compactMap { action -> Machine.RequestID? in
            if case .failRequest(let id, let error) = action, error.code == .shutdown,
                !error.requestMayHaveBeenProcessed
            {
                return id
            }
            return nil
        }
        #expect(failed == [Self.request(2)])
        #expect(actions.contains(.closeConnection(Self.connection(1))))  // connecting for request 2
        #expect(actions.contains(.closeConnection(Self.connection(2))))  // idle
        #expect(!machine.isEmpty)  // request 1 is still in flight
        #expect(machine.connectionReleased(Self.connection(0)) == [.closeConnection(Self.connection(0))])
        #expect(machine.isEmpty)
        let late = machine.requestArrived(Self.request(4), key: "a")
        #expect(late == [.failRequest(Self.request(4), Machine.shutdownError)])
        #expect(machine.shutdown().isEmpty)
    }

    /// Random events against the invariants: limits hold, every request ends exactly once.
    @Test func randomEventsKeepTheInvariants() {
        var random = TLSTestRandom(state: 42)
        for _ in 0..<50 {
            var machine = Machine(maxConnectionsPerKey: 3)
            var connecting: [Machine.ConnectionID] = []
            var idle: [Machine.ConnectionID] = []
            var leased: [Machine.ConnectionID: Machine.RequestID] = [:]
            var waiting: Set<Machine.RequestID> = []
            var ended: Set<Machine.RequestID> = []
            var nextRequest = 0
            func apply(_ actions: [Action]) {
                for action in actions {
                    switch action {
                    case .startConnecting(let id, _): connecting.append(id)
                    case .lease(let id, let request):
                        waiting.remove(request)
                        idle.removeAll { $0 == id }
                        #expect(leased[id] == nil)
                        leased[id] = request
                    case .failRequest(let request, _):
                        #expect(!ended.contains(request))
                        ended.insert(request)
                        waiting.remove(request)
                    case .closeConnection(let id):
                        idle.removeAll { $0 == id }
                        connecting.removeAll { $0 == id }
                    case .scheduleIdleTimeout(let id): idle.append(id)
                    case .scheduleRequestTimeout(let request): waiting.insert(request)
                    case .cancelRequestTimeout: break
                    }
                }
            }
            for _ in 0..<300 {
                switch random.next() % 7 {
                case 0, 1:
                    let request = Self.request(nextRequest)
                    nextRequest += 1
                    apply(machine.requestArrived(request, key: "k"))
                case 2:
                    if let id = connecting.popLast() { apply(machine.connectionEstablished(id)) }
                case 3:
                    if let id = connecting.popLast() { apply(machine.connectionFailed(id, error: refused)) }
                case 4:
                    if let (id, request) = leased.first {
                        leased[id] = nil
                        ended.insert(request)
                        apply(random.next() % 2 == 0 ? machine.connectionReleased(id) : machine.connectionClosed(id))
                    }
                case 5:
                    if let request = waiting.first { apply(machine.requestTimedOut(request)) }
                default:
                    if let id = idle.first { apply(machine.idleTimeoutFired(id)) }
                }
                let counts = machine.counts(for: "k")
                #expect(counts.idle + counts.leased + counts.connecting <= 3)
                #expect(counts.waiting == waiting.count)
                if counts.waiting > 0 { #expect(counts.idle == 0) }
            }
            apply(machine.shutdown())
            for (id, request) in leased {
                ended.insert(request)
                #expect(machine.connectionReleased(id) == [.closeConnection(id)])
            }
            #expect(ended.count == nextRequest)
            #expect(machine.isEmpty)
        }
    }
}
