package io.tenantexport.local.bench;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The figures of one measured run of one job at one tenant count; NaN where the run could not
 * produce a figure (it failed, the job writes no lake, no checkpoint completed).
 *
 * @param job a, b or c
 * @param tenants tenants in the input
 * @param repetition 1-based
 * @param status FINISHED, or what went wrong
 * @param events input records (all of them: valid, duplicate, malformed, tombstones)
 * @param eventsPerSecond the source's read rate in full flow, from 10 % to 90 % of the input
 *     ({@link RunProbe#steadyRate}); the figure the ratios use
 * @param wallEventsPerSecond events ÷ job wall time (JobManager start-time to end-time), which also
 *     counts deployment, the last files and the wait for the final checkpoint
 * @param cpuSecondsPerMillion CPU seconds of all TaskManager processes during the run, per million
 *     input events
 * @param jitShareOfCpu of those CPU seconds, the share the JIT compiler threads used: a measured
 *     run of a warm cluster compiles little (each run is a new job, but the job jar's classes are
 *     on the cluster's class path, so compiled code outlives the job)
 * @param peakHeapMiB highest sampled heap use of any TaskManager, MiB
 * @param lakeFiles visible lake files written
 * @param filesPerTenantHour median over tenants with files: files per hour of event time
 * @param maxFilesPerTenantHour the busiest tenant's files per hour of event time
 * @param medianFileKiB median visible lake file size, KiB
 * @param stateBytesPerTenant state size of the last completed checkpoint ÷ tenants
 * @param warehouseRows (c): rollup rows the run left in the warehouse
 * @param sinkAloneRowsPerSecond (c): job (w)'s read rate in full flow: those rows, widened to at
 *     least {@link WarehouseBaseline#MIN_ROWS}, written by the pipeline's warehouse sink alone
 *     ({@code WarehouseSinkJob})
 * @param standaloneRowsPerSecond (c): the same widened rows upserted outside any job ({@link
 *     WarehouseBaseline})
 */
record RunResult(
    String job,
    int tenants,
    int repetition,
    String status,
    long events,
    double eventsPerSecond,
    double wallEventsPerSecond,
    double cpuSecondsPerMillion,
    double jitShareOfCpu,
    double peakHeapMiB,
    double lakeFiles,
    double filesPerTenantHour,
    double maxFilesPerTenantHour,
    double medianFileKiB,
    double stateBytesPerTenant,
    double warehouseRows,
    double sinkAloneRowsPerSecond,
    double standaloneRowsPerSecond) {

  boolean finished() {
    return status.equals("FINISHED");
  }

  /** The figures by name, NaN as null (JSON has no NaN). */
  Map<String, Object> figures() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("events_per_second", json(eventsPerSecond));
    m.put("events_per_second_wall", json(wallEventsPerSecond));
    m.put("cpu_seconds_per_million_events", json(cpuSecondsPerMillion));
    m.put("jit_share_of_cpu", json(jitShareOfCpu));
    m.put("peak_taskmanager_heap_mib", json(peakHeapMiB));
    m.put("lake_files", json(lakeFiles));
    m.put("files_per_tenant_hour_median", json(filesPerTenantHour));
    m.put("files_per_tenant_hour_max", json(maxFilesPerTenantHour));
    m.put("median_file_kib", json(medianFileKiB));
    m.put("checkpoint_state_bytes_per_tenant", json(stateBytesPerTenant));
    m.put("warehouse_rows", json(warehouseRows));
    m.put("warehouse_rows_per_second_sink_alone", json(sinkAloneRowsPerSecond));
    m.put("warehouse_rows_per_second_standalone", json(standaloneRowsPerSecond));
    return m;
  }

  static Object json(double v) {
    return Double.isNaN(v) ? null : v;
  }
}
