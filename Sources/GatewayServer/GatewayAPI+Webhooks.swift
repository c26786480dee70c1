import FoundationEssentials
import GatewayCore
import Networking
import PurviewWorkflow

extension GatewayAPI {
    /// The current webhook settings of a client (they follow keys-file reloads).
    public func callbackSettings(for clientName: String) -> CallbackSettings? {
        clients.withLock { $0.clients.first { $0.name == clientName }?.callbacks }
    }

    func addWebhookRoutes(to router: Router) {
        router.add(
            .get, "/v1/requests/{id}/events",
            handler("events", scope: .requestsRead) { request, client in
                try await self.events(request: request, client: client)
            })
        router.add(
            .post, "/v1/events/{id}/redeliver", bodyLimit: 64 * 1024,
            handler("redeliver", scope: .requestsAdmin) { request, client in
                try await self.redeliver(request: request, client: client)
            })
    }

    /// Checks the body's `callbackUrl` against the client's callbacks settings (422 naming the field and why);
    /// returns the client's default URL for a body without one.
    func checkCallback(_ body: JSONValue, client: APIClient) throws -> String? {
        guard case .string(let url)? = body["callbackUrl"] else { return client.callbacks?.defaultUrl }
        let refusal: String?
        if let settings = client.callbacks {
            switch settings.check(url) {
            case .success: refusal = nil
            case .failure(let problem): refusal = problem.message
            }
        } else {
            refusal = "cannot be used: the client \(client.name) has no callbacks configured in the keys file"
        }
        guard let refusal else { return nil }
        var problem = Problem(
            .unprocessableContent, code: "callback_not_allowed",
            title: "The callbackUrl is not allowed for this client",
            detail: "callbackUrl \(refusal)")
        problem.violations = [FieldViolation(pointer: "/callbackUrl", code: "callback_not_allowed", message: refusal)]
        throw problem
    }

    var outbox: (any WebhookOutbox)? { service.store as? any WebhookOutbox }

    func events(request: ServerRequest, client: APIClient) async throws -> ServerResponse {
        let id = request.pathParameters["id"] ?? ""
        guard let found = try await service.request(id: id, refresh: false), visible(found, to: client) else {
            throw Problem.notFound("no request \(id)")
        }
        guard let outbox else { throw Self.noOutbox }
        let events: [WebhookEvent]
        do {
            events = try await outbox.webhookEvents(requestId: id)
        } catch {
            throw Problem(
                .serviceUnavailable, code: "store_unavailable", title: "The store is unavailable", detail: "\(error)")
        }
        return json(.ok, ["items": .array(events.map(WebhookEventResource.render))])
    }

    func redeliver(request: ServerRequest, client: APIClient) async throws -> ServerResponse {
        let id = request.pathParameters["id"] ?? ""
        _ = try await request.body.collect(upTo: 64 * 1024)
        guard let outbox else { throw Self.noOutbox }
        do {
            // requests:admin is an operator's scope: any client's event may be redelivered.
            guard let event = try await outbox.redeliverWebhookEvent(id: id, now: Date()) else {
                throw Problem.notFound("no event \(id)")
            }
            logger.info(
                "webhook redelivery",
                metadata: [
                    "kind": "audit", "event": "redeliver", "event.id": .string(id),
                    "request.id": .string(event.requestId),
                    "actor": .string(client.name),
                ])
            return json(.accepted, WebhookEventResource.render(event))
        } catch let problem as Problem {
            throw problem
        } catch {
            throw Problem(
                .serviceUnavailable, code: "store_unavailable", title: "The store is unavailable", detail: "\(error)")
        }
    }

    static let noOutbox = Problem(
        .notImplemented, code: "webhooks_unavailable", title: "Webhooks are not available",
        detail: "this gateway's store keeps no webhook outbox")
}
