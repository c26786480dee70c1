import PurviewWorkflow
import Testing

@testable import PurviewEmulator

private let context = EvaluationContext(
    runInput: [
        "requestor": "11111111-1111-1111-1111-111111111111",
        "term": [
            "name": "Revenue", "formalName": "Gross Revenue", "definition": .null, "experts": ["x@contoso.com"],
            "stewards": [], "parent": .null,
        ],
        "count": 3,
    ],
    actionOutputs: ["Start and wait for an approval": ["outcome": "Approved", "taskId": "t1"]],
    now: PurviewTimestamp(secondsSince1970: 1_704_067_200))

@Suite struct ExpressionEvaluation {
    static let table: [(String, JSONValue)] = [
        ("plain text", "plain text"),
        ("user@contoso.com", "user@contoso.com"),
        ("@@literal", "@literal"),
        ("@runInput()['requestor']", "11111111-1111-1111-1111-111111111111"),
        ("@{runInput()['requestor']}", "11111111-1111-1111-1111-111111111111"),
        ("Term @{runInput()['term']['name']} is approved.", "Term Revenue is approved."),
        ("@runInput()['term']['experts']", ["x@contoso.com"]),
        ("@runInput()['count']", 3),
        ("n=@{runInput()['count']}", "n=3"),
        ("@{runInput()['term']['definition']}!", "!"),
        ("@runInput().term.name", "Revenue"),
        ("@runInput()?['missing']?['deeper']", .null),
        ("@outputs('Start and wait for an approval')['outcome']", "Approved"),
        ("@{outputs('Start and wait for an approval')['outcome']}", "Approved"),
        ("@outputs('Start and wait for an approval')['body/outcome']", "Approved"),
        ("@{triggerBody()['request']['term']['name']}", "Revenue"),
        ("@equals('a', 'a')", true),
        ("@equals('a', 'A')", false),
        ("@equals(runInput()['count'], 3)", true),
        ("@and(true, equals(1, 1))", true),
        ("@or(false, false)", false),
        ("@not(false)", true),
        ("@startsWith('Revenue', 'rev')", true),
        ("@endsWith('Revenue', 'NUE')", true),
        ("@contains('Revenue', 'ven')", true),
        ("@contains(runInput()['term']['experts'], 'x@contoso.com')", true),
        ("@contains(runInput()['term'], 'parent')", true),
        ("@greater(runInput()['count'], 2)", true),
        ("@lessOrEquals('a', 'b')", true),
        ("@concat('a', 'b', runInput()['count'])", "ab3"),
        ("@toUpper(runInput()['term']['name'])", "REVENUE"),
        ("@if(equals(1, 2), 'yes', 'no')", "no"),
        ("@coalesce(runInput()['term']['definition'], 'none')", "none"),
        ("@length(runInput()['term']['experts'])", 1),
        ("@empty(runInput()['term']['stewards'])", true),
        ("@join(createArray('a', 'b'), ';')", "a;b"),
        ("@string(runInput()['count'])", "3"),
        ("@int('42')", 42),
        ("@{'it''s'}", "it's"),
        ("@utcNow()", "2024-01-01T00:00:00.000000000Z"),
        ("a @{'x'} b @{'y'} c", "a x b y c"),
        ("@@{not an expression}", "@{not an expression}"),
    ]

    @Test(arguments: table)
    func evaluates(_ source: String, _ expected: JSONValue) throws {
        #expect(try context.evaluate(template: source) == expected)
    }

    @Test(arguments: [
        ("@unknownFunction()", "The template function 'unknownFunction' is not defined or not valid."),
        ("@outputs('Nope')['outcome']", "The action 'Nope' has no outputs"),
        ("@runInput()['missing']", "The property 'missing' doesn't exist"),
        ("@greater('a', 1)", "cannot compare"),
        ("@runInput()['term'][0]", "cannot be indexed"),
        ("@runInput()['term']['experts'][100000000000000000000000000000]", "is out of range"),
        ("@runInput()['term']['experts'][0.5]", "is out of range"),
    ])
    func reportsRuntimeErrors(_ source: String, _ fragment: String) {
        #expect {
            _ = try context.evaluate(template: source)
        } throws: { error in
            (error as? ExpressionEvaluationError)?.message.contains(fragment) ?? false
        }
    }

    @Test func evaluatesConditionObjects() throws {
        let approved: JSONValue = [
            "and": [["equals": ["@{outputs('Start and wait for an approval')['outcome']}", "Approved"]]]
        ]
        #expect(try context.evaluateCondition(approved))
        #expect(try !context.evaluateCondition(["not": approved]))
        #expect(try context.evaluateCondition(["or": [["equals": ["a", "b"]], ["startsWith": ["Revenue", "Re"]]]]))
        #expect(try context.evaluateCondition(["greater": ["@runInput()['count']", 2]]))
        #expect(try context.evaluateCondition("@equals(1, 1)"))
        #expect(try context.evaluateCondition(true))
        #expect(throws: ExpressionEvaluationError.self) { try context.evaluateCondition(["bogus": [1, 2]]) }
        #expect(throws: ExpressionEvaluationError.self) { try context.evaluateCondition(["equals": [1]]) }
        #expect(throws: ExpressionEvaluationError.self) { try context.evaluateCondition("@runInput()['term']") }
    }

    @Test func deepEvaluationWalksArraysAndObjects() throws {
        let value: JSONValue = [
            "emailRecipients": ["@{runInput()['requestor']}", "fixed@contoso.com"],
            "nested": ["n": "@runInput()['count']"],
        ]
        #expect(
            try context.evaluateDeep(value) == [
                "emailRecipients": ["11111111-1111-1111-1111-111111111111", "fixed@contoso.com"], "nested": ["n": 3],
            ])
    }
}

@Suite struct ExpressionParsing {
    @Test func templatesClassifyTheirForms() throws {
        #expect(try Template(parsing: "hello") == .literal("hello"))
        #expect(try Template(parsing: "@runInput()") == .value(.call("runInput", [])))
        #expect(
            try Template(parsing: "x @{runInput()} y")
                == .interpolation([.text("x "), .expression(.call("runInput", [])), .text(" y")]))
        #expect(
            try Template(parsing: "@runInput()?['a']")
                == .value(.member(.call("runInput", []), .literal("a"), optional: true)))
    }

    @Test(arguments: [
        ("@", "The expression is empty."),
        ("@runInput(", "The expression ends unexpectedly."),
        ("@runInput('a' 'b')", "Expected ',' or ')'"),
        ("@runInput()['a'", "Expected ']'"),
        ("@{runInput()", "has no closing '}'"),
        ("@'unterminated", "is not terminated"),
        ("@runInput() extra", "Unexpected text"),
        ("@foo", "is not a function call"),
        ("@runInput()#", "Unexpected character '#'"),
    ])
    func reportsSyntaxErrors(_ source: String, _ fragment: String) {
        #expect {
            _ = try Template(parsing: source)
        } throws: { error in
            (error as? ExpressionSyntaxError)?.message.contains(fragment) ?? false
        }
    }

    @Test func deepNestingIsRefused() {
        let source = "@" + String(repeating: "not(", count: 100) + "true" + String(repeating: ")", count: 100)
        #expect(throws: ExpressionSyntaxError.self) { try Template(parsing: source) }
    }

    @Test func staticProblemsUseTheServiceMessage() throws {
        let template = try Template(parsing: "@{startsWith()}")
        #expect(
            template.expressions.flatMap { $0.problems(actionNames: []) } == [
                "There's a parameter type error for the function call \"startsWith()\". Actual: (), expected: (string,string)."
            ])
        let typed = try Template(parsing: "@startsWith(1, 'a')")
        #expect(
            typed.expressions.flatMap { $0.problems(actionNames: []) } == [
                "There's a parameter type error for the function call \"startsWith()\". Actual: (integer,string), expected: (string,string)."
            ])
        let missing = try Template(parsing: "@outputs('Nowhere')['outcome']")
        #expect(
            missing.expressions.flatMap { $0.problems(actionNames: ["Somewhere"]) } == [
                "The action 'Nowhere' referenced by 'outputs()' is not defined in the workflow."
            ])
        let fine = try Template(parsing: "@{startsWith(runInput()['term']['name'], 'a')}")
        #expect(fine.expressions.flatMap { $0.problems(actionNames: []) }.isEmpty)
    }

    @Test func legacyExpressionsAreModernised() {
        #expect(
            ActionDagForm.modernizedExpression("@outputs('Approval')['body/outcome']")
                == "@{outputs('Approval')['outcome']}")
        #expect(
            ActionDagForm.modernizedExpression("Term @{triggerBody()['request']['term']['name']} ok")
                == "Term @{runInput()['term']['name']} ok")
        #expect(ActionDagForm.modernizedExpression("@{runInput()['requestor']}") == "@{runInput()['requestor']}")
        #expect(ActionDagForm.modernizedExpression("mail@contoso.com") == "mail@contoso.com")
    }
}
