package io.tenantexport.jobs.cli;

/** {@code canary stop}: being built (skeleton so that the command table compiles). */
final class CanaryStopCommand implements Command {
  @Override
  public String name() {
    return "canary stop";
  }

  @Override
  public String summary() {
    return "(being built)";
  }

  @Override
  public String help() {
    return "Usage: tenant-export canary stop\n";
  }

  @Override
  public Args.Spec arguments() {
    return new Args.Spec();
  }

  @Override
  public int run(Args args, Io io) throws UsageException {
    throw new CommandFailedException("canary stop is not built yet");
  }
}
