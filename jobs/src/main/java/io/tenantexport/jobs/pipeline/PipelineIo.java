package io.tenantexport.jobs.pipeline;

import io.tenantexport.common.cdc.RawRecord;
import io.tenantexport.schemas.AuditEvent;
import io.tenantexport.schemas.LakeRecord;
import io.tenantexport.schemas.PolicyDocument;
import io.tenantexport.schemas.QuarantineRecord;
import io.tenantexport.schemas.WarehouseRollup;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.source.Source;

/**
 * The pipeline's source and sinks, injected so that production, the local run, tests and benchmarks
 * all run the one graph {@link TenantExportPipeline} builds. {@link ProductionIo} builds the real
 * ones from the job configuration. {@code policySource} carries tenant policy updates (the control
 * topic); it must end when a bounded {@code cdcSource} ends, or the job never finishes.
 */
public record PipelineIo(
    Source<RawRecord, ?, ?> cdcSource,
    Source<PolicyDocument, ?, ?> policySource,
    Sink<LakeRecord> lake,
    Sink<WarehouseRollup> warehouse,
    Sink<AuditEvent> audit,
    Sink<QuarantineRecord> quarantine) {}
