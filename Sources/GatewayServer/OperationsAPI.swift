import FoundationEssentials
import GatewayCore
import HTTP
import Networking
import PurviewWorkflow

/// Operator routes and the intake quota, kept apart from the request routes.
extension GatewayAPI {
    func addOperationsRoutes(to router: Router) {
        router.add(
            .post, "/v1/requests/{id}/redrive", bodyLimit: 64 * 1024,
            handler("redrive", scope: .requestsAdmin) { request, client in
                try await self.redrive(request: request, client: client)
            })
    }

    /// `POST /v1/requests/{id}/redrive` `{"comment"?}`: a failed, refused or unknown request is queued to be
    /// sent again (202); any other status is a 409.
    func redrive(request: ServerRequest, client: APIClient) async throws -> ServerResponse {
        let id = request.pathParameters["id"] ?? ""
        let comment = try await optionalComment(request, of: "a re-drive")
        let found: GatewayRequest?
        do {
            found = try await service.request(id: id, refresh: false)
        } catch {
            throw Problem(
                .serviceUnavailable, code: "store_unavailable", title: "The store is unavailable", detail: "\(error)")
        }
        guard let found else { throw Problem.notFound("no request \(id)") }
        do {
            let queued = try await service.redrive(found, actor: client.name, comment: comment)
            var response = json(.accepted, RequestResource.render(queued), location: queued.id)
            response.headers.append("Retry-After", "2")
            metrics.counter(
                "gateway_redrives_total", help: "Requests re-driven by an operator",
                labels: ["from": found.status.rawValue]
            )
            .increment()
            return response
        } catch {
            switch error {
            case .conflict(let conflict):
                throw Problem(
                    .conflict, code: "not_redrivable", title: "The request cannot be re-driven",
                    detail:
                        "only failed, refused or unknown requests can be re-driven; this one is \(conflict.status.rawValue)"
                )
            case .store(let message):
                throw Problem(
                    .serviceUnavailable, code: "store_unavailable", title: "The store is unavailable", detail: message)
            }
        }
    }

    /// An optional JSON body holding only an optional `comment`.
    func optionalComment(_ request: ServerRequest, of what: String) async throws -> String? {
        let bytes = try await request.body.collect(upTo: 64 * 1024)
        guard !bytes.isEmpty else { return nil }
        let body = try parseJSON(bytes, contentType: request.headers["Content-Type"])
        guard case .object(let object) = body else {
            throw Problem.validation(
                ValidationFailure([FieldViolation(pointer: "", code: "invalid_type", message: "must be a JSON object")])
            )
        }
        var violations: [FieldViolation] = []
        for key in object.keys where key != "comment" {
            violations.append(
                FieldViolation(
                    pointer: "/" + JSONPointer.escape(key), code: "unknown_field", message: "is not a field of \(what)")
            )
        }
        var comment: String?
        switch object["comment"] {
        case nil, .null?: break
        case .string(let text)?:
            if text.unicodeScalars.count > RequestLimits.commentLength {
                violations.append(
                    FieldViolation(
                        pointer: "/comment", code: "too_long",
                        message: "must be at most \(RequestLimits.commentLength) characters"))
            }
            comment = text
        default:
            violations.append(FieldViolation(pointer: "/comment", code: "invalid_type", message: "must be a string"))
        }
        if !violations.isEmpty { throw Problem.validation(ValidationFailure(violations)) }
        return comment
    }

    // MARK: - Intake quota

    /// Takes a token from the client's bucket for this path; throws the 429 when there is none.
    func drawQuota(_ client: APIClient, path: String) throws(Problem) -> TokenBucket.Decision? {
        let pool = ClientRateLimiter.pool(forPath: path)
        guard let decision = rateLimiter.take(client, pool: pool) else { return nil }
        guard decision.allowed else {
            metrics.counter(
                "gateway_rate_limited_total", help: "Calls refused by a client's quota",
                labels: ["client": client.name, "pool": pool.rawValue]
            )
            .increment()
            var problem = Problem(
                .tooManyRequests, code: "rate_limited", title: "Too many requests",
                detail:
                    "client \(client.name) used up its \(pool.rawValue) quota (a burst of \(decision.limit)); retry in \(decision.retryAfterSeconds) s"
            )
            problem.headers = [
                "Retry-After": String(decision.retryAfterSeconds), "RateLimit-Limit": String(decision.limit),
                "RateLimit-Remaining": String(decision.remaining), "RateLimit-Reset": String(decision.resetSeconds),
            ]
            throw problem
        }
        return decision
    }

    static func addQuotaHeaders(_ decision: TokenBucket.Decision, to response: inout ServerResponse) {
        response.headers.set("RateLimit-Limit", String(decision.limit))
        response.headers.set("RateLimit-Remaining", String(decision.remaining))
        response.headers.set("RateLimit-Reset", String(decision.resetSeconds))
    }
}
