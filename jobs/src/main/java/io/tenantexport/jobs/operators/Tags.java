package io.tenantexport.jobs.operators;

import io.tenantexport.schemas.AuditEvent;
import io.tenantexport.schemas.QuarantineRecord;
import io.tenantexport.schemas.WarehouseRollup;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.util.OutputTag;

/** The side outputs of the pipeline, shared so that no operator spells a tag's name itself. */
public final class Tags {
  public static final OutputTag<QuarantineRecord> QUARANTINE =
      new OutputTag<>("quarantine", new AvroTypeInfo<>(QuarantineRecord.class));
  public static final OutputTag<WarehouseRollup> ROLLUPS =
      new OutputTag<>("rollups", new AvroTypeInfo<>(WarehouseRollup.class));
  public static final OutputTag<AuditEvent> AUDIT =
      new OutputTag<>("audit", new AvroTypeInfo<>(AuditEvent.class));

  private Tags() {}
}
