package io.tenantexport.jobs.cli;

/**
 * The command line is wrong (unknown command or flag, missing or malformed argument): exit status
 * {@value TenantExportCli#USAGE}, nothing was attempted. The message names the offending argument.
 */
final class UsageException extends Exception {
  private static final long serialVersionUID = 1L;

  UsageException(String message) {
    super(message);
  }
}
