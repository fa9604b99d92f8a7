/**
 * A metric reader for the OpenTelemetry tests: collects on demand, cumulative (sdk-metrics' own
 * `MetricReader` with nothing exported). Imports the SDK, hence the API: a program that must not have
 * loaded the API yet imports this module dynamically, after that check.
 */
import { AggregationTemporality, MetricReader } from '@opentelemetry/sdk-metrics';

/** Collects with `reader.collect()`. */
export class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}
