package io.tenantexport.jobs.cli;

/** {@code replay}: being built (skeleton so that the command table compiles). */
final class ReplayCommand implements Command {
  @Override
  public String name() {
    return "replay";
  }

  @Override
  public String summary() {
    return "(being built)";
  }

  @Override
  public String help() {
    return "Usage: tenant-export replay\n";
  }

  @Override
  public Args.Spec arguments() {
    return new Args.Spec();
  }

  @Override
  public int run(Args args, Io io) throws UsageException {
    throw new CommandFailedException("replay is not built yet");
  }
}
