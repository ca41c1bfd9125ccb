package io.tenantexport.jobs.cli;

/** {@code reconcile}: being built (skeleton so that the command table compiles). */
final class ReconcileCommand implements Command {
  @Override
  public String name() {
    return "reconcile";
  }

  @Override
  public String summary() {
    return "(being built)";
  }

  @Override
  public String help() {
    return "Usage: tenant-export reconcile\n";
  }

  @Override
  public Args.Spec arguments() {
    return new Args.Spec();
  }

  @Override
  public int run(Args args, Io io) throws UsageException {
    throw new CommandFailedException("reconcile is not built yet");
  }
}
