public import PurviewWorkflow

/// One record of an import file: its fields (CSV) or its line (NDJSON), and the bytes as received.
public struct ImportRecordText: Sendable {
    public var fields: [String]
    public var raw: [UInt8]
}

/// Why a file cannot be read on (the rows before it stay imported).
public struct ImportFileError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Splits CSV (RFC 4180: quoted fields with `""` escapes and embedded newlines, CRLF or LF line ends, a
/// UTF-8 byte-order mark) or NDJSON into records, fed chunk by chunk: memory is bounded by the longest
/// record, never by the file.
public struct ImportRecordSplitter: Sendable {
    public let format: ImportFormat
    /// Longest record accepted; a longer one ends the file with an error (a CSV quote left open would
    /// otherwise swallow everything after it).
    public let maxRecordBytes: Int

    private var atStart = true
    /// The file's first bytes, held until three are in hand to recognise a byte-order mark.
    private var start: [UInt8] = []
    private var raw: [UInt8] = []
    private var field: [UInt8] = []
    private var fields: [String] = []
    private var inQuotes = false
    /// Just saw a `"` inside a quoted field: either an escaped quote or the field's end.
    private var quotePending = false
    private var fieldWasQuoted = false

    public init(format: ImportFormat, maxRecordBytes: Int = 1 << 20) {
        self.format = format
        self.maxRecordBytes = maxRecordBytes
    }

    /// Feeds bytes; complete records are passed to `emit` in order.
    public mutating func feed(_ chunk: [UInt8], _ emit: (ImportRecordText) throws -> Void) throws {
        if atStart {
            start += chunk
            guard start.count >= 3 else { return }
            try feedStart(emit)
            return
        }
        try feedBody(chunk, from: 0, emit)
    }

    /// Skips a UTF-8 byte-order mark (Excel writes one), then reads the first bytes.
    private mutating func feedStart(_ emit: (ImportRecordText) throws -> Void) throws {
        atStart = false
        let bytes = start
        start = []
        let index = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        try feedBody(bytes, from: index, emit)
    }

    private mutating func feedBody(_ chunk: [UInt8], from index: Int, _ emit: (ImportRecordText) throws -> Void) throws
    {
        switch format {
        case .ndjson: try feedLines(chunk, from: index, emit)
        case .csv: try feedCSV(chunk, from: index, emit)
        }
    }

    /// The input ended: emits a last record without a line end. Throws for a quote left open.
    public mutating func finish(_ emit: (ImportRecordText) throws -> Void) throws {
        if atStart { try feedStart(emit) }
        switch format {
        case .ndjson:
            if !raw.isEmpty { try emitLine(emit) }
        case .csv:
            if inQuotes && !quotePending { throw ImportFileError("the file ends inside a quoted field") }
            if !raw.isEmpty || !field.isEmpty || !fields.isEmpty { try endCSVRecord(emit) }
        }
    }

    private mutating func feedLines(_ chunk: [UInt8], from start: Int, _ emit: (ImportRecordText) throws -> Void) throws
    {
        var lineStart = start
        var index = start
        while index < chunk.count {
            if chunk[index] == UInt8(ascii: "\n") {
                raw.append(contentsOf: chunk[lineStart..<index])
                try emitLine(emit)
                lineStart = index + 1
            }
            index += 1
        }
        raw.append(contentsOf: chunk[lineStart..<chunk.count])
        if raw.count > maxRecordBytes { throw ImportFileError("a line is longer than \(maxRecordBytes) bytes") }
    }

    private mutating func emitLine(_ emit: (ImportRecordText) throws -> Void) throws {
        if raw.last == UInt8(ascii: "\r") { raw.removeLast() }
        defer { raw.removeAll(keepingCapacity: true) }
        guard raw.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }) else { return }
        if raw.count > maxRecordBytes { throw ImportFileError("a line is longer than \(maxRecordBytes) bytes") }
        try emit(ImportRecordText(fields: [], raw: raw))
    }

    private mutating func feedCSV(_ chunk: [UInt8], from start: Int, _ emit: (ImportRecordText) throws -> Void) throws {
        let quote = UInt8(ascii: "\"")
        var index = start
        while index < chunk.count {
            if raw.count > maxRecordBytes { throw ImportFileError("a record is longer than \(maxRecordBytes) bytes") }
            let byte = chunk[index]
            index += 1
            if quotePending {
                quotePending = false
                if byte == quote {
                    field.append(quote)
                    raw.append(byte)
                    continue
                }
                inQuotes = false
            }
            if inQuotes {
                raw.append(byte)
                if byte == quote { quotePending = true } else { field.append(byte) }
                continue
            }
            switch byte {
            case UInt8(ascii: ","):
                raw.append(byte)
                endField()
            case UInt8(ascii: "\n"):
                try endCSVRecord(emit)
            case quote where field.isEmpty && !fieldWasQuoted:
                raw.append(byte)
                inQuotes = true
                fieldWasQuoted = true
            case UInt8(ascii: "\r") where fieldWasQuoted:
                // `"a"\r\n`: the CR after a closing quote is the line end's.
                raw.append(byte)
            default:
                raw.append(byte)
                field.append(byte)
            }
        }
    }

    private mutating func endField() {
        // A CR before the LF of a CRLF belongs to the line end, not to an unquoted field.
        if !fieldWasQuoted, field.last == UInt8(ascii: "\r") { field.removeLast() }
        fields.append(String(decoding: field, as: UTF8.self))
        field.removeAll(keepingCapacity: true)
        fieldWasQuoted = false
    }

    private mutating func endCSVRecord(_ emit: (ImportRecordText) throws -> Void) throws {
        if raw.last == UInt8(ascii: "\r") { raw.removeLast() }
        endField()
        let record = ImportRecordText(fields: fields, raw: raw)
        fields.removeAll(keepingCapacity: true)
        raw.removeAll(keepingCapacity: true)
        // Blank lines separate nothing: skip them.
        if record.fields.count == 1 && record.fields[0].isEmpty && record.raw.isEmpty { return }
        try emit(record)
    }
}

/// Turns records into request bodies: the header names the body's fields; a `kind` column (CSV) or member
/// (NDJSON) sets the row's kind.
public struct ImportRowReader: Sendable {
    public let format: ImportFormat
    public let defaultKind: RequestKind?
    private(set) var header: [String]?

    public init(format: ImportFormat, defaultKind: RequestKind?) {
        self.format = format
        self.defaultKind = defaultKind
    }

    /// What one record became.
    public enum Row: Sendable {
        /// A body and the kind to validate it as.
        case body(JSONValue, RequestKind)
        case invalid([ImportRowError])
    }

    /// The header record (CSV): stores the column names. Throws for an empty or duplicated header.
    public mutating func readHeader(_ record: ImportRecordText) throws {
        let names = record.fields.map { $0.trimmingWhitespace() }
        guard names.contains(where: { !$0.isEmpty }) else { throw ImportFileError("the CSV header row is empty") }
        var seen = Set<String>()
        for name in names where !name.isEmpty {
            guard seen.insert(name).inserted else { throw ImportFileError("the CSV header names '\(name)' twice") }
        }
        header = names
    }

    public var needsHeader: Bool { format == .csv && header == nil }

    public func row(_ record: ImportRecordText) -> Row {
        switch format {
        case .csv: return csvRow(record.fields)
        case .ndjson: return ndjsonRow(record.raw)
        }
    }

    private func csvRow(_ fields: [String]) -> Row {
        let header = header ?? []
        guard fields.count == header.count else {
            return .invalid([
                ImportRowError(
                    field: "", code: "malformed_row",
                    message: "has \(fields.count) fields; the header has \(header.count)")
            ])
        }
        var object = JSONObject()
        var kindText: String?
        for (name, value) in zip(header, fields) where !name.isEmpty {
            if name == "kind" {
                kindText = value.trimmingWhitespace()
                continue
            }
            guard !value.isEmpty else { continue }
            object[name] = Self.cellValue(value)
        }
        return kinded(.object(object), kindText: kindText)
    }

    /// A cell is a string, unless it holds a JSON array or object (people lists, `changes`).
    static func cellValue(_ text: String) -> JSONValue {
        let trimmed = text.trimmingWhitespace()
        if let first = trimmed.utf8.first, first == UInt8(ascii: "[") || first == UInt8(ascii: "{"),
            let parsed = try? JSONValue(parsing: Array(trimmed.utf8))
        {
            return parsed
        }
        return .string(text)
    }

    private func ndjsonRow(_ line: [UInt8]) -> Row {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: line)
        } catch {
            return .invalid([ImportRowError(field: "", code: "malformed_json", message: "is not valid JSON: \(error)")])
        }
        guard case .object(var object) = value else {
            return .invalid([ImportRowError(field: "", code: "invalid_type", message: "must be a JSON object")])
        }
        var kindText: String?
        if let kind = object["kind"] {
            guard case .string(let text) = kind else {
                return .invalid([ImportRowError(field: "kind", code: "invalid_type", message: "must be a string")])
            }
            kindText = text
            object["kind"] = nil
        }
        return kinded(.object(object), kindText: kindText)
    }

    private func kinded(_ body: JSONValue, kindText: String?) -> Row {
        if let kindText, !kindText.isEmpty {
            guard let kind = RequestKind(rawValue: kindText) else {
                return .invalid([
                    ImportRowError(
                        field: "kind", code: "invalid_value",
                        message:
                            "unknown kind '\(kindText)'; one of \(RequestKind.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                ])
            }
            return .body(body, kind)
        }
        guard let defaultKind else {
            return .invalid([
                ImportRowError(field: "kind", code: "required", message: "give ?kind= on the upload or a kind per row")
            ])
        }
        return .body(body, defaultKind)
    }
}
