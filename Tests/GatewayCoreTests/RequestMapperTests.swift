import GatewayCore
import PurviewWorkflow
import Testing

@Suite struct RequestMapperTests {
    let glossary = "20031e20-b4df-4a66-a61d-1b0716f3fa48"

    func violations(_ kind: RequestKind, _ body: JSONValue) -> [FieldViolation] {
        guard case .failure(let failure) = RequestMapper.validate(kind: kind, body: body) else { return [] }
        return failure.violations
    }

    @Test func minimalTermCreationMapsToCreateTerm() throws {
        let body: JSONValue = [
            "glossaryId": .string(glossary), "name": "Revenue", "definition": "Money in.",
            "requestedBy": "Ada@Contoso.com",
        ]
        let request = try RequestMapper.validate(kind: .termCreation, body: body).get()
        #expect(request.requestedBy == "ada@contoso.com")
        #expect(request.subject == "Revenue")
        #expect(request.operations.count == 1)
        #expect(request.operations[0].type == "CreateTerm")
        let expected: JSONValue = [
            "glossaryTerm": [
                "name": "Revenue", "longDescription": "Money in.", "anchor": ["glossaryGuid": .string(glossary)],
            ]
        ]
        #expect(request.operations[0].payload == expected)
    }

    @Test func fullTermCreationCarriesEveryField() throws {
        let expert = "6f1c3b7e-2a51-4c1d-9f0e-1b2c3d4e5f60"
        let body: JSONValue = [
            "glossaryId": .string(glossary), "name": " Churn ", "definition": "Customers lost.", "status": "approved",
            "parentTermId": "0f8b3b7e-2a51-4c1d-9f0e-1b2c3d4e5f61", "experts": [.string(expert)],
            "stewards": ["bob@contoso.com"], "nickName": "churn", "requestedBy": .string(expert), "comment": "Q3",
        ]
        let term = try RequestMapper.validate(kind: .termCreation, body: body).get().operations[0].payload["glossaryTerm"]
        #expect(term?["name"] == "Churn")
        #expect(term?["status"] == "Approved")
        #expect(term?["parentRelatedTerm"]?["termGuid"] == "0f8b3b7e-2a51-4c1d-9f0e-1b2c3d4e5f61")
        #expect(term?["contacts"]?["Expert"]?[0]?["id"] == .string(expert))
        #expect(term?["contacts"]?["Steward"]?[0]?["info"] == "bob@contoso.com")
    }

    @Test func everyViolationIsReportedWithItsPointer() {
        let body: JSONValue = [
            "glossaryId": "not-a-uuid", "name": .string(String(repeating: "n", count: 257)), "definition": 5,
            "requestedBy": "nobody", "experts": ["ok@contoso.com", "bad"], "colour": "blue",
        ]
        let found = Set(violations(.termCreation, body).map { "\($0.pointer) \($0.code)" })
        #expect(
            found == [
                "/glossaryId invalid_format", "/name too_long", "/definition invalid_type",
                "/requestedBy invalid_format", "/experts/1 invalid_format", "/colour unknown_field",
            ])
    }

    @Test func missingFieldsAreRequired() {
        let found = Set(violations(.termCreation, [:]).map { "\($0.pointer) \($0.code)" })
        #expect(found == ["/glossaryId required", "/name required", "/definition required", "/requestedBy required"])
        #expect(violations(.termCreation, "text").first?.code == "invalid_type")
    }

    @Test func limitsFromTheContract() {
        let base: [String: JSONValue] = [
            "glossaryId": .string(glossary), "name": "n", "definition": "d", "requestedBy": "a@b.co",
        ]
        func with(_ key: String, _ value: JSONValue) -> JSONValue {
            var body = base
            body[key] = value
            return .object(JSONObject(body.map { ($0.key, $0.value) }))
        }
        #expect(violations(.termCreation, with("name", .string(String(repeating: "é", count: 256)))).isEmpty)
        #expect(violations(.termCreation, with("definition", .string(String(repeating: "d", count: 32 * 1024)))).isEmpty)
        #expect(violations(.termCreation, with("definition", .string(String(repeating: "d", count: 32 * 1024 + 1)))).map(\.code) == ["too_long"])
        #expect(violations(.termCreation, with("comment", .string(String(repeating: "c", count: 4097)))).map(\.pointer) == ["/comment"])
        #expect(violations(.termCreation, with("status", "Sideways")).map(\.code) == ["invalid_value"])
    }

    @Test func dataAccessNeedsExactlyOneAssetReference() throws {
        let ok: JSONValue = ["qualifiedName": "mssql://db/sales/orders", "purpose": "Quarterly report", "requestedBy": "ada@contoso.com", "duration": "P30D", "collection": "finance"]
        let request = try RequestMapper.validate(kind: .dataAccess, body: ok).get()
        #expect(request.operations[0].type == "GrantDataAccess")
        #expect(request.operations[0].payload["asset"]?["qualifiedName"] == "mssql://db/sales/orders")
        #expect(request.operations[0].payload["collectionName"] == "finance")
        #expect(request.operations[0].payload["requestedFor"] == "ada@contoso.com")
        let neither: JSONValue = ["purpose": "p", "requestedBy": "ada@contoso.com"]
        #expect(violations(.dataAccess, neither).map(\.pointer) == ["/assetId"])
        let both: JSONValue = ["assetId": .string(glossary), "qualifiedName": "x", "purpose": "p", "requestedBy": "ada@contoso.com"]
        #expect(violations(.dataAccess, both).map(\.code) == ["conflict"])
        let badDuration: JSONValue = ["assetId": .string(glossary), "purpose": "p", "requestedBy": "ada@contoso.com", "duration": "30 days"]
        #expect(violations(.dataAccess, badDuration).map(\.pointer) == ["/duration"])
    }

    @Test(arguments: ["P30D", "PT12H", "P1Y2M", "P1DT2H30M", "P2W"])
    func validDurations(_ text: String) throws {
        let body: JSONValue = ["assetId": .string(glossary), "purpose": "p", "requestedBy": "ada@contoso.com", "duration": .string(text)]
        #expect(violations(.dataAccess, body).isEmpty)
    }

    @Test(arguments: ["P", "PT", "30D", "P30", "PD", "P1M2Y", "PT1H2H", "P1DT", "P12345678D"])
    func invalidDurations(_ text: String) throws {
        let body: JSONValue = ["assetId": .string(glossary), "purpose": "p", "requestedBy": "ada@contoso.com", "duration": .string(text)]
        #expect(violations(.dataAccess, body).map(\.pointer) == ["/duration"])
    }

    @Test func termUpdateNeedsAChange() throws {
        let term = "0f8b3b7e-2a51-4c1d-9f0e-1b2c3d4e5f61"
        #expect(violations(.termUpdate, ["termId": .string(term), "requestedBy": "a@b.co"]).map(\.code) == ["required"])
        let update = try RequestMapper.validate(kind: .termUpdate, body: ["termId": .string(term), "definition": "new", "requestedBy": "a@b.co"]).get()
        #expect(update.operations[0].type == "UpdateTerm")
        #expect(update.operations[0].payload == ["glossaryTerm": ["longDescription": "new", "guid": .string(term)]])
    }

    @Test func termDeletionAndAssetUpdate() throws {
        let term = "0f8b3b7e-2a51-4c1d-9f0e-1b2c3d4e5f61"
        let deletion = try RequestMapper.validate(kind: .termDeletion, body: ["termId": .string(term), "name": "Old", "requestedBy": "a@b.co"]).get()
        #expect(deletion.operations[0].type == "DeleteTerm")
        #expect(deletion.subject == "Old")
        let update = try RequestMapper.validate(kind: .assetUpdate, body: ["assetId": .string(term), "changes": ["description": "x"], "requestedBy": "a@b.co"]).get()
        #expect(update.operations[0].type == "UpdateAsset")
        #expect(update.operations[0].payload["attributes"] == ["description": "x"])
        #expect(violations(.assetUpdate, ["assetId": .string(term), "changes": [:], "requestedBy": "a@b.co"]).map(\.code) == ["too_short"])
    }

    @Test func purviewCommentCarriesThePerson() {
        #expect(RequestMapper.purviewComment(requestedBy: "ada@contoso.com", clientName: "portal", comment: "please") == "Requested by ada@contoso.com via portal: please")
        #expect(RequestMapper.purviewComment(requestedBy: "ada@contoso.com", clientName: "bot", comment: nil) == "Requested by ada@contoso.com via bot")
    }
}
