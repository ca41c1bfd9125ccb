package io.tenantexport.jobs.cli;

/**
 * A command could not do its work (a broker unreachable, a topic missing, a payload that does not
 * open): exit status {@value TenantExportCli#FAILED}. The message says what and where; it never
 * holds payload contents.
 */
public final class CommandFailedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  CommandFailedException(String message) {
    super(message);
  }

  CommandFailedException(String message, Throwable cause) {
    super(message, cause);
  }
}
