import PurviewWorkflow

// Operations of user requests, the triggers they fire, the run input workflows see, and the scope
// rules. Only CreateTerm's payload (an Atlas glossary term under `glossaryTerm`) is published; the
// readings of the others below are ours.

/// The operation types of a user request and the trigger each one fires.
enum OperationKind: String, Sendable, CaseIterable {
    case createTerm = "CreateTerm"
    case updateTerm = "UpdateTerm"
    case deleteTerm = "DeleteTerm"
    case importTerms = "ImportTerms"
    case updateAsset = "UpdateAsset"
    case grantDataAccess = "GrantDataAccess"

    var triggerType: String {
        switch self {
        case .createTerm: "when_term_creation_is_requested"
        case .updateTerm: "when_term_update_is_requested"
        case .deleteTerm: "when_term_deletion_is_requested"
        case .importTerms: "when_terms_import_is_requested"
        case .updateAsset: "when_asset_update_is_requested"
        case .grantDataAccess: "when_data_access_grant_is_requested"
        }
    }

    static func forTrigger(_ type: String) -> OperationKind? { allCases.first { $0.triggerType == type } }

    var isTermOperation: Bool { self == .createTerm || self == .updateTerm || self == .deleteTerm }
}

/// `underGlossaryHierarchy`: `/glossaries/<glossaryGuid>` or `/terms/<parentTermGuid>`.
enum GlossaryScope: Sendable, Hashable {
    case glossary(String)
    case term(String)

    init?(path: String) {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard parts.count == 2, !parts[1].isEmpty else { return nil }
        switch parts[0].lowercased() {
        case "glossaries": self = .glossary(parts[1].lowercased())
        case "terms": self = .term(parts[1].lowercased())
        default: return nil
        }
    }
}

/// The fields of an operation's payload that matching and run inputs use.
struct OperationFacts: Sendable {
    var kind: OperationKind
    var payload: JSONValue

    /// The Atlas glossary term: `payload.glossaryTerm` (published), else `payload.term`.
    var term: JSONValue? { payload["glossaryTerm"] ?? payload["term"] }

    /// `glossaryTerm.anchor.glossaryGuid`; for ImportTerms `payload.glossaryGuid` or `payload.anchor.glossaryGuid`.
    var glossaryGuid: String? {
        (term?["anchor"]?["glossaryGuid"] ?? payload["glossaryGuid"] ?? payload["anchor"]?["glossaryGuid"]
            ?? payload["glossary"]?["guid"])?.stringValue?.lowercased()
    }

    /// `glossaryTerm.parentRelatedTerm.termGuid` (the Purview term shape), else `parentTerm.termGuid`
    /// or a plain `parentTermGuid`.
    var parentTermGuid: String? {
        guard let term else { return nil }
        return (term["parentRelatedTerm"]?["termGuid"] ?? term["parentTerm"]?["termGuid"] ?? term["parentTermGuid"])?
            .stringValue?.lowercased()
    }

    /// Collections the payload names: `collection` / `collectionName` / `collectionId` at the top or
    /// under `asset`, a collection given as a string or as an Atlas `{referenceName}` reference.
    var collections: [String] {
        var names: [String] = []
        for holder in [payload, payload["asset"] ?? .null] {
            for key in ["collection", "collectionName", "collectionId"] {
                guard let value = holder[key] else { continue }
                if let name = value.stringValue ?? value["referenceName"]?.stringValue ?? value["name"]?.stringValue {
                    names.append(name.lowercased())
                }
            }
        }
        return names
    }

    /// The run's `targetValue`: the term name; for assets their name, qualifiedName or guid; for
    /// imports the file name or glossary.
    var targetValue: String {
        if let name = term?["name"]?.stringValue { return name }
        let asset = payload["asset"]
        if let name = (asset?["name"] ?? asset?["qualifiedName"] ?? asset?["guid"])?.stringValue { return name }
        if let name = (payload["fileName"] ?? payload["name"] ?? payload["glossaryGuid"])?.stringValue { return name }
        return ""
    }

    /// What `runInput()` returns in runs for this operation.
    ///
    /// CreateTerm/UpdateTerm/DeleteTerm: `{requestor, term:{name, formalName, definition, experts[],
    /// stewards[], parent}}` as the service shows, formalName from the Atlas `nickName`, definition
    /// from `longDescription`, experts and stewards the ids of `contacts.Expert` / `contacts.Steward`,
    /// parent the parent term's displayText or guid; Update/Delete add the term's `guid` when given.
    /// Other operations: `{requestor}` plus the payload's own top-level fields.
    func runInput(requestor: String) -> JSONValue {
        if kind.isTermOperation {
            let term = self.term ?? .object([:])
            let name = term["name"] ?? .null
            var shape: JSONObject = [
                "name": name,
                "formalName": term["nickName"] ?? name,
                "definition": term["longDescription"] ?? .null,
                "experts": .array(contactIds(term, "Expert")),
                "stewards": .array(contactIds(term, "Steward")),
                "parent": (term["parentRelatedTerm"]?["displayText"] ?? term["parentRelatedTerm"]?["termGuid"])
                    ?? .null,
            ]
            if kind != .createTerm, let guid = term["guid"] { shape["guid"] = guid }
            return ["requestor": .string(requestor), "term": .object(shape)]
        }
        var input: JSONObject = ["requestor": .string(requestor)]
        for (key, value) in payload.objectValue ?? JSONObject() where key != "requestor" { input[key] = value }
        return .object(input)
    }

    private func contactIds(_ term: JSONValue, _ role: String) -> [JSONValue] {
        (term["contacts"]?[role]?.arrayValue ?? []).compactMap { entry in
            (entry["id"] ?? (entry.stringValue.map { .string($0) })).flatMap { $0.isNull ? nil : $0 }
        }
    }
}

enum TriggerMatcher {
    /// Whether `trigger` fires for the operation. No scope covers the whole account. A glossary scope
    /// matches a term anchored in that glossary or whose parent term is the given term; a collection
    /// scope matches when the payload names that collection, and the root collection (the account
    /// name) matches every operation.
    static func matches(_ trigger: JSONValue, _ facts: OperationFacts, rootCollection: String) -> Bool {
        guard let object = trigger.objectValue, object["type"]?.stringValue == facts.kind.triggerType else {
            return false
        }
        if let path = object["underGlossaryHierarchy"]?.stringValue {
            switch GlossaryScope(path: path) {
            case .glossary(let guid):
                guard facts.glossaryGuid == guid else { return false }
            case .term(let guid):
                guard facts.parentTermGuid == guid else { return false }
            case nil:
                return false
            }
        }
        if let glossary = object["underGlossary"]?.stringValue, facts.glossaryGuid != glossary.lowercased() {
            return false
        }
        var collectionScopes: [String] = []
        if let collection = object["underCollection"]?.stringValue { collectionScopes.append(collection) }
        if let filter = object["eligibleAssetFilter"], filter["type"]?.stringValue == "underCollection",
            let collection = filter["value"]?.stringValue
        {
            collectionScopes.append(collection)
        }
        let named = facts.collections
        for collection in collectionScopes {
            let wanted = collection.lowercased()
            if wanted == rootCollection.lowercased() { continue }
            guard named.contains(wanted) else { return false }
        }
        return true
    }
}
