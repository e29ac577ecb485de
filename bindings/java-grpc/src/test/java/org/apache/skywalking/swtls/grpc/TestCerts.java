package org.apache.skywalking.swtls.grpc;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * A CA, a server certificate for 127.0.0.1 and localhost, and a client certificate, made
 * for this test run by the project's own tool ({@code swtls certs}); nothing is committed.
 * The tool's path comes from the system property {@code swtls.cli} (set by the pom).
 */
final class TestCerts {
    static final String CLIENT_NAME = "java-grpc-test-agent";

    final Path root;
    final File caCrt;
    final File clientCrt;
    final File clientKey;
    final File serverCrt;
    final File serverKey;

    private static TestCerts shared;

    static synchronized TestCerts get() throws Exception {
        if (shared == null) {
            final Path dir = Files.createTempDirectory("swtls-java-certs");
            Runtime.getRuntime().addShutdownHook(new Thread(new Runnable() {
                @Override
                public void run() {
                    delete(dir.toFile()); // the keys do not outlive the test run
                }
            }));
            shared = new TestCerts(dir);
        }
        return shared;
    }

    private TestCerts(Path root) throws Exception {
        this.root = root;
        String cli = System.getProperty("swtls.cli", "");
        if (cli.isEmpty() || !new File(cli).canExecute()) {
            throw new IllegalStateException("the swtls tool is needed to make test certificates, but swtls.cli='" + cli
                    + "' is not an executable; build it with `cargo build --features cli --bin swtls`");
        }
        Process p = new ProcessBuilder(cli, "certs", "--out", root.toString(), "--server-name", "127.0.0.1",
                "--server-name", "localhost", "--client-name", CLIENT_NAME, "--days", "90")
                .redirectErrorStream(true)
                .start();
        String out = readAll(p.getInputStream());
        if (p.waitFor() != 0) {
            throw new IllegalStateException("swtls certs failed: " + out);
        }
        caCrt = root.resolve("ca/ca.crt").toFile();
        clientCrt = root.resolve("ca/client.crt").toFile();
        clientKey = root.resolve("ca/client.pem").toFile();
        serverCrt = root.resolve("server/server.crt").toFile();
        serverKey = root.resolve("server/server.key").toFile();
    }

    /** A new ca folder holding the named files of the agent's set (ca.crt, client.crt, client.pem). */
    Path agentDir(String... names) throws IOException {
        Path dir = Files.createTempDirectory(root, "agent");
        for (String n : names) {
            Files.copy(root.resolve("ca").resolve(n), dir.resolve(n), StandardCopyOption.REPLACE_EXISTING);
        }
        return dir;
    }

    static void delete(File f) {
        File[] children = f.listFiles();
        if (children != null) {
            for (File c : children) {
                delete(c);
            }
        }
        if (!f.delete()) {
            f.deleteOnExit();
        }
    }

    static String readAll(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        int n;
        while ((n = in.read(buf)) > 0) {
            out.write(buf, 0, n);
        }
        return new String(out.toByteArray(), "UTF-8");
    }
}
