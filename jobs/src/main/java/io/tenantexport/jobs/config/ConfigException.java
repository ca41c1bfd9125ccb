package io.tenantexport.jobs.config;

/**
 * The job configuration is invalid; the message names the key, the bad value and where it was set.
 */
public final class ConfigException extends IllegalArgumentException {
  public ConfigException(String message) {
    super(message);
  }
}
