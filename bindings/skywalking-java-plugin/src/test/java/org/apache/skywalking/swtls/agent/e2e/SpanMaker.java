package org.apache.skywalking.swtls.agent.e2e;

import org.apache.skywalking.apm.agent.core.boot.BootService;
import org.apache.skywalking.apm.agent.core.context.ContextManager;

/**
 * A test-only agent plugin (packed into its own jar by {@link AgentEndToEndIT} and put into
 * the agent's plugins/ folder): opens and closes a local span twice a second on a daemon
 * thread, so that the agent has trace segments to send.
 */
public class SpanMaker implements BootService, Runnable {
    static final String OPERATION = "swtls-e2e/span";

    private volatile boolean running = true;

    @Override
    public void prepare() {}

    @Override
    public void boot() {
        Thread t = new Thread(this, "swtls-e2e-span-maker");
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void onComplete() {}

    @Override
    public void shutdown() {
        running = false;
    }

    @Override
    public void run() {
        while (running) {
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                return;
            }
            ContextManager.createLocalSpan(OPERATION);
            ContextManager.stopSpan();
        }
    }
}
