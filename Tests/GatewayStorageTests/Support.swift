import Foundation
import GatewayCore
import GatewayStorage
import PurviewWorkflow
import Testing

/// The stores the contract suite runs against. PostgreSQL uses `TEST_POSTGRES_URL`, else a server the tests
/// start themselves; when neither works its tests fail (they are never skipped).
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory
    case sqlite
    case postgres

    var testDescription: String { rawValue }
}

/// Runs `body` with a fresh, empty store of `kind`, and disposes of it afterwards.
func withStore(_ kind: StoreKind, _ body: (any RequestStore) async throws -> Void) async throws {
    switch kind {
    case .memory:
        try await body(InMemoryRequestStore())
    case .sqlite:
        try await withTemporaryDirectory { directory in
            let store = try await SQLiteRequestStore.open(path: directory + "/gateway.db")
            do {
                try await body(store)
            } catch {
                await store.close()
                throw error
            }
            await store.close()
        }
    case .postgres:
        try await withPostgresStore { store, _ in try await body(store) }
    }
}

/// Runs `body` with the path of a new, empty directory, removed afterwards.
func withTemporaryDirectory(_ body: (String) async throws -> Void) async throws {
    let path = FileManager.default.temporaryDirectory.path + "/gateway-storage-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    try await body(path)
}

/// Requests and times for tests. Times are built the way the stores read them back (from Unix milliseconds),
/// so a stored request compares equal to the one written.
enum Fixtures {
    static let baseMilliseconds: Int64 = 1_800_000_000_000
    static let day = Duration.seconds(24 * 3600)

    /// `offset` milliseconds after the base time.
    static func time(_ offset: Int64) -> Date {
        Date(timeIntervalSince1970: Double(baseMilliseconds + offset) / 1000)
    }

    static let t0 = time(0)

    static let validated: ValidatedRequest = {
        let body: JSONValue = [
            "glossaryId": "20031e20-b4df-4a66-a61d-1b0716f3fa48", "name": "Revenue", "definition": "Money in",
            "requestedBy": "ada@contoso.com",
        ]
        guard case .success(let validated) = RequestMapper.validate(kind: .termCreation, body: body) else {
            fatalError("the fixture body no longer validates")
        }
        return validated
    }()

    static func request(
        _ id: String, client: String = "portal", kind: RequestKind = .termCreation,
        requestedBy: String = "ada@contoso.com", status: RequestStatus = .queued, key: String? = nil,
        createdAt: Date = t0
    ) -> GatewayRequest {
        var request = GatewayRequest(
            id: id, clientName: client, validated: validated, idempotencyKey: key, now: createdAt)
        request.kind = kind
        request.requestedBy = requestedBy
        request.status = status
        request.bodyDigest = "digest-of-\(id)"
        return request
    }

    /// A request with every optional part filled in.
    static func fullyPopulated(_ id: String) -> GatewayRequest {
        var request = request(id, key: "key-\(id)", createdAt: time(1_234))
        request.comment = "for the Q3 report"
        request.status = .completed
        request.outcome = .rejected
        request.purviewRequestId = "7d4b2c1e-0000-4000-8000-000000000001"
        request.runs = [
            RunRecord(
                runId: "run-a", status: .completed, startTime: time(2_000), endTime: time(9_500),
                pendingApprovers: [], approvals: [.approved], polledAt: time(10_000)),
            RunRecord(
                runId: "run-b", status: .inProgress, startTime: time(2_001), endTime: nil,
                pendingApprovers: ["3f2c6a7e-1111-4222-8333-444455556666", "bob@contoso.com"],
                approvals: [.pending, .rejected], polledAt: time(10_001)),
        ]
        request.error = RequestError(
            code: "Workflow.UserDataClient.CanNotFindEmailForUsers", message: "no such person \u{1F600} \"quoted\"",
            httpStatus: 400, purviewRequestId: "corr-1")
        request.attempts = 3
        request.nextAttemptAt = time(60_000)
        request.submittingSince = time(1_500)
        request.updatedAt = time(10_002)
        request.polledAt = time(10_003)
        request.timeline = [
            TimelineEntry(at: time(1_234), status: .queued, outcome: nil, note: "accepted", actor: "portal"),
            TimelineEntry(at: time(1_500), status: .submitting, outcome: nil, note: nil, actor: "forwarder"),
            TimelineEntry(at: time(10_002), status: .completed, outcome: .rejected, note: "done\nline 2", actor: nil),
        ]
        request.bodyDigest = String(repeating: "ab", count: 32)
        return request
    }
}

extension InsertOutcome {
    var request: GatewayRequest {
        switch self {
        case .inserted(let request), .existing(let request): request
        }
    }

    var wasInserted: Bool {
        if case .inserted = self { return true }
        return false
    }
}
