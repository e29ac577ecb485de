package org.apache.skywalking.swtls.grpc;

import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Runs tasks one at a time, in order, on a delegate executor: a call's listener is never
 * called from two threads at once (the contract of {@link io.grpc.ClientCall.Listener}).
 * grpc-java has its own, but not in its public API.
 */
final class SerializingExecutor implements Executor {
    private static final Logger LOG = Logger.getLogger(SerializingExecutor.class.getName());

    private final Executor delegate;
    private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<Runnable>();
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private final Runnable drain = new Runnable() {
        @Override
        public void run() {
            drain();
        }
    };

    SerializingExecutor(Executor delegate) {
        this.delegate = delegate;
    }

    @Override
    public void execute(Runnable task) {
        tasks.add(task);
        schedule();
    }

    private void schedule() {
        if (scheduled.compareAndSet(false, true)) {
            try {
                delegate.execute(drain);
            } catch (RuntimeException e) {
                scheduled.set(false);
                LOG.log(Level.SEVERE, "swtls-grpc: the call's executor refused a listener callback", e);
                throw e;
            }
        }
    }

    private void drain() {
        try {
            Runnable task;
            while ((task = tasks.poll()) != null) {
                try {
                    task.run();
                } catch (Throwable t) { // a listener's exception must not stop the calls after it
                    LOG.log(Level.WARNING, "swtls-grpc: a call listener threw", t);
                }
            }
        } finally {
            scheduled.set(false);
        }
        if (!tasks.isEmpty()) {
            schedule();
        }
    }
}
