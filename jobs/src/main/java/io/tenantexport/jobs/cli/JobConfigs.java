package io.tenantexport.jobs.cli;

import io.tenantexport.jobs.config.JobConfig;
import java.nio.file.Path;

/**
 * Loads the job configuration from a command's {@code --config} and job settings, exactly as the
 * job's own {@code main} does, so the CLI accepts and rejects the same configurations.
 */
final class JobConfigs {
  static final String CONFIG = "--config";

  static final String HELP =
      """
        --config <job.yaml>   the job's configuration file (deploy/job.yaml); optional when
                              every required setting is given as a flag
        --<key>=<value>       any setting of the job configuration, as for the job, e.g.
                              --kafka.bootstrap_servers=broker:9092; validated like the job's
      """;

  private JobConfigs() {}

  /**
   * @throws io.tenantexport.jobs.config.ConfigException naming the setting, its value and origin
   */
  static JobConfig load(Args args, Io io) {
    String file = args.value(CONFIG);
    return JobConfig.load(file == null ? null : Path.of(file), args.settings(), io.env());
  }
}
