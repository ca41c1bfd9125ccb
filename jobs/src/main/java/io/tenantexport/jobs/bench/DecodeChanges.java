package io.tenantexport.jobs.bench;

import io.tenantexport.common.cdc.CdcDecoder;
import io.tenantexport.common.cdc.DecodeResult;
import io.tenantexport.common.cdc.RawRecord;
import io.tenantexport.common.spec.ExportSpec;
import io.tenantexport.schemas.ChangeEvent;
import java.security.SecureRandom;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichFlatMapFunction;
import org.apache.flink.util.Collector;

/**
 * The decoding a hand-written job does: {@link CdcDecoder} on every record, keeping the decoded
 * changes that name their tenant and dropping everything else (tombstones, refusals, key-only
 * deletes), with no policy, no quarantine and no audit. Event ids are keyed (HMAC) like the full
 * pipeline's, with a random per-instance key, so that both pay the same digest cost.
 */
final class DecodeChanges extends RichFlatMapFunction<RawRecord, ChangeEvent> {
  private static final long serialVersionUID = 1L;

  private final ExportSpec spec;
  private transient CdcDecoder decoder;

  DecodeChanges(ExportSpec spec) {
    this.spec = spec;
  }

  @Override
  public void open(OpenContext ctx) {
    byte[] key = new byte[32];
    new SecureRandom().nextBytes(key);
    decoder = new CdcDecoder(spec, key);
  }

  @Override
  public void flatMap(RawRecord raw, Collector<ChangeEvent> out) {
    if (decoder.decode(raw) instanceof DecodeResult.Decoded d && d.event().getTenantId() != null) {
      out.collect(d.event());
    }
  }
}
