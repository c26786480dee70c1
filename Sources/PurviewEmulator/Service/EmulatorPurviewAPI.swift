import FoundationEssentials
import Networking
public import PurviewWorkflow

/// The Purview Workflow API served by an ``EmulatorService`` in process, as one principal: what the
/// gateway's router-level tests use instead of a `PurviewClient` over sockets.
///
/// Calls go through the same engine, statistics and faults as HTTP calls (a status fault throws a
/// `.service` error with its `retryAfter`; a dropped connection throws `.ambiguous`), and answers are
/// decoded from the engine's JSON into the PurviewWorkflow models, so shape mismatches show up here too.
public final class EmulatorPurviewAPI: PurviewWorkflowAPI {
    public let service: EmulatorService
    /// The object id the calls are made as: the requestor of what it submits, the approver of what it
    /// approves.
    public let principal: String

    /// Where list pages pretend to live; nextLinks point here and are only meaningful to this adapter.
    static let pageBase = "https://purview-emulator.invalid/workflow"

    public init(service: EmulatorService, objectId: String) {
        self.service = service
        principal = objectId.lowercased()
    }

    /// Acts as the principal with this client id; nil when the config has none.
    public convenience init?(service: EmulatorService, clientId: String) {
        guard let principal = service.config.principal(clientId: clientId) else { return nil }
        self.init(service: service, objectId: principal.objectId)
    }

    /// The same emulator as another principal.
    public func acting(as objectId: String) -> EmulatorPurviewAPI {
        EmulatorPurviewAPI(service: service, objectId: objectId)
    }

    // MARK: - PurviewWorkflowAPI

    public func submitUserRequest(_ payload: UserRequestPayload, options: PurviewCallOptions = PurviewCallOptions())
        async throws(PurviewClientError) -> PurviewResponse<UserRequestResponse>
    {
        let body = try encode(payload, options: options)
        let principal = self.principal
        return try await call("POST", "/userrequests", path: "/userrequests", options: options) {
            engine throws(EmulatorError) in
            try engine.submitUserRequest(body: body, caller: principal)
        } recorded: { [service] answer, clientRequestId in
            service.recordSubmission(answer, body: body, principal: principal, clientRequestId: clientRequestId)
        }
    }

    public func getWorkflowRun(_ id: String, options: PurviewCallOptions = PurviewCallOptions())
        async throws(PurviewClientError) -> PurviewResponse<WorkflowRun>
    {
        let principal = self.principal
        return try await call("GET", "/workflowruns/{workflowRunId}", path: "/workflowruns/\(id)", options: options) {
            engine throws(EmulatorError) in
            try Self.checkUUID(id, "workflowRunId")
            return try engine.getWorkflowRun(id: id, caller: principal)
        }
    }

    public func cancelWorkflowRun(_ id: String, comment: String?, options: PurviewCallOptions = PurviewCallOptions())
        async throws(PurviewClientError) -> PurviewResponse<Void>
    {
        let principal = self.principal
        let body: JSONValue? = comment.map { ["comment": .string($0)] }
        return try await command(
            "POST", "/workflowruns/{workflowRunId}/cancel", path: "/workflowruns/\(id)/cancel", options: options
        ) { engine throws(EmulatorError) in
            try Self.checkUUID(id, "workflowRunId")
            try engine.cancelWorkflowRun(id: id, body: body, caller: principal)
        }
    }

    public func listWorkflowRuns(_ query: WorkflowRunQuery, options: PurviewCallOptions = PurviewCallOptions())
        -> PurviewPages<WorkflowRun>
    {
        var items: [(String, String)] = []
        if let value = query.viewMode { items.append(("viewMode", value)) }
        if let value = query.timeWindow { items.append(("timeWindow", value)) }
        if let value = query.orderBy { items.append(("orderby", value)) }
        if !query.runStatuses.isEmpty { items.append(("runStatuses", query.runStatuses.joined(separator: ","))) }
        if !query.workflowIds.isEmpty { items.append(("workflowIds", query.workflowIds.joined(separator: ","))) }
        if !query.requestors.isEmpty { items.append(("requestors", query.requestors.joined(separator: ","))) }
        if let value = query.maxPageSize { items.append(("maxpagesize", String(value))) }
        let principal = self.principal
        return pages("/workflowruns", items, options: options) { engine, queryItems throws(EmulatorError) in
            try engine.listWorkflowRuns(WorkflowRunListQuery(queryItems: queryItems), caller: principal)
        }
    }

    public func listWorkflowTasks(_ query: WorkflowTaskQuery, options: PurviewCallOptions = PurviewCallOptions())
        -> PurviewPages<WorkflowTask>
    {
        var items: [(String, String)] = []
        if let value = query.viewMode { items.append(("viewMode", value)) }
        if !query.workflowIds.isEmpty { items.append(("workflowIds", query.workflowIds.joined(separator: ","))) }
        if let value = query.timeWindow { items.append(("timeWindow", value)) }
        if let value = query.maxPageSize { items.append(("maxpagesize", String(value))) }
        if let value = query.orderBy { items.append(("orderby", value)) }
        if !query.taskTypes.isEmpty { items.append(("taskTypes", query.taskTypes.joined(separator: ","))) }
        if !query.taskStatuses.isEmpty { items.append(("taskStatuses", query.taskStatuses.joined(separator: ","))) }
        if !query.requestors.isEmpty { items.append(("requestors", query.requestors.joined(separator: ","))) }
        if !query.assignees.isEmpty { items.append(("assignees", query.assignees.joined(separator: ","))) }
        if let value = query.workflowNameKeyword { items.append(("workflowNameKeyword", value)) }
        let principal = self.principal
        return pages("/workflowtasks", items, options: options) { engine, queryItems throws(EmulatorError) in
            try engine.listWorkflowTasks(WorkflowTaskListQuery(queryItems: queryItems), caller: principal)
        }
    }

    // MARK: - More operations

    public func getWorkflowTask(_ id: String, options: PurviewCallOptions = PurviewCallOptions())
        async throws(PurviewClientError) -> PurviewResponse<WorkflowTask>
    {
        let principal = self.principal
        return try await call("GET", "/workflowtasks/{taskId}", path: "/workflowtasks/\(id)", options: options) {
            engine throws(EmulatorError) in
            try Self.checkUUID(id, "taskId")
            return try engine.getWorkflowTask(id: id, caller: principal)
        }
    }

    public func approve(taskId: String, comment: String?, options: PurviewCallOptions = PurviewCallOptions())
        async throws(PurviewClientError) -> PurviewResponse<Void>
    {
        let principal = self.principal
        let body: JSONValue? = comment.map { ["comment": .string($0)] }
        return try await command(
            "POST", "/workflowtasks/{taskId}/approve-approval", path: "/workflowtasks/\(taskId)/approve-approval",
            options: options
        ) { engine throws(EmulatorError) in
            try Self.checkUUID(taskId, "taskId")
            try engine.approveApprovalTask(id: taskId, body: body, caller: principal)
        }
    }

    public func reject(taskId: String, comment: String?, options: PurviewCallOptions = PurviewCallOptions())
        async throws(PurviewClientError) -> PurviewResponse<Void>
    {
        let principal = self.principal
        let body: JSONValue? = comment.map { ["comment": .string($0)] }
        return try await command(
            "POST", "/workflowtasks/{taskId}/reject-approval", path: "/workflowtasks/\(taskId)/reject-approval",
            options: options
        ) { engine throws(EmulatorError) in
            try Self.checkUUID(taskId, "taskId")
            try engine.rejectApprovalTask(id: taskId, body: body, caller: principal)
        }
    }

    // MARK: - Plumbing

    private static func checkUUID(_ id: String, _ name: String) throws(EmulatorError) {
        guard isUUID(id) else { throw .invalidParameter(name, "The \(name) '\(id)' is not a valid UUID.") }
    }

    private func encode(_ payload: some Encodable, options: PurviewCallOptions) throws(PurviewClientError) -> JSONValue
    {
        do {
            return try JSONValueEncoder().encodeToJSONValue(payload)
        } catch {
            throw PurviewClientError(
                kind: .decoding, status: nil, code: "encoding_failed",
                message: "could not encode the request: \(error)",
                clientRequestId: options.clientRequestId ?? "")
        }
    }

    /// A command answering 200 with no body.
    private func command(
        _ method: String, _ template: String, path: String, options: PurviewCallOptions,
        _ perform: @escaping @Sendable (inout EmulatorEngine) throws(EmulatorError) -> Void
    ) async throws(PurviewClientError) -> PurviewResponse<Void> {
        let (_, response) = try await raw(method, template, path: path, options: options) {
            engine throws(EmulatorError) in
            try perform(&engine)
            return .null
        }
        return PurviewResponse(
            value: (), status: 200, clientRequestId: response.clientRequestId,
            serviceRequestId: response.serviceRequestId)
    }

    private func call<Value: Decodable & Sendable>(
        _ method: String, _ template: String, path: String, options: PurviewCallOptions,
        _ perform: @escaping @Sendable (inout EmulatorEngine) throws(EmulatorError) -> JSONValue,
        recorded: (@Sendable (JSONValue, String?) -> Void)? = nil
    ) async throws(PurviewClientError) -> PurviewResponse<Value> {
        let (json, ids) = try await raw(method, template, path: path, options: options, perform, recorded: recorded)
        return PurviewResponse(
            value: try decode(Value.self, json, ids), status: 200, clientRequestId: ids.clientRequestId,
            serviceRequestId: ids.serviceRequestId)
    }

    private struct CallIds {
        var clientRequestId: String
        var serviceRequestId: String
    }

    /// Counts the call, applies a fault in force, then runs it on the engine.
    private func raw(
        _ method: String, _ template: String, path: String, options: PurviewCallOptions,
        _ perform: @escaping @Sendable (inout EmulatorEngine) throws(EmulatorError) -> JSONValue,
        recorded: (@Sendable (JSONValue, String?) -> Void)? = nil
    ) async throws(PurviewClientError) -> (JSONValue, CallIds) {
        let ids = CallIds(
            clientRequestId: options.clientRequestId ?? EmulatorService.newRequestId(),
            serviceRequestId: EmulatorService.newRequestId())
        service.stats.withLock { $0.count("\(method) \(template)") }
        let fault = service.takeFault(method: method, template: template, path: path)
        if let fault, fault.latencyMs > 0 { try? await Task.sleep(for: .milliseconds(fault.latencyMs)) }
        if let fault, !fault.processFirst { try throwFault(fault, ids) }
        let result: Result<JSONValue, EmulatorError>
        do throws(EmulatorError) {
            result = .success(try service.engineCall { engine throws(EmulatorError) in try perform(&engine) })
        } catch {
            result = .failure(error)
        }
        if case .success(let json) = result { recorded?(json, options.clientRequestId) }
        if let fault, fault.processFirst { try throwFault(fault, ids) }
        switch result {
        case .success(let json):
            return (json, ids)
        case .failure(let error):
            throw PurviewClientError(
                kind: .service, status: error.statusCode, code: error.code, message: error.message,
                serviceError: try? JSONValueDecoder().decode(PurviewErrorResponse.self, from: error.envelope).error,
                clientRequestId: ids.clientRequestId, serviceRequestId: ids.serviceRequestId)
        }
    }

    private func throwFault(_ fault: EmulatorFault, _ ids: CallIds) throws(PurviewClientError) {
        if fault.drop {
            throw PurviewClientError(
                kind: .ambiguous, status: nil, code: "connection_closed",
                message: "the emulator dropped the connection (fault \(fault.match))",
                clientRequestId: ids.clientRequestId)
        }
        guard let status = fault.status else { return }
        let code = EmulatorService.errorCode(for: status)
        let message = "Injected fault for \(fault.match)."
        throw PurviewClientError(
            kind: .service, status: status, code: code, message: message,
            serviceError: PurviewError(code: code, message: message), clientRequestId: ids.clientRequestId,
            serviceRequestId: ids.serviceRequestId, retryAfter: fault.retryAfter.map { .seconds($0) })
    }

    private func decode<Value: Decodable>(_ type: Value.Type, _ json: JSONValue, _ ids: CallIds)
        throws(PurviewClientError) -> Value
    {
        do {
            return try JSONValueDecoder().decode(type, from: json)
        } catch {
            throw PurviewClientError(
                kind: .decoding, status: 200, code: "invalid_response",
                message: "could not read the \(Value.self) the emulator returned: \(error)",
                clientRequestId: ids.clientRequestId, serviceRequestId: ids.serviceRequestId)
        }
    }

    private func pages<Element: Decodable & Sendable>(
        _ path: String, _ query: [(String, String)], options: PurviewCallOptions,
        _ list:
            @escaping @Sendable (inout EmulatorEngine, [(name: String, value: String)]) throws(EmulatorError)
            -> EmulatorPage
    ) -> PurviewPages<Element> {
        let base = Self.pageBase + path
        let first = HTTPURL(base + "?" + String(decoding: FormEncoding.encode(query), as: UTF8.self))!
        return PurviewPages(first: first) { [self] url async throws(PurviewClientError) -> Page<Element> in
            let queryText =
                url.pathAndQuery.split(separator: "?", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
            let items = FormEncoding.decode(queryText).map { (name: $0.0, value: $0.1) }
            let (json, ids) = try await raw("GET", path, path: path, options: options) { engine throws(EmulatorError) in
                let page = try list(&engine, items)
                var object: JSONObject = ["value": .array(page.value)]
                if let token = page.continuationToken {
                    var next = items.filter { $0.name != "continuationToken" }.map { ($0.name, $0.value) }
                    next.append(("continuationToken", token))
                    object["nextLink"] = .string(
                        base + "?" + String(decoding: FormEncoding.encode(next), as: UTF8.self))
                }
                return .object(object)
            }
            return try decode(Page<Element>.self, json, ids)
        } resolve: { link in
            HTTPURL(link)
        }
    }
}
