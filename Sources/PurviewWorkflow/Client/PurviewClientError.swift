import Networking

/// Every failure of a Purview call, with what logs need to correlate it with the service's.
public struct PurviewClientError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// Purview answered with an error status; `serviceError` holds its envelope.
        case service
        /// No answer; the request certainly never reached Purview (connect failure, DNS, TLS).
        case unreachable
        /// No usable answer and the request may have been processed (timeout or reset after sending).
        case ambiguous
        /// No access token could be had.
        case token
        /// Purview answered 2xx with a body we could not read.
        case decoding
    }

    public var kind: Kind
    /// HTTP status, for `.service` (and `.decoding`).
    public var status: Int?
    /// Purview's error code (e.g. `Workflow.NotFound`), the AAD code, or a transport category.
    public var code: String
    public var message: String
    /// Purview's full error envelope, for `.service`.
    public var serviceError: PurviewError?
    /// The `x-ms-client-request-id` we sent.
    public var clientRequestId: String
    /// Purview's `x-ms-request-id`, when it answered.
    public var serviceRequestId: String?
    /// A delay Purview asked for (`Retry-After`), when it did.
    public var retryAfter: Duration?

    public init(
        kind: Kind, status: Int?, code: String, message: String, serviceError: PurviewError? = nil,
        clientRequestId: String, serviceRequestId: String? = nil, retryAfter: Duration? = nil
    ) {
        self.kind = kind
        self.status = status
        self.code = code
        self.message = message
        self.serviceError = serviceError
        self.clientRequestId = clientRequestId
        self.serviceRequestId = serviceRequestId
        self.retryAfter = retryAfter
    }

    /// True when Purview certainly did not process the request: safe to send again later.
    public var certainlyNotProcessed: Bool {
        switch kind {
        case .unreachable, .token: true
        case .service: status == 429 || status == 503
        case .ambiguous, .decoding: false
        }
    }

    /// A bounded label for metrics.
    public var shortDescription: String {
        switch kind {
        case .service: "http_\(status ?? 0)"
        default: kind.rawValue
        }
    }

    public var description: String {
        var text = "Purview \(kind.rawValue)"
        if let status { text += " \(status)" }
        text += ": \(code): \(message) (x-ms-client-request-id \(clientRequestId)"
        if let serviceRequestId { text += ", x-ms-request-id \(serviceRequestId)" }
        return text + ")"
    }
}

/// A successful answer with the ids that correlate it.
public struct PurviewResponse<Value: Sendable>: Sendable {
    public var value: Value
    public var status: Int
    public var clientRequestId: String
    public var serviceRequestId: String?

    public init(value: Value, status: Int, clientRequestId: String, serviceRequestId: String?) {
        self.value = value
        self.status = status
        self.clientRequestId = clientRequestId
        self.serviceRequestId = serviceRequestId
    }
}

extension PurviewResponse: Equatable where Value: Equatable {}
