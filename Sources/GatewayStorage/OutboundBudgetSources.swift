public import Observability
public import PurviewWorkflow

/// Where the outbound budget's rate tokens come from for a given store.
public enum OutboundBudgetSources {
    /// This process's own state: SQLite serves one process, so its budget is the deployment's.
    public static func rate(
        for url: DatabaseURL, store: any DurableRequestStore, configuration: OutboundBudgetConfiguration, logger: Logger
    ) async -> any OutboundRateSource {
        LocalOutboundRate(configuration: configuration)
    }
}
