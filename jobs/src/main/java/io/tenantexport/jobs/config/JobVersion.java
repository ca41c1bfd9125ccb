package io.tenantexport.jobs.config;

/**
 * The job's own version, from the jar manifest (set by Maven), for audit events and the registry.
 */
public final class JobVersion {
  private JobVersion() {}

  public static String current() {
    String v = JobVersion.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }
}
