package io.tenantexport.common.gen;

import java.text.Normalizer;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Realistic fake values: people, addresses, IPs from the documentation ranges (RFC 5737/3849),
 * pages, invoice metadata. Names carry accents, apostrophes and non-Latin scripts on purpose, so
 * that encoding and escaping bugs surface. Everything is drawn from the caller's random source,
 * hence deterministic.
 */
final class FakeData {
  private static final String[] FIRST = {
    "Maria", "Jonas", "Aylin", "Mateo", "Chloé", "Sven", "Priya", "Kwame", "Yuki", "Oğuz", "Zoë",
    "Liam", "Fatima", "Noah", "Ingrid", "Tomás", "Mei", "Olga", "Ahmed", "Sofia", "Łukasz", "Aoife"
  };
  private static final String[] LAST = {
    "Keller",
    "Silva",
    "O'Brien",
    "Nakamura",
    "Müller",
    "Okafor",
    "Rossi",
    "Kowalski",
    "Dubois",
    "Sharma",
    "Andersen",
    "García",
    "Novák",
    "Haddad",
    "Lindqvist",
    "Chen",
    "van der Berg",
    "Nørgaard"
  };

  /** Names in their own script; they appear only in display columns, never in e-mail addresses. */
  private static final String[] NATIVE = {
    "李雷", "Анна Смирнова", "佐藤 花子", "Δημήτρης Παππάς", "محمد علي"
  };

  private static final String[] FIRST_ASCII = ascii(FIRST);
  private static final String[] LAST_ASCII = ascii(LAST);
  private static final String[] MAIL_DOMAINS = {
    "example.com", "example.org", "mail.example.net", "example.de"
  };
  private static final String[] STREETS = {
    "Hauptstraße",
    "Baker Street",
    "Rue de Rivoli",
    "Calle Mayor",
    "Market Street",
    "Via Roma",
    "Kungsgatan",
    "Nørregade",
    "ul. Marszałkowska",
    "Keizersgracht"
  };
  private static final String[] CITIES = {
    "10115 Berlin, DE", "London NW1 6XE, GB", "75001 Paris, FR", "28013 Madrid, ES",
        "San Francisco, CA 94103, US",
    "00184 Roma, IT", "111 57 Stockholm, SE", "1165 København K, DK", "00-001 Warszawa, PL",
        "1016 Amsterdam, NL"
  };

  /** Pages, most visited first; {@link #page} favours the head of the list. */
  private static final String[] PAGES = {
    "/", "/pricing", "/docs/getting-started", "/products/widget-pro", "/blog/2024/release-notes",
        "/search",
    "/checkout", "/account/settings", "/docs/api/v2", "/support", "/careers", "/legal/privacy"
  };

  private static final String[] NOTES = {
    "Zahlung per Überweisung",
    "paid by card",
    "said \"asap\" on the phone",
    "net 30 \\ PO required",
    "réf. client 4471",
    "請求書再発行"
  };

  /** The notes as JSON string literals, escaped once. */
  private static final String[] NOTES_JSON = new String[NOTES.length];

  private static final String[] TAGS = {"priority", "eu", "reseller", "net30", "manual-review"};

  static {
    for (int i = 0; i < NOTES.length; i++) {
      NOTES_JSON[i] = new JsonBytes().string(NOTES[i]).toString();
    }
  }

  private FakeData() {}

  static String page(SplittableRandom rng) {
    // Cubing a uniform favours the head: about 44 % "/", a long tail of rare pages.
    double u = rng.nextDouble();
    return PAGES[(int) (PAGES.length * u * u * u)];
  }

  static long viewDurationMs(SplittableRandom rng) {
    return Math.round(logUniform(rng, 40, 180_000));
  }

  static String customerName(SplittableRandom rng) {
    if (rng.nextInt(20) == 0) {
      return NATIVE[rng.nextInt(NATIVE.length)];
    }
    return FIRST[rng.nextInt(FIRST.length)] + " " + LAST[rng.nextInt(LAST.length)];
  }

  static String email(SplittableRandom rng) {
    int f = rng.nextInt(FIRST.length);
    int l = rng.nextInt(LAST.length);
    String local =
        rng.nextBoolean()
            ? FIRST_ASCII[f] + "." + LAST_ASCII[l]
            : FIRST_ASCII[f].charAt(0) + LAST_ASCII[l] + (10 + rng.nextInt(90));
    return local + "@" + MAIL_DOMAINS[rng.nextInt(MAIL_DOMAINS.length)];
  }

  static String ip(SplittableRandom rng) {
    switch (rng.nextInt(4)) {
      case 0:
        return "203.0.113." + (1 + rng.nextInt(254));
      case 1:
        return "198.51.100." + (1 + rng.nextInt(254));
      case 2:
        return "192.0.2." + (1 + rng.nextInt(254));
      default:
        return "2001:db8::" + Integer.toHexString(1 + rng.nextInt(0xfffe));
    }
  }

  static String billingAddress(SplittableRandom rng) {
    int c = rng.nextInt(CITIES.length);
    return STREETS[c] + " " + (1 + rng.nextInt(240)) + ", " + CITIES[c];
  }

  /** An invoice's JSON document, exactly as the application stored it (varying layout), or null. */
  static String invoiceMetadata(SplittableRandom rng) {
    switch (rng.nextInt(10)) {
      case 0:
        return null;
      case 1:
        return "{}";
      case 2:
      case 3:
        return "{\"source\":\"api\",\"po_number\":\"PO-"
            + (10_000 + rng.nextInt(90_000))
            + "\",\"terms\":\"net"
            + (rng.nextBoolean() ? 30 : 60)
            + "\"}";
      case 4:
      case 5:
        return "{ \"source\": \"import\", \"batch\": "
            + rng.nextInt(100_000)
            + ", \"dry_run\": false }";
      case 6:
      case 7:
        StringBuilder sb =
            new StringBuilder("{\"lines\":").append(1 + rng.nextInt(40)).append(",\"tags\":[");
        int tags = 1 + rng.nextInt(3);
        for (int i = 0; i < tags; i++) {
          sb.append(i == 0 ? "\"" : ",\"").append(TAGS[rng.nextInt(TAGS.length)]).append('"');
        }
        return sb.append("],\"discount\":{\"code\":\"SPRING\",\"pct\":")
            .append(5 * (1 + rng.nextInt(6)))
            .append("}}")
            .toString();
      default:
        return "{\"note\":"
            + NOTES_JSON[rng.nextInt(NOTES.length)]
            + ",\"reminders\":"
            + rng.nextInt(3)
            + "}";
    }
  }

  /** A fake secret for rows of the undeclared {@code secrets} table. */
  static String apiKey(SplittableRandom rng) {
    StringBuilder sb = new StringBuilder("sk_live_");
    for (int i = 0; i < 24; i++) {
      sb.append("abcdefghijklmnopqrstuvwxyz0123456789".charAt(rng.nextInt(36)));
    }
    return sb.toString();
  }

  /** A value between min and max, uniform in its logarithm: many small values, a few large ones. */
  static double logUniform(SplittableRandom rng, double min, double max) {
    // StrictMath: results must not depend on the CPU or JIT, or the same seed would give other
    // bytes.
    return min * StrictMath.pow(max / min, rng.nextDouble());
  }

  private static String[] ascii(String[] names) {
    String[] out = new String[names.length];
    for (int i = 0; i < names.length; i++) {
      String decomposed = Normalizer.normalize(names[i], Normalizer.Form.NFD);
      out[i] =
          decomposed
              .replace("ł", "l")
              .replace("Ł", "L")
              .replace("ø", "o")
              .replaceAll("[^A-Za-z]", "")
              .toLowerCase(Locale.ROOT);
    }
    return out;
  }
}
