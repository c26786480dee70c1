import GatewayStorage
import Testing

@Suite struct DatabaseURLTests {
    @Test(arguments: [
        ("sqlite:///var/lib/gateway/gateway.db", DatabaseURL.sqlite(path: "/var/lib/gateway/gateway.db")),
        ("SQLite:///tmp/x.db", .sqlite(path: "/tmp/x.db")),
        ("sqlite:data/gateway.db", .sqlite(path: "data/gateway.db")),
        ("sqlite:/abs/gateway.db", .sqlite(path: "/abs/gateway.db")),
        ("sqlite://./rel/gateway.db", .sqlite(path: "./rel/gateway.db")),
        ("sqlite://../up/gateway.db", .sqlite(path: "../up/gateway.db")),
        ("sqlite:///tmp/with%20space.db", .sqlite(path: "/tmp/with space.db")),
        ("  sqlite:///tmp/trimmed.db\n", .sqlite(path: "/tmp/trimmed.db")),
        ("postgres://gw:secret@db:5432/gateway", .postgres("postgres://gw:secret@db:5432/gateway")),
        ("postgresql://db/gateway?sslmode=require", .postgres("postgresql://db/gateway?sslmode=require")),
    ])
    func acceptedForms(_ text: String, _ expected: DatabaseURL) throws {
        #expect(try DatabaseURL.parse(text) == expected)
    }

    @Test(arguments: [
        "", "gateway.db", "mysql://root:hunter2@db/gateway", "sqlite:", "sqlite://", "sqlite:///",
        "sqlite://host/gateway.db", "sqlite:///tmp/x.db?mode=ro", "sqlite:///tmp/dir/", "sqlite:///tmp/bad%zz.db",
        "sqlite:///tmp/%ff.db", "postgres:db/gateway",
    ])
    func refusedForms(_ text: String) {
        let error = #expect(throws: DatabaseURLError.self) { try DatabaseURL.parse(text) }
        #expect(error?.description.hasPrefix("GATEWAY_DATABASE_URL ") == true)
        // A refused URL is never echoed back: it may hold a password.
        #expect(error?.description.contains("hunter2") == false)
    }

    @Test func environmentDefaultsToALocalSQLiteFile() throws {
        #expect(try DatabaseURL.fromEnvironment([:]) == .sqlite(path: "./.purview-gateway/gateway.db"))
        #expect(try DatabaseURL.fromEnvironment(["GATEWAY_DATABASE_URL": ""]) == DatabaseURL.defaultValue)
        #expect(
            try DatabaseURL.fromEnvironment(["GATEWAY_DATABASE_URL": "sqlite:///srv/g.db"])
                == .sqlite(path: "/srv/g.db"))
        #expect(throws: DatabaseURLError.self) { try DatabaseURL.fromEnvironment(["GATEWAY_DATABASE_URL": "nope"]) }
    }

    @Test func descriptionMasksThePassword() throws {
        #expect(
            try DatabaseURL.parse("postgres://gw:secret@db:5432/gateway").description
                == "postgres://gw:***@db:5432/gateway")
        #expect(try DatabaseURL.parse("postgres://db/gateway").description == "postgres://db/gateway")
        #expect(try DatabaseURL.parse("sqlite:///a.db").description == "sqlite:/a.db")
    }
}
