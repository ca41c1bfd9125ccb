package io.tenantexport.jobs.operators;

import io.tenantexport.common.cdc.CdcDecoder;
import io.tenantexport.common.cdc.DecodeResult;
import io.tenantexport.common.cdc.QuarantineReason;
import io.tenantexport.common.cdc.RawRecord;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.schemas.ChangeEvent;
import io.tenantexport.schemas.QuarantineRecord;
import java.util.EnumMap;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Decodes and validates raw Kafka records (stateless).
 *
 * <p>Invariant: every input record leaves as exactly one of: a decoded change (main output); a
 * quarantine record on {@link Tags#QUARANTINE} (plus, when the record named a valid tenant, a
 * {@code QUARANTINED} marker on the main output so that tenant's receipt counts it); or a counted
 * tombstone. Nothing throws: bad input never fails the job.
 */
public final class DecodeFunction extends ProcessFunction<RawRecord, ChangeEvent> {
  private static final long serialVersionUID = 1L;

  private final ExportSpec spec;
  private final String jobVersion;
  private transient CdcDecoder decoder;
  private transient Counter decoded;
  private transient Counter tombstones;
  private transient Map<QuarantineReason, Counter> quarantined;

  public DecodeFunction(ExportSpec spec, String jobVersion) {
    this.spec = spec;
    this.jobVersion = jobVersion;
  }

  @Override
  public void open(OpenContext ctx) {
    decoder = new CdcDecoder(spec);
    decoded = getRuntimeContext().getMetricGroup().counter("decoded");
    tombstones = getRuntimeContext().getMetricGroup().counter("tombstones");
    quarantined = new EnumMap<>(QuarantineReason.class);
    for (QuarantineReason r : QuarantineReason.values()) {
      quarantined.put(
          r,
          getRuntimeContext().getMetricGroup().addGroup("quarantined", r.name()).counter("count"));
    }
  }

  @Override
  public void processElement(RawRecord raw, Context ctx, Collector<ChangeEvent> out) {
    DecodeResult result = decoder.decode(raw);
    if (result instanceof DecodeResult.Decoded d) {
      decoded.inc();
      out.collect(d.event());
    } else if (result instanceof DecodeResult.Tombstone) {
      tombstones.inc();
    } else {
      DecodeResult.Rejected r = (DecodeResult.Rejected) result;
      quarantined.get(r.code()).inc();
      QuarantineRecord q =
          Quarantines.fromRaw(raw, r.code(), r.reason(), r.tenantId(), spec.version(), jobVersion);
      ctx.output(Tags.QUARANTINE, q);
      if (r.tenantId() != null) {
        // The Kafka timestamp, not a time parsed from a value already known to be bad: the broker
        // bounds
        // it, so a garbage time cannot open a window far ahead of the tenant's clock.
        out.collect(Quarantines.marker(r.tenantId(), null, raw.timestamp(), q));
      }
    }
  }
}
