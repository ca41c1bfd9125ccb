package io.tenantexport.jobs.operators;

import io.tenantexport.schemas.AuditEvent;
import io.tenantexport.schemas.QuarantineRecord;
import org.apache.flink.api.common.functions.MapFunction;

/**
 * Turns each quarantine record into its audit event (stateless; the id derives from the record's).
 */
public final class QuarantineAuditor implements MapFunction<QuarantineRecord, AuditEvent> {
  private static final long serialVersionUID = 1L;

  @Override
  public AuditEvent map(QuarantineRecord q) {
    return Quarantines.audit(q, System.currentTimeMillis());
  }
}
