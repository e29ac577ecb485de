package org.apache.skywalking.swtls;

/** The program {@link Subprocess} runs: prints one result line, or the error and exit status 1. */
public final class SubprocessMain {
    private SubprocessMain() {}

    public static void main(String[] args) {
        try {
            if (args[0].equals("version")) {
                System.out.println("version " + Swtls.version());
            } else if (args[0].equals("env")) {
                Config c = Config.fromEnvironment();
                if (args.length > 1) {
                    c.set("collector.backend_service", args[1]);
                }
                try (Channel ch = new Channel(c)) {
                    System.out.println("channel " + ch.tlsMode() + " " + ch.stats().backend);
                }
            }
        } catch (SwtlsException e) {
            System.out.println("SwtlsException " + e.getStatus() + " " + e.getMessage());
            System.exit(1);
        } catch (Throwable e) {
            System.out.println(e);
            System.exit(1);
        }
    }
}
