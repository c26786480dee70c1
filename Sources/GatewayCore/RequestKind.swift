public import PurviewWorkflow

/// What a caller asks for; each kind has one endpoint (`POST /v1/requests/<rawValue>`) and one mapping.
public enum RequestKind: String, Sendable, Hashable, CaseIterable, Codable {
    case termCreation = "term-creation"
    case termUpdate = "term-update"
    case termDeletion = "term-deletion"
    case dataAccess = "data-access"
    case assetUpdate = "asset-update"

    /// The Purview `UserRequestPayload` operation type this kind maps to.
    public var operationType: String {
        switch self {
        case .termCreation: "CreateTerm"
        case .termUpdate: "UpdateTerm"
        case .termDeletion: "DeleteTerm"
        case .dataAccess: "GrantDataAccess"
        case .assetUpdate: "UpdateAsset"
        }
    }
}

/// One operation of a Purview user request.
public struct PurviewOperation: Sendable, Hashable {
    public var type: String
    public var payload: JSONValue

    public init(type: String, payload: JSONValue) {
        self.type = type
        self.payload = payload
    }

    public var json: JSONValue { .object(["type": .string(type), "payload": payload]) }
}

/// A request body that passed validation, with the operations it maps to.
public struct ValidatedRequest: Sendable, Hashable {
    public var kind: RequestKind
    /// The person on whose behalf the caller asks: an email address or an Entra object id.
    public var requestedBy: String
    public var comment: String?
    public var operations: [PurviewOperation]
    /// A short human label of what the request is about (term name, asset id).
    public var subject: String
    /// The body as accepted, for the audit trail and idempotency comparison.
    public var body: JSONValue
    /// The body's `callbackUrl` (syntax checked; the client's allowlist is the API's to check).
    public var callbackUrl: String? = nil
}

/// Limits from the contract.
public enum RequestLimits {
    public static let nameLength = 256
    public static let definitionLength = 32 * 1024
    public static let commentLength = 4 * 1024
    public static let qualifiedNameLength = 4 * 1024
    public static let peoplePerList = 100
    public static let attributesBytes = 32 * 1024
}

/// Validates bodies and maps them to Purview operations: the one documented table (docs/MAPPING.md).
public enum RequestMapper {
    static let termStatuses = ["Draft", "Approved", "Alert", "Expired"]

    /// Validates `body` for `kind`; every violation is reported with its JSON pointer.
    public static func validate(kind: RequestKind, body: JSONValue) -> Result<ValidatedRequest, ValidationFailure> {
        var violations: [FieldViolation] = []
        var reader = ObjectReader(body, violations: &violations)
        let requestedBy = requestedBy(&reader)
        let comment = reader.string("comment", required: false, maxLength: RequestLimits.commentLength)
        let callbackUrl = CallbackURL.read(&reader)
        let mapped: (payload: JSONValue, subject: String)?
        switch kind {
        case .termCreation: mapped = termCreation(&reader)
        case .termUpdate: mapped = termUpdate(&reader)
        case .termDeletion: mapped = termDeletion(&reader)
        case .dataAccess: mapped = dataAccess(&reader, requestedBy: requestedBy)
        case .assetUpdate: mapped = assetUpdate(&reader)
        }
        reader.rejectUnknown()
        violations += reader.violations
        guard violations.isEmpty, let mapped, let requestedBy else {
            return .failure(ValidationFailure(violations))
        }
        return .success(
            ValidatedRequest(
                kind: kind, requestedBy: requestedBy, comment: comment,
                operations: [PurviewOperation(type: kind.operationType, payload: mapped.payload)],
                subject: mapped.subject, body: body, callbackUrl: callbackUrl))
    }

    /// The user request's comment carries the person, since Purview records the gateway's principal.
    public static func purviewComment(requestedBy: String, clientName: String, comment: String?) -> String {
        let prefix = "Requested by \(requestedBy) via \(clientName)"
        guard let comment, !comment.isEmpty else { return prefix }
        return prefix + ": " + comment
    }

    private static func requestedBy(_ reader: inout ObjectReader) -> String? {
        guard let text = reader.string("requestedBy", required: true, maxLength: 254) else { return nil }
        guard let person = Identifiers.person(text) else {
            reader.fail("requestedBy", "invalid_format", "must be an email address or an Entra object id (UUID)")
            return nil
        }
        return person
    }

    private static func people(_ reader: inout ObjectReader, _ key: String) -> [JSONValue]? {
        reader.stringArray(key, maxCount: RequestLimits.peoplePerList, element: Identifiers.person)?.map { person in
            Identifiers.isUUID(person) ? .object(["id": .string(person)]) : .object(["info": .string(person)])
        }
    }

    private static func termStatus(_ reader: inout ObjectReader) -> String? {
        guard let status = reader.string("status", required: false, maxLength: 16) else { return nil }
        guard let canonical = termStatuses.first(where: { $0.lowercased() == status.lowercased() }) else {
            reader.fail("status", "invalid_value", "must be one of \(termStatuses.joined(separator: ", "))")
            return nil
        }
        return canonical
    }

    /// Fields shared by creation and update, written in Atlas glossary-term spelling.
    private static func termFields(_ reader: inout ObjectReader, nameRequired: Bool, into term: inout JSONObject) -> String? {
        let name = reader.string("name", required: nameRequired, maxLength: RequestLimits.nameLength)
        if let name { term["name"] = .string(name) }
        if let definition = reader.string("definition", required: nameRequired, maxLength: RequestLimits.definitionLength) {
            term["longDescription"] = .string(definition)
        }
        if let nickName = reader.string("nickName", required: false, maxLength: RequestLimits.nameLength) {
            term["nickName"] = .string(nickName)
        }
        if let status = termStatus(&reader) { term["status"] = .string(status) }
        if let parent = reader.uuid("parentTermId", required: false) {
            term["parentRelatedTerm"] = .object(["termGuid": .string(parent)])
        }
        var contacts = JSONObject()
        if let experts = people(&reader, "experts") { contacts["Expert"] = .array(experts) }
        if let stewards = people(&reader, "stewards") { contacts["Steward"] = .array(stewards) }
        if !contacts.isEmpty { term["contacts"] = .object(contacts) }
        return name
    }

    private static func termCreation(_ reader: inout ObjectReader) -> (JSONValue, String)? {
        var term = JSONObject()
        let name = termFields(&reader, nameRequired: true, into: &term)
        let glossary = reader.uuid("glossaryId", required: true)
        guard let name, let glossary else { return nil }
        term["anchor"] = .object(["glossaryGuid": .string(glossary)])
        return (.object(["glossaryTerm": .object(term)]), name)
    }

    private static func termUpdate(_ reader: inout ObjectReader) -> (JSONValue, String)? {
        let termId = reader.uuid("termId", required: true)
        let glossary = reader.uuid("glossaryId", required: false)
        var term = JSONObject()
        let name = termFields(&reader, nameRequired: false, into: &term)
        guard let termId else { return nil }
        if term.isEmpty {
            reader.fail("", "required", "name at least one field to change (name, definition, nickName, status, parentTermId, experts, stewards)")
            return nil
        }
        term["guid"] = .string(termId)
        if let glossary { term["anchor"] = .object(["glossaryGuid": .string(glossary)]) }
        return (.object(["glossaryTerm": .object(term)]), name ?? termId)
    }

    private static func termDeletion(_ reader: inout ObjectReader) -> (JSONValue, String)? {
        let termId = reader.uuid("termId", required: true)
        let glossary = reader.uuid("glossaryId", required: false)
        let name = reader.string("name", required: false, maxLength: RequestLimits.nameLength)
        guard let termId else { return nil }
        var term: JSONObject = ["guid": .string(termId)]
        if let name { term["name"] = .string(name) }
        if let glossary { term["anchor"] = .object(["glossaryGuid": .string(glossary)]) }
        return (.object(["glossaryTerm": .object(term)]), name ?? termId)
    }

    /// `assetId` or `qualifiedName`, exactly one, plus the optional collection used for workflow scoping.
    private static func asset(_ reader: inout ObjectReader, into payload: inout JSONObject) -> String? {
        let assetId = reader.uuid("assetId", required: false)
        let qualifiedName = reader.string("qualifiedName", required: false, maxLength: RequestLimits.qualifiedNameLength)
        let collection = reader.string("collection", required: false, maxLength: RequestLimits.nameLength)
        var asset = JSONObject()
        switch (assetId, qualifiedName) {
        case (let id?, nil): asset["guid"] = .string(id)
        case (nil, let name?): asset["qualifiedName"] = .string(name)
        case (_?, _?):
            reader.fail("qualifiedName", "conflict", "give assetId or qualifiedName, not both")
            return nil
        case (nil, nil):
            if reader.object["assetId"] == nil && reader.object["qualifiedName"] == nil {
                reader.fail("assetId", "required", "assetId or qualifiedName is required")
            }
            return nil
        }
        payload["asset"] = .object(asset)
        if let collection { payload["collectionName"] = .string(collection) }
        return assetId ?? qualifiedName
    }

    private static func dataAccess(_ reader: inout ObjectReader, requestedBy: String?) -> (JSONValue, String)? {
        var payload = JSONObject()
        let subject = asset(&reader, into: &payload)
        let purpose = reader.string("purpose", required: true, maxLength: RequestLimits.commentLength)
        let duration = reader.string("duration", required: false, maxLength: 32)
        if let duration, !ISODuration.isValid(duration) {
            reader.fail("duration", "invalid_format", "must be an ISO 8601 duration such as P30D or PT12H")
        }
        guard let subject, let purpose else { return nil }
        payload["purpose"] = .string(purpose)
        if let duration, ISODuration.isValid(duration) { payload["duration"] = .string(duration) }
        if let requestedBy { payload["requestedFor"] = .string(requestedBy) }
        return (.object(payload), subject)
    }

    private static func assetUpdate(_ reader: inout ObjectReader) -> (JSONValue, String)? {
        var payload = JSONObject()
        let subject = asset(&reader, into: &payload)
        let changes = reader.object("changes")
        if changes == nil && reader.object["changes"] == nil {
            reader.fail("changes", "required", "is required: the asset attributes to change")
        }
        if let changes {
            if changes.isEmpty { reader.fail("changes", "too_short", "must change at least one attribute") }
            if JSONValue.object(changes).serialized().count > RequestLimits.attributesBytes {
                reader.fail("changes", "too_long", "must be at most \(RequestLimits.attributesBytes) bytes of JSON")
            }
        }
        guard let subject, let changes, !changes.isEmpty else { return nil }
        payload["attributes"] = .object(changes)
        return (.object(payload), subject)
    }
}

/// ISO 8601 durations as Purview and people write them: `P30D`, `P1Y2M`, `PT12H`, `P1DT2H30M`.
enum ISODuration {
    static func isValid(_ text: String) -> Bool {
        var bytes = Array(text.utf8)[...]
        guard bytes.first == UInt8(ascii: "P"), bytes.count > 1 else { return false }
        bytes = bytes.dropFirst()
        var inTime = false
        var sawComponent = false
        var digits = 0
        var dateUnits = Array("YMWD".utf8)[...]
        var timeUnits = Array("HMS".utf8)[...]
        for byte in bytes {
            if byte == UInt8(ascii: "T") {
                guard !inTime, digits == 0 else { return false }
                inTime = true
                continue
            }
            if byte >= 0x30 && byte <= 0x39 {
                digits += 1
                if digits > 6 { return false }
                continue
            }
            guard digits > 0 else { return false }
            if inTime {
                guard let index = timeUnits.firstIndex(of: byte) else { return false }
                timeUnits = timeUnits[(index + 1)...]
            } else {
                guard let index = dateUnits.firstIndex(of: byte) else { return false }
                dateUnits = dateUnits[(index + 1)...]
            }
            digits = 0
            sawComponent = true
        }
        return sawComponent && digits == 0 && !(inTime && timeUnits.count == 3)
    }
}
