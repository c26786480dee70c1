import Crypto
import FoundationEssentials
import PurviewWorkflow
import Synchronization

/// Batch imports: reads a CSV or NDJSON body row by row, validates and maps each row exactly as the single
/// endpoints do (`RequestMapper`, `GatewayRequest`), and stores accepted rows as requests in the gateway's
/// store, in batches, so memory stays flat whatever the file size.
public struct ImportService: Sendable {
    let gateway: GatewayService
    /// Rows stored per transaction.
    public var batchSize = 500
    static let pieceBytes = 64 * 1024

    public init(gateway: GatewayService) { self.gateway = gateway }

    /// The store, if it keeps imports (every store of this package does).
    public var store: (any ImportStore)? { gateway.store as? any ImportStore }

    public enum BeginOutcome: Sendable {
        /// A new import, or one whose upload was interrupted: read the body (stored rows are skipped).
        case receive(ImportRecord)
        /// The Idempotency-Key names an import that was received completely: nothing new is created.
        case replayed(ImportRecord)
    }

    public func begin(
        clientName: String, defaultKind: RequestKind?, format: ImportFormat, idempotencyKey: String?
    ) async throws -> BeginOutcome {
        guard let store else { throw StoreError("this store does not keep imports") }
        let now = GatewayService.milliseconds(gateway.now())
        let record = ImportRecord(
            id: UUID().uuidString.lowercased(), clientName: clientName, defaultKind: defaultKind, format: format,
            idempotencyKey: idempotencyKey, now: now)
        switch try await store.createImport(record) {
        case .created(let created):
            gateway.logger.info(
                "import started",
                metadata: [
                    "kind": "audit", "event": "import_started", "import.id": .string(created.id),
                    "client": .string(clientName),
                ])
            return .receive(created)
        case .existing(let existing):
            return existing.status == .receiving ? .receive(existing) : .replayed(existing)
        }
    }

    /// Reads every row of `body` into `record`'s import, then marks it `processing` and wakes the forwarder.
    ///
    /// Rows are numbered from 1 among data rows (a CSV header is not a row). A malformed row is rejected and
    /// reading goes on; an unreadable file (a quote left open, an over-long record) stops reading with
    /// `ImportFileError` after storing the rows before it (the import then moves to `processing` too).
    public func receive<Body: AsyncSequence>(_ record: ImportRecord, body: Body) async throws -> ImportRecord
    where Body.Element == [UInt8] {
        guard let store else { throw StoreError("this store does not keep imports") }
        var splitter = ImportRecordSplitter(format: record.format)
        var reader = ImportRowReader(format: record.format, defaultKind: record.defaultKind)
        var rowNumber = 0
        var texts: [(number: Int, text: ImportRecordText)] = []
        var current = record
        // One batch is validated and stored while the next is read: two batches in memory at most.
        var storing: Task<ImportRecord, any Error>?

        func handle(_ text: ImportRecordText) throws {
            if reader.needsHeader {
                try reader.readHeader(text)
                return
            }
            rowNumber += 1
            // Batches are stored in order, so an interrupted upload stored exactly the first `record.rows` rows:
            // skip them rather than rely on their requests still being there (retention may have purged
            // finished ones, and inserting them again would send them again).
            guard rowNumber > record.rows else { return }
            texts.append((rowNumber, text))
        }
        func flush() async throws {
            if let storing { current = try await storing.value }
            storing = nil
            guard !texts.isEmpty else { return }
            let batch = texts
            texts.removeAll(keepingCapacity: true)
            storing = Task { [reader] in try await storeBatch(batch, reader: reader, into: record) }
        }

        var fileError: ImportFileError?
        do {
            for try await chunk in body {
                // A chunk may be large (a small gzip body inflates to megabytes at once): it is split in 64 KiB
                // pieces, and batches are stored between them, so rows never pile up beyond two batches.
                var offset = 0
                while offset < chunk.count {
                    let end = min(offset + Self.pieceBytes, chunk.count)
                    try splitter.feed(offset == 0 && end == chunk.count ? chunk : Array(chunk[offset..<end]), handle)
                    offset = end
                    if texts.count >= batchSize { try await flush() }
                }
            }
            try splitter.finish(handle)
        } catch let error as ImportFileError {
            fileError = error
        } catch {
            if let storing { _ = try? await storing.value }
            throw error
        }
        try await flush()
        try await flush()
        let now = GatewayService.milliseconds(gateway.now())
        try await store.setImportStatus(id: record.id, status: .processing, now: now)
        current.status = .processing
        current.updatedAt = now
        gateway.forwarder.wake()
        gateway.logger.info(
            "import received",
            metadata: [
                "kind": "audit", "event": "import_received", "import.id": .string(record.id),
                "client": .string(record.clientName),
                "rows": .int(current.rows), "accepted": .int(current.accepted), "rejected": .int(current.rejected),
            ])
        if let fileError {
            throw ImportFileError("\(fileError.message) (after row \(rowNumber); the rows before it were imported)")
        }
        return current
    }

    /// Validates a batch (in two halves, concurrently) and stores it in one transaction.
    private func storeBatch(
        _ batch: [(number: Int, text: ImportRecordText)], reader: ImportRowReader, into record: ImportRecord
    )
        async throws -> ImportRecord
    {
        guard let store else { throw StoreError("this store does not keep imports") }
        let middle = batch.count / 2
        func validate(_ part: ArraySlice<(number: Int, text: ImportRecordText)>) -> [RowOutcome] {
            part.map {
                row($0.text, number: $0.number, reader: reader, importId: record.id, clientName: record.clientName)
            }
        }
        async let first = validate(batch[..<middle])
        let second = validate(batch[middle...])
        var requests: [GatewayRequest] = []
        var rejections: [ImportRejection] = []
        for outcome in await first + second {
            switch outcome {
            case .accepted(let request): requests.append(request)
            case .rejected(let rejection): rejections.append(rejection)
            }
        }
        let stored = try await store.storeImportRows(
            importId: record.id, requests: requests, rejections: rejections,
            now: GatewayService.milliseconds(gateway.now()))
        // Imported rows are forwarded while the upload goes on.
        gateway.forwarder.importPacer.rowsArrived()
        gateway.forwarder.wake()
        return stored
    }

    enum RowOutcome {
        case accepted(GatewayRequest)
        case rejected(ImportRejection)
    }

    /// One data row: a request exactly as `POST /v1/requests/<kind>` would store it, or its errors.
    func row(_ text: ImportRecordText, number: Int, reader: ImportRowReader, importId: String, clientName: String)
        -> RowOutcome
    {
        func rejected(_ errors: [ImportRowError]) -> RowOutcome {
            let raw = String(decoding: text.raw.prefix(ImportRejection.rawLimit), as: UTF8.self)
            return .rejected(ImportRejection(row: number, errors: errors, raw: raw))
        }
        switch reader.row(text) {
        case .invalid(let errors):
            return rejected(errors)
        case .body(let body, let kind):
            switch RequestMapper.validate(kind: kind, body: body) {
            case .failure(let failure):
                return rejected(
                    failure.violations.map {
                        ImportRowError(
                            field: String($0.pointer.drop(while: { $0 == "/" })), code: $0.code, message: $0.message)
                    })
            case .success(let validated):
                // The single endpoints check a callbackUrl against the client's allowlist; rows are not sent
                // webhooks, so one here is refused rather than stored unchecked.
                if validated.callbackUrl != nil {
                    return rejected([
                        ImportRowError(
                            field: "callbackUrl", code: "not_supported",
                            message: "imported rows are not sent webhooks; follow the import at GET /v1/imports/{id}")
                    ])
                }
                let now = GatewayService.milliseconds(gateway.now())
                var request = GatewayRequest(
                    id: Self.requestId(importId: importId, row: number), clientName: clientName, validated: validated,
                    idempotencyKey: nil, now: now)
                // No bodyDigest: it serves Idempotency-Key comparisons, and an imported row's idempotency is its id.
                request.importId = importId
                request.importRow = number
                return .accepted(request)
            }
        }
    }

    /// The id of the request made from row `row` of an import: the same on every upload of that import,
    /// which is what makes a re-upload create nothing new.
    public static func requestId(importId: String, row: Int) -> String {
        var bytes = Array(SHA256.hash(Array("\(importId)#\(row)".utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x80  // version 8: name-based, custom hash
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 4122 variant
        let hex = Hex.encode(bytes)
        let parts = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { range in
            String(
                hex[
                    hex.index(
                        hex.startIndex, offsetBy: range.lowerBound)..<hex.index(
                            hex.startIndex, offsetBy: range.upperBound)])
        }
        return parts.joined(separator: "-")
    }

    /// The import with its forwarding counts; an import whose rows are all settled is marked `done` here.
    public func current(_ record: ImportRecord) async throws -> (ImportRecord, ImportForwardingCounts) {
        guard let store else { throw StoreError("this store does not keep imports") }
        let counts = ImportForwardingCounts(statusCounts: try await store.importRequestCounts(importId: record.id))
        var record = record
        if record.status == .processing && counts.pending == 0 {
            let now = GatewayService.milliseconds(gateway.now())
            try await store.setImportStatus(id: record.id, status: .done, now: now)
            record.status = .done
            record.updatedAt = now
        }
        return (record, counts)
    }
}

extension GatewayService {
    /// SHA-256 (hex) of the canonical kind and body: what Idempotency-Key comparisons use.
    static func bodyDigest(kind: RequestKind, body: JSONValue) -> String {
        Hex.encode(SHA256.hash(JSONValue.object(["kind": .string(kind.rawValue), "body": body]).canonicalBytes))
    }
}

/// Paces the forwarding of imported rows: a token bucket of `rowsPerSecond` (one second of burst) that halves
/// its rate when Purview answers 429 and climbs back by a tenth of the configured rate per second after.
/// A value fed the time, so it is tested without waiting.
public struct ImportRateLimiter: Sendable {
    public let configuredRate: Double
    public private(set) var rate: Double
    private var tokens: Double
    private var last: Double?

    public init(rowsPerSecond: Double) {
        configuredRate = max(rowsPerSecond, 0.1)
        rate = configuredRate
        tokens = 0
    }

    private mutating func advance(to now: Double) {
        guard let last else {
            self.last = now
            tokens = rate
            return
        }
        let elapsed = max(now - last, 0)
        self.last = now
        rate = min(configuredRate, rate + configuredRate * 0.1 * elapsed)
        tokens = min(max(rate, 1), tokens + elapsed * rate)
    }

    /// Takes up to `wanted` rows' worth of tokens; returns how many were granted.
    public mutating func take(upTo wanted: Int, now: Double) -> Int {
        advance(to: now)
        let granted = min(wanted, Int(tokens.rounded(.down)))
        guard granted > 0 else { return 0 }
        tokens -= Double(granted)
        return granted
    }

    /// Returns tokens that were not used (fewer rows were due than granted).
    public mutating func giveBack(_ count: Int) {
        guard count > 0 else { return }
        tokens = min(max(rate, 1), tokens + Double(count))
    }

    /// Purview answered 429: halve the rate and empty the bucket.
    public mutating func throttled(now: Double) {
        advance(to: now)
        rate = max(rate / 2, min(configuredRate, 0.2))
        tokens = 0
    }
}

/// The forwarder's shared rate limiter for imported rows.
public final class ImportPacer: Sendable {
    private let limiter: Mutex<ImportRateLimiter>
    private let start = ContinuousClock.now
    /// After a claim found no imported row due, none is looked for until this time (seconds since `start`) or
    /// until new rows are stored: interactive forwarding then costs no extra claim.
    private let quietUntil = Mutex<Double>(0)

    public init(rowsPerSecond: Double) { limiter = Mutex(ImportRateLimiter(rowsPerSecond: rowsPerSecond)) }

    private var now: Double { start.duration(to: .now).seconds }

    public func take(upTo wanted: Int) -> Int {
        let now = self.now
        return limiter.withLock { $0.take(upTo: wanted, now: now) }
    }

    public func giveBack(_ count: Int) { limiter.withLock { $0.giveBack(count) } }

    /// Whether imported rows may be due (false for a second after a claim found none, unless rows arrived).
    var mayHaveRows: Bool {
        let now = self.now
        return quietUntil.withLock { now >= $0 }
    }

    /// A claim found no imported row due.
    func foundNone() {
        let now = self.now
        quietUntil.withLock { $0 = now + 1 }
    }

    /// Imported rows were stored: look again at once.
    public func rowsArrived() { quietUntil.withLock { $0 = 0 } }

    public func throttled() {
        let now = self.now
        limiter.withLock { $0.throttled(now: now) }
    }

    /// The current rate (rows per second), lower than configured after 429s.
    public var rate: Double { limiter.withLock { $0.rate } }
}

extension Forwarder {
    /// Imported rows to send beside the interactive ones just claimed: only while fewer than half the send
    /// slots are busy (interactive callers keep the rest), and at the import rate.
    func claimImported(capacity: Int, interactiveClaimed: Int) async -> [GatewayRequest] {
        guard let imports = store as? any ImportStore else { return [] }
        let room = capacity - interactiveClaimed - configuration.concurrency / 2
        guard room > 0, importPacer.mayHaveRows else { return [] }
        let granted = importPacer.take(upTo: room)
        guard granted > 0 else { return [] }
        do {
            let claimed = try await imports.claimImportedForwardable(
                now: now(), limit: granted, owner: configuration.owner, lease: configuration.lease)
            importPacer.giveBack(granted - claimed.count)
            if claimed.isEmpty { importPacer.foundNone() }
            return claimed
        } catch {
            importPacer.giveBack(granted)
            logger.error("cannot claim imported requests to forward", metadata: ["error": .string("\(error)")])
            return []
        }
    }
}
