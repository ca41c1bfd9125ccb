package io.tenantexport.common.policy;

import io.tenantexport.common.spec.ExportSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Test resources of the policy tests. */
final class Specs {
  private Specs() {}

  /** The test export spec: deploy/export-spec.yaml plus the personal-data columns. */
  static ExportSpec testSpec() {
    return ExportSpec.load(resource("policy/export-spec.yaml"));
  }

  static String text(String resource) {
    try {
      return Files.readString(resource(resource));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Path resource(String name) {
    try {
      return Path.of(Specs.class.getResource("/" + name).toURI());
    } catch (URISyntaxException | NullPointerException e) {
      throw new IllegalStateException("missing test resource " + name, e);
    }
  }
}
