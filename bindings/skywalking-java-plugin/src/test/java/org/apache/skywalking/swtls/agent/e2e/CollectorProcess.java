package org.apache.skywalking.swtls.agent.e2e;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** swtls-collector in a subprocess ({@code serve ... --port-file FILE}), with the lines it prints. */
public final class CollectorProcess {
    final Process process;
    final List<String> lines = new ArrayList<String>();
    public final int port;

    public CollectorProcess(Path portFile, String... command) throws Exception {
        Files.deleteIfExists(portFile);
        process = new ProcessBuilder(command).redirectErrorStream(true).start();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(
                    new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String l;
                while ((l = r.readLine()) != null) {
                    synchronized (lines) {
                        lines.add(l);
                        lines.notifyAll();
                    }
                }
            } catch (IOException ignored) {
                // the collector was stopped
            }
        }, "collector-output");
        reader.setDaemon(true);
        reader.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!(Files.exists(portFile) && Files.size(portFile) > 0) && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        if (!Files.exists(portFile)) {
            process.destroy();
            throw new IllegalStateException("swtls-collector did not start:\n" + text());
        }
        port = Integer.parseInt(new String(Files.readAllBytes(portFile), StandardCharsets.US_ASCII).trim());
    }

    /** Waits until a line the collector printed matches. */
    public boolean waitFor(Predicate<String> p, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        synchronized (lines) {
            while (true) {
                for (String l : lines) {
                    if (p.test(l)) {
                        return true;
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(lines, left);
            }
        }
    }

    public int count(String fragment) {
        synchronized (lines) {
            int n = 0;
            for (String l : lines) {
                if (l.contains(fragment)) {
                    n++;
                }
            }
            return n;
        }
    }

    public String text() {
        synchronized (lines) {
            return String.join("\n", lines);
        }
    }

    public void stop() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
        }
    }
}
