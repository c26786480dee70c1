import PurviewWorkflow
import Testing

@testable import PurviewEmulator

@Suite struct Snapshots {
    /// An engine holding every kind of record: decided, pending and reminded tasks, a SimpleTask, a
    /// canceled run, effects and emails, and a time offset.
    private func busyEngine() throws -> (EmulatorEngine, pendingTask: String, pendingRun: String) {
        var engine = makeEngine()
        try engine.put(
            approvalWorkflow(
                approvalType: "PendingOnAll", assignedTo: [.string(People.alice), .string(People.bob)],
                extraApprovalParameters: [
                    "reminderSettings": ["interval": "1 day"],
                    "expirySettings": ["expireAfter": "1 week", "notifyOnExpiration": ["admin@contoso.com"]],
                ]))
        try engine.put(
            [
                "name": "task", "description": "d", "isEnabled": true,
                "triggers": [["type": "when_asset_update_is_requested"]],
                "actionDag": [
                    "actions": [
                        "Do": [
                            "type": "Task",
                            "inputs": ["parameters": ["taskBody": "b", "assignedTo": [.string(People.carol)]]],
                            "runAfter": [:],
                        ]
                    ]
                ],
            ], id: "00000000-0000-0000-0000-0000000000aa")
        let (_, first) = try engine.submit(createTermRequest(name: "one"))
        let firstRun = try #require(first)
        let firstTask = try #require(engine.taskId(run: firstRun))
        try engine.approveApprovalTask(id: firstTask, body: ["comment": "ok"], caller: People.alice)
        try engine.approveApprovalTask(id: firstTask, body: nil, caller: People.bob)
        let (_, second) = try engine.submit(createTermRequest(name: "two"))
        let secondRun = try #require(second)
        let secondTask = try #require(engine.taskId(run: secondRun))
        try engine.approveApprovalTask(id: secondTask, body: nil, caller: People.alice)
        let (_, third) = try engine.submit(createTermRequest(name: "three"))
        try engine.cancelWorkflowRun(id: try #require(third), body: ["comment": "no"], caller: People.requestor)
        let (_, fourth) = try engine.submit([
            "operations": [["type": "UpdateAsset", "payload": ["asset": ["name": "a"]]]]
        ])
        let fourthRun = try #require(fourth)
        let simpleTask = try #require(engine.taskId(run: fourthRun, action: "Do"))
        try engine.changeTaskStatus(
            id: simpleTask, body: ["newStatus": "InProgress", "comment": "c"], caller: People.carol)
        _ = try engine.submit(["operations": [["type": "GrantDataAccess", "payload": ["asset": ["name": "x"]]]]])
        engine.advance(seconds: 86_400 + 0.25)
        return (engine, secondTask, secondRun)
    }

    @Test func roundTripKeepsEverything() throws {
        let (engine, _, _) = try busyEngine()
        #expect(engine.emails.contains { $0.kind == .reminder })
        #expect(engine.effects.count == 2)
        let snapshot = engine.snapshot()
        var restored = makeEngine()
        try restored.restore(from: snapshot)
        #expect(restored.state == engine.state)
        #expect(restored.now == engine.now)
        #expect(restored.snapshot() == snapshot)
    }

    @Test func roundTripThroughJSONText() throws {
        let (engine, _, _) = try busyEngine()
        var restored = makeEngine()
        try restored.restore(from: json(jsonText(engine.snapshot())))
        #expect(restored.state == engine.state)
    }

    @Test func aRestoredEngineCarriesOn() throws {
        let (engine, pendingTask, pendingRun) = try busyEngine()
        var restored = makeEngine()
        try restored.restore(from: engine.snapshot())
        // The fresh sequential generator must not hand out ids the snapshot already uses.
        let (_, newRun) = try restored.submit(createTermRequest(name: "five"))
        #expect(engine.state.runs[try #require(newRun)] == nil)
        try restored.approveApprovalTask(id: pendingTask, body: nil, caller: People.bob)
        #expect(try restored.run(pendingRun)["status"] == "Completed")
        restored.advance(seconds: 7 * 86_400)
        #expect(try restored.run(try #require(newRun))["status"] == "Failed")
    }

    @Test func invalidSnapshotsLeaveTheStateAlone() throws {
        let (engine, _, _) = try busyEngine()
        var target = engine
        var broken = engine.snapshot().objectValue!
        var runs = broken["runs"]!.arrayValue!
        var run = runs[0].objectValue!
        run["startTime"] = "yesterday"
        runs[0] = .object(run)
        broken["runs"] = .array(runs)
        let error = emulatorError { try target.restore(from: .object(broken)) }
        #expect(error?.code == "Workflow.InvalidSnapshot")
        #expect(error?.message == "The state snapshot has an invalid run time 'startTime'.")
        #expect(target.state == engine.state)
        #expect(emulatorError { try target.restore(from: ["version": 2]) }?.code == "Workflow.InvalidSnapshot")
        #expect(emulatorError { try target.restore(from: "x") }?.code == "Workflow.InvalidSnapshot")
    }
}
