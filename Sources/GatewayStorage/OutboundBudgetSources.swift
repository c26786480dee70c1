public import Observability
public import PurviewWorkflow

/// Where the outbound budget's rate tokens come from for a given store.
public enum OutboundBudgetSources {
    /// PostgreSQL: one budget for every replica on the database (`PostgresOutboundRate`). SQLite serves one
    /// process, whose own budget is then the deployment's.
    public static func rate(
        for store: any DurableRequestStore, configuration: OutboundBudgetConfiguration, logger: Logger
    ) -> any OutboundRateSource {
        if let postgres = store as? PostgresRequestStore {
            return PostgresOutboundRate(
                pool: postgres.pool, configuration: configuration, logger: logger.with("component", "outbound-budget"))
        }
        return LocalOutboundRate(configuration: configuration)
    }
}
