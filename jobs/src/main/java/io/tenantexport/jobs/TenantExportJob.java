package io.tenantexport.jobs;

import io.tenantexport.jobs.config.JobConfig;
import io.tenantexport.jobs.pipeline.ProductionIo;
import io.tenantexport.jobs.pipeline.TenantExportPipeline;
import java.nio.file.Path;
import java.util.Arrays;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Entry point of the job jar: {@code flink run tenant-export-jobs-<v>-job.jar --config job.yaml
 * [--key=value ...]}. The warehouse password comes from {@value JobConfig#PASSWORD_ENV}.
 */
public final class TenantExportJob {
  private static final Logger LOG = LoggerFactory.getLogger(TenantExportJob.class);

  private TenantExportJob() {}

  public static void main(String[] args) throws Exception {
    JobConfig config = config(args);
    LOG.info("Starting with {}", config);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    TenantExportPipeline.configure(env, config);
    TenantExportPipeline.build(env, config, ProductionIo.create(config));
    env.execute(config.jobName());
  }

  /**
   * The configuration from the jar's arguments, {@code [--config file] [--key=value ...]}, and this
   * process's environment (the password).
   */
  public static JobConfig config(String[] args) {
    Path file = null;
    String[] rest = args;
    if (args.length >= 2 && args[0].equals("--config")) {
      file = Path.of(args[1]);
      rest = Arrays.copyOfRange(args, 2, args.length);
    }
    return JobConfig.load(file, rest, System.getenv());
  }
}
