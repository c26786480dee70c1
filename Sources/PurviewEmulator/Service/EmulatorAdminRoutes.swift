import Crypto
import FoundationEssentials
import HTTP
import Networking
import PurviewWorkflow

// `/_emulator/...`: the clock, effects and emails, faults, statistics and reset, for tests and demos.
// Every route needs `Authorization: Bearer <adminToken>`.

extension EmulatorService {
    func addAdminRoutes(_ router: Router) {
        admin(router, .get, "/_emulator/clock") { service, _ throws(AdminFailure) in
            .json(["now": .string(service.now.description)])
        }
        admin(router, .post, "/_emulator/clock") { service, body throws(AdminFailure) in
            guard let seconds = body?["advanceSeconds"]?.doubleValue, seconds.isFinite, seconds >= 0 else {
                throw AdminFailure(
                    message: "The body must be {\"advanceSeconds\": N} with N >= 0.", target: "advanceSeconds")
            }
            return .json(["now": .string(service.advanceClock(seconds: seconds).description)])
        }
        admin(router, .get, "/_emulator/effects") { service, _ throws(AdminFailure) in .json(service.effectsJSON) }
        admin(router, .get, "/_emulator/emails") { service, _ throws(AdminFailure) in .json(service.emailsJSON) }
        admin(router, .get, "/_emulator/stats") { service, _ throws(AdminFailure) in .json(service.statsJSON) }
        admin(router, .get, "/_emulator/faults") { service, _ throws(AdminFailure) in
            .json(["value": service.faultsJSON])
        }
        admin(router, .post, "/_emulator/faults") { service, body throws(AdminFailure) in
            let items: [JSONValue]
            switch body {
            case .array(let list)?: items = list
            case .object?: items = [body!]
            default: throw AdminFailure(message: "The body must be a fault or an array of faults.", target: "body")
            }
            var parsed: [EmulatorFault] = []
            for (index, item) in items.enumerated() {
                do throws(EmulatorConfigError) {
                    parsed.append(try EmulatorFault.parse(item, key: body?.arrayValue != nil ? "[\(index)]" : "fault"))
                } catch {
                    throw AdminFailure(message: "\(error.key): \(error.message)", target: error.key)
                }
            }
            service.addFaults(parsed)
            return .json(["value": service.faultsJSON])
        }
        admin(router, .delete, "/_emulator/faults") { service, _ throws(AdminFailure) in
            service.clearFaults()
            return .noContent
        }
        admin(router, .post, "/_emulator/reset") { service, _ throws(AdminFailure) in
            service.reset()
            return .noContent
        }
    }

    private func admin(
        _ router: Router, _ method: HTTPMethod, _ path: String,
        _ handle: @escaping @Sendable (EmulatorService, JSONValue?) throws(AdminFailure) -> APIOutcome
    ) {
        router.add(method, path) { [self] request in
            let started = ContinuousClock.now
            let headers: HTTPFields = ["x-ms-request-id": Self.newRequestId()]
            let response = await adminCall(request, headers: headers, handle)
            logCall(
                "\(method.rawValue) \(path)", request, status: response.status.code, started: started, principal: nil)
            return response
        }
    }

    private func adminCall(
        _ request: ServerRequest, headers: HTTPFields,
        _ handle: @Sendable (EmulatorService, JSONValue?) throws(AdminFailure) -> APIOutcome
    ) async -> ServerResponse {
        guard isAdmin(request.headers["Authorization"]) else {
            return apiError(
                status: 401, code: "Unauthorized",
                message: "The admin routes need 'Authorization: Bearer <adminToken>'.",
                headers: headers)
        }
        var body: JSONValue?
        if request.method == .post {
            guard let bytes = try? await request.body.collect(upTo: 1 << 20) else {
                return apiError(
                    status: 413, code: "PayloadTooLarge", message: "The body is too large.", headers: headers)
            }
            if !bytes.isEmpty {
                do {
                    body = try JSONValue(parsing: bytes)
                } catch {
                    return apiError(
                        status: 400, code: "BadRequest", message: "The body is not valid JSON: \(error).",
                        target: "body",
                        headers: headers)
                }
            }
        }
        do throws(AdminFailure) {
            switch try handle(self, body) {
            case .json(let value):
                return ServerResponse(
                    status: .ok, contentType: "application/json", body: value.serialized(), headers: headers)
            case .noContent:
                return ServerResponse(status: .noContent, headers: headers)
            case .empty, .page:
                return ServerResponse(status: .ok, headers: headers)
            }
        } catch {
            return apiError(
                status: 400, code: "BadRequest", message: error.message, target: error.target, headers: headers)
        }
    }

    /// Compares the bearer token with `adminToken` in constant time.
    func isAdmin(_ authorization: String?) -> Bool {
        guard let authorization else { return false }
        let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return false }
        return constantTimeEquals(Array(parts[1].utf8), Array(config.adminToken.utf8))
    }
}

/// A bad admin request (400).
struct AdminFailure: Error, Sendable {
    let message: String
    let target: String?
}
