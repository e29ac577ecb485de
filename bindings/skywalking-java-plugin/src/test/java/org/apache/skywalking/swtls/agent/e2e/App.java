package org.apache.skywalking.swtls.agent.e2e;

import java.io.File;

/**
 * The application the end-to-end test runs under the agent: it waits until the file named
 * by its first argument exists (or 180 s pass), then returns from main. The JVM must then
 * exit by itself: nothing the agent or the plugin started may keep it alive.
 */
public final class App {
    private App() {}

    public static void main(String[] args) throws InterruptedException {
        File stop = new File(args[0]);
        long deadline = System.nanoTime() + 180_000_000_000L;
        while (!stop.exists() && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        System.out.println("e2e app: main returns");
    }
}
