import PurviewWorkflow
import Testing

@testable import PurviewEmulator

private let parentGuid = "5a2e74da-32f4-408d-9e67-3d4da9215470"

private func term(glossary: String = glossaryGuid, parent: String? = nil) -> OperationFacts {
    var glossaryTerm: JSONObject = ["name": "Revenue", "anchor": ["glossaryGuid": .string(glossary)]]
    if let parent { glossaryTerm["parentRelatedTerm"] = ["termGuid": .string(parent)] }
    return OperationFacts(kind: .createTerm, payload: ["glossaryTerm": .object(glossaryTerm)])
}

private func matches(_ trigger: JSONValue, _ facts: OperationFacts) -> Bool {
    TriggerMatcher.matches(trigger, facts, rootCollection: "contoso")
}

@Suite struct TriggerMatching {
    @Test func typeMustMatchTheOperation() {
        #expect(matches(["type": "when_term_creation_is_requested"], term()))
        #expect(!matches(["type": "when_term_deletion_is_requested"], term()))
        let delete = OperationFacts(kind: .deleteTerm, payload: ["glossaryTerm": ["name": "x"]])
        #expect(matches(["type": "when_term_deletion_is_requested"], delete))
    }

    @Test func everyOperationHasItsTrigger() {
        #expect(
            OperationKind.allCases.map(\.triggerType) == [
                "when_term_creation_is_requested", "when_term_update_is_requested", "when_term_deletion_is_requested",
                "when_terms_import_is_requested", "when_asset_update_is_requested",
                "when_data_access_grant_is_requested",
            ])
    }

    @Test func glossaryScope() {
        let trigger: JSONValue = [
            "type": "when_term_creation_is_requested",
            "underGlossaryHierarchy": .string("/glossaries/\(glossaryGuid.uppercased())"),
        ]
        #expect(matches(trigger, term()))
        #expect(!matches(trigger, term(glossary: "99999999-b4df-4a66-a61d-1b0716f3fa48")))
        #expect(!matches(trigger, OperationFacts(kind: .createTerm, payload: ["glossaryTerm": ["name": "x"]])))
    }

    @Test func parentTermScope() {
        let trigger: JSONValue = [
            "type": "when_term_creation_is_requested", "underGlossaryHierarchy": .string("/terms/\(parentGuid)"),
        ]
        #expect(matches(trigger, term(parent: parentGuid)))
        #expect(!matches(trigger, term(parent: "00000000-32f4-408d-9e67-3d4da9215470")))
        #expect(!matches(trigger, term()))
        let legacyShape = OperationFacts(
            kind: .createTerm,
            payload: ["glossaryTerm": ["name": "x", "parentTerm": ["termGuid": .string(parentGuid)]]])
        #expect(matches(trigger, legacyShape))
    }

    @Test func collectionScope() {
        let trigger: JSONValue = ["type": "when_data_access_grant_is_requested", "underCollection": "Finance"]
        let named = OperationFacts(
            kind: .grantDataAccess, payload: ["asset": ["name": "t", "collectionId": "finance"]])
        let reference = OperationFacts(
            kind: .grantDataAccess,
            payload: ["asset": ["collection": ["type": "CollectionReference", "referenceName": "finance"]]])
        let topLevel = OperationFacts(kind: .grantDataAccess, payload: ["collectionName": "Finance"])
        let other = OperationFacts(kind: .grantDataAccess, payload: ["asset": ["collectionId": "sales"]])
        let none = OperationFacts(kind: .grantDataAccess, payload: ["asset": ["name": "t"]])
        #expect(matches(trigger, named))
        #expect(matches(trigger, reference))
        #expect(matches(trigger, topLevel))
        #expect(!matches(trigger, other))
        #expect(!matches(trigger, none))
    }

    @Test func rootCollectionMatchesEverything() {
        let none = OperationFacts(kind: .grantDataAccess, payload: ["asset": ["name": "t"]])
        #expect(matches(["type": "when_data_access_grant_is_requested", "underCollection": "Contoso"], none))
        // The live trigger shape with eligibleAssetFilter.
        let live: JSONValue = [
            "type": "when_data_access_grant_is_requested", "underCollection": "contoso",
            "eligibleAssetFilter": ["type": "underCollection", "value": "contoso"],
        ]
        #expect(matches(live, none))
        let filtered: JSONValue = [
            "type": "when_data_access_grant_is_requested",
            "eligibleAssetFilter": ["type": "underCollection", "value": "hr"],
        ]
        #expect(!matches(filtered, none))
    }

    @Test func createTermRunInputHasTheServiceShape() {
        let facts = OperationFacts(
            kind: .createTerm, payload: json(Fixtures.submitUserRequest2023)["operations"]![0]!["payload"]!)
        #expect(
            facts.runInput(requestor: "eece94d9-0619-4669-bb8a-d6ecec5220bc")
                == json(
                    #"{"requestor":"eece94d9-0619-4669-bb8a-d6ecec5220bc","term":{"name":"term","formalName":"term","definition":null,"experts":[],"stewards":[],"parent":null}}"#
                ))
        #expect(facts.targetValue == "term")
    }

    @Test func termRunInputReadsAtlasFields() {
        let facts = OperationFacts(
            kind: .updateTerm,
            payload: [
                "glossaryTerm": [
                    "guid": "g1", "name": "Revenue", "nickName": "Gross Revenue", "longDescription": "Money in",
                    "contacts": ["Expert": [["id": "x@contoso.com", "info": "x"]], "Steward": [["id": "s1"]]],
                    "parentRelatedTerm": ["termGuid": "p1", "displayText": "Finance"],
                ]
            ])
        #expect(
            facts.runInput(requestor: "r")
                == [
                    "requestor": "r",
                    "term": [
                        "name": "Revenue", "formalName": "Gross Revenue", "definition": "Money in",
                        "experts": ["x@contoso.com"], "stewards": ["s1"], "parent": "Finance", "guid": "g1",
                    ],
                ])
    }

    @Test func otherOperationsExposeTheirPayload() {
        let facts = OperationFacts(
            kind: .updateAsset, payload: ["asset": ["name": "orders", "guid": "a1"], "requestor": "spoof"])
        #expect(facts.runInput(requestor: "r") == ["requestor": "r", "asset": ["name": "orders", "guid": "a1"]])
        #expect(facts.targetValue == "orders")
        #expect(OperationFacts(kind: .importTerms, payload: ["fileName": "terms.csv"]).targetValue == "terms.csv")
    }

    @Test func engineStartsOneRunPerMatchingEnabledWorkflow() throws {
        var engine = makeEngine()
        let scoped = "00000000-0000-0000-0000-00000000000a"
        let other = "00000000-0000-0000-0000-00000000000b"
        let disabled = "00000000-0000-0000-0000-00000000000c"
        let deletion = "00000000-0000-0000-0000-00000000000d"
        try engine.put(
            approvalWorkflow(
                trigger: [
                    "type": "when_term_creation_is_requested",
                    "underGlossaryHierarchy": .string("/glossaries/\(glossaryGuid)"),
                ]),
            id: scoped)
        try engine.put(approvalWorkflow(), id: other)
        try engine.put(approvalWorkflow(isEnabled: false), id: disabled)
        try engine.put(approvalWorkflow(trigger: ["type": "when_term_deletion_is_requested"]), id: deletion)
        let (response, _) = try engine.submit(createTermRequest())
        let runIds = response["operations"]?[0]?["workflowRunIds"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(runIds.count == 2)
        #expect(runIds.compactMap { engine.state.runs[$0]?.workflowId } == [scoped, other])
        #expect(response["workflowRunIds"]?.arrayValue?.compactMap(\.stringValue) == runIds)
        #expect(response["status"] == "InProgress")
        #expect(engine.effects.isEmpty)
    }
}
