package io.tenantexport.jobs.cli;

/** {@code canary start}: being built (skeleton so that the command table compiles). */
final class CanaryStartCommand implements Command {
  @Override
  public String name() {
    return "canary start";
  }

  @Override
  public String summary() {
    return "(being built)";
  }

  @Override
  public String help() {
    return "Usage: tenant-export canary start\n";
  }

  @Override
  public Args.Spec arguments() {
    return new Args.Spec();
  }

  @Override
  public int run(Args args, Io io) throws UsageException {
    throw new CommandFailedException("canary start is not built yet");
  }
}
