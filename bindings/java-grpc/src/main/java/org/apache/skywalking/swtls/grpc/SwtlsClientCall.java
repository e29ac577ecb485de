package org.apache.skywalking.swtls.grpc;

import io.grpc.ClientCall;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Deadline;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.skywalking.swtls.Cancellation;
import org.apache.skywalking.swtls.Channel;
import org.apache.skywalking.swtls.ClientStream;
import org.apache.skywalking.swtls.SwtlsException;

/**
 * One unary or client-streaming call on a swtls {@link Channel}, as a grpc-java
 * {@link ClientCall}.
 *
 * <p>Unary: the request is kept until {@link #halfClose()}, then one blocking
 * {@link Channel#unary(String, byte[], org.apache.skywalking.swtls.CallOptions)} runs on a
 * worker thread with a {@link Cancellation} that {@link #cancel} raises.
 *
 * <p>Client streaming: the stream is opened at {@link #start} (which does not block: swtls
 * connects in the background). {@link #sendMessage} serializes the message on the caller's
 * thread and queues it for a sender task, which makes the blocking sends; so the caller never
 * blocks. {@link #isReady()} is true while fewer than {@link #SEND_AHEAD} messages wait for the
 * sender and the stream's own buffer has room; when the caller saw {@code false}, the sender
 * watches the stream and fires {@code onReady} once it would take a message again.
 *
 * <p>Whatever ends the call first (its outcome, {@link #cancel}, the Context) closes the
 * listener, once; listener callbacks run in order on the call's executor.
 */
final class SwtlsClientCall<ReqT, RespT> extends ClientCall<ReqT, RespT> {
    /** Messages that may wait for the sender, on top of the stream's own buffer, while isReady() is true. */
    static final int SEND_AHEAD = 8;
    /** How long the sender waits for room at a time before it looks at its queue again. */
    private static final long READY_WAIT_MILLIS = 100;
    private static final Object HALF_CLOSE = new Object();
    private static final Executor DIRECT = new Executor() {
        @Override
        public void execute(Runnable r) {
            r.run();
        }
    };

    private final Channel channel;
    private final MethodDescriptor<ReqT, RespT> method;
    private final String path;
    private final boolean streaming;
    private final Executor work;
    private final SerializingExecutor callbacks;
    private final Context context;
    /** The sooner of the CallOptions' and the Context's deadlines; null: the channel's default timeout. */
    private final Deadline deadline;

    // The caller's side; transitions under `this`.
    private volatile boolean started;
    private volatile boolean halfClosed;
    private Listener<RespT> listener;
    private byte[] unaryRequest;
    private org.apache.skywalking.swtls.CallOptions options;
    private volatile Status cancelStatus;

    // The native call.
    private volatile ClientStream stream;
    private volatile Cancellation cancellation;
    /** The outcome is decided (or the call was cancelled): nothing more goes to the network. */
    private final AtomicBoolean done = new AtomicBoolean();
    private final Context.CancellationListener contextListener = new Context.CancellationListener() {
        @Override
        public void cancelled(Context c) {
            Status s = Contexts.statusFromCancelled(c);
            abort(s != null ? s : Status.CANCELLED.withDescription("the call's Context was cancelled"));
        }
    };

    // The sender of a client stream.
    private final ConcurrentLinkedQueue<Object> outbox = new ConcurrentLinkedQueue<Object>();
    private final AtomicInteger waiting = new AtomicInteger();
    private final AtomicBoolean senderScheduled = new AtomicBoolean();
    private volatile boolean readyWanted;
    private volatile boolean streamReleased;
    private final Runnable sender = new Runnable() {
        @Override
        public void run() {
            runSender();
        }
    };

    // The listener's side: only touched by tasks on `callbacks`.
    private int requested;
    private byte[] heldResponse;
    private Status heldStatus;
    private boolean listenerClosed;

    SwtlsClientCall(Channel channel, MethodDescriptor<ReqT, RespT> method, io.grpc.CallOptions callOptions,
            Executor executor, Executor work) {
        this.channel = channel;
        this.method = method;
        this.path = "/" + method.getFullMethodName();
        this.streaming = method.getType() == MethodDescriptor.MethodType.CLIENT_STREAMING;
        this.work = work;
        this.callbacks = new SerializingExecutor(executor);
        this.context = Context.current();
        Deadline d = callOptions.getDeadline();
        Deadline cd = context.getDeadline();
        this.deadline = d == null ? cd : cd == null ? d : d.minimum(cd);
    }

    @Override
    public void start(Listener<RespT> listener, Metadata headers) {
        if (listener == null) {
            throw new NullPointerException("listener");
        }
        if (headers == null) {
            throw new NullPointerException("headers");
        }
        synchronized (this) {
            if (started) {
                throw new IllegalStateException("the call was already started");
            }
            this.listener = listener;
            try {
                if (cancelStatus == null) {
                    // A Context cancelled already cancels the call right here (abort() only
                    // records it: the call is not started yet).
                    context.addListener(contextListener, DIRECT);
                }
                if (cancelStatus != null) { // cancelled before start
                    context.removeListener(contextListener);
                    closeLater(cancelStatus);
                    return;
                }
                org.apache.skywalking.swtls.CallOptions opts = new org.apache.skywalking.swtls.CallOptions();
                copyMetadata(headers, opts);
                long timeout = timeoutMillis();
                if (timeout < 0) {
                    complete(deadlineExceeded("before the call started"), null);
                    return;
                }
                if (streaming) {
                    try {
                        stream = channel.openStream(path, opts.timeoutMillis(timeout));
                    } catch (SwtlsException e) {
                        complete(Statuses.of(e), null);
                        return;
                    }
                } else {
                    options = opts;
                }
            } finally {
                // Last: other threads that see the call started see its stream too.
                started = true;
            }
        }
        callbacks.execute(new Runnable() {
            @Override
            public void run() {
                if (!listenerClosed) {
                    SwtlsClientCall.this.listener.onReady();
                }
            }
        });
    }

    @Override
    public void request(final int numMessages) {
        if (numMessages < 0) {
            throw new IllegalArgumentException("numMessages " + numMessages + " is negative");
        }
        if (!started) {
            throw new IllegalStateException("request() before start()");
        }
        callbacks.execute(new Runnable() {
            @Override
            public void run() {
                requested = (int) Math.min(Integer.MAX_VALUE, (long) requested + numMessages);
                deliverHeld();
            }
        });
    }

    @Override
    public void cancel(String message, Throwable cause) {
        Status s = Status.CANCELLED.withDescription(message != null ? message : "the call was cancelled without a message");
        abort(cause != null ? s.withCause(cause) : s);
    }

    @Override
    public void halfClose() {
        synchronized (this) {
            if (!started) {
                throw new IllegalStateException("halfClose() before start()");
            }
            if (halfClosed) {
                throw new IllegalStateException("the call was already half-closed");
            }
            halfClosed = true;
        }
        if (done.get()) {
            return;
        }
        if (streaming) {
            outbox.add(HALF_CLOSE);
            scheduleSender();
        } else if (unaryRequest == null) {
            abort(Status.INTERNAL.withDescription(path + ": half-closed without a request message (a unary call takes one)"));
        } else {
            work.execute(new Runnable() {
                @Override
                public void run() {
                    runUnary();
                }
            });
        }
    }

    @Override
    public void sendMessage(ReqT message) {
        if (!started) {
            throw new IllegalStateException("sendMessage() before start()");
        }
        if (halfClosed) {
            throw new IllegalStateException("sendMessage() after halfClose()");
        }
        if (done.get()) {
            return; // the call is over; the listener hears (or heard) how
        }
        byte[] bytes;
        try {
            bytes = serialize(message);
        } catch (Throwable t) {
            abort(Status.CANCELLED.withCause(t).withDescription("Failed to stream message"));
            return;
        }
        if (!streaming) {
            boolean second;
            synchronized (this) {
                second = unaryRequest != null;
                if (!second) {
                    unaryRequest = bytes;
                }
            }
            if (second) {
                abort(Status.INTERNAL.withDescription(path + " is a unary method: it takes one request message, not two"));
            }
            return;
        }
        waiting.incrementAndGet();
        outbox.add(bytes);
        scheduleSender();
    }

    @Override
    public boolean isReady() {
        if (!started || halfClosed || done.get()) {
            return false;
        }
        if (!streaming) {
            return true;
        }
        boolean ready = waiting.get() < SEND_AHEAD && stream.isReady(); // started and not done: the stream is open
        if (!ready) {
            readyWanted = true; // the sender fires onReady when the stream takes messages again
            scheduleSender();
        }
        return ready;
    }

    // ---- how the call ends ----

    /** Ends the call now with {@code status} (a cancel, the Context, a local failure), resetting it. */
    private void abort(Status status) {
        boolean wasStarted;
        synchronized (this) {
            if (cancelStatus != null) {
                return;
            }
            cancelStatus = status;
            wasStarted = started;
        }
        boolean first = done.compareAndSet(false, true);
        ClientStream s = stream;
        if (s != null) {
            s.cancel();
        }
        Cancellation c = cancellation;
        if (c != null) {
            c.cancel();
        }
        if (!wasStarted) {
            return; // start() closes the listener
        }
        if (first) {
            context.removeListener(contextListener);
        }
        closeLater(status);
        if (streaming) {
            scheduleSender(); // frees the stream
        }
    }

    /** Records the call's outcome unless it already has one; the listener gets it in order. */
    private void complete(final Status status, final byte[] response) {
        if (!done.compareAndSet(false, true)) {
            return;
        }
        context.removeListener(contextListener);
        callbacks.execute(new Runnable() {
            @Override
            public void run() {
                if (listenerClosed) {
                    return;
                }
                if (response == null) {
                    closeListener(status);
                    return;
                }
                try {
                    listener.onHeaders(new Metadata());
                } catch (Throwable t) {
                    closeListener(Status.CANCELLED.withCause(t).withDescription("Failed to read headers"));
                    return;
                }
                heldResponse = response;
                heldStatus = status;
                deliverHeld();
            }
        });
    }

    /** Delivers the response once the listener asked for a message, then closes it. On `callbacks`. */
    private void deliverHeld() {
        if (heldResponse == null || requested <= 0 || listenerClosed) {
            return;
        }
        byte[] response = heldResponse;
        heldResponse = null;
        requested--;
        try {
            listener.onMessage(method.parseResponse(new ByteArrayInputStream(response)));
        } catch (Throwable t) {
            closeListener(Status.CANCELLED.withCause(t).withDescription("Failed to read message."));
            return;
        }
        closeListener(heldStatus);
    }

    private void closeLater(final Status status) {
        callbacks.execute(new Runnable() {
            @Override
            public void run() {
                closeListener(status);
            }
        });
    }

    /** On `callbacks`. */
    private void closeListener(Status status) {
        if (listenerClosed) {
            return;
        }
        listenerClosed = true;
        heldResponse = null;
        listener.onClose(status, new Metadata());
    }

    // ---- unary ----

    private void runUnary() {
        Cancellation c;
        try {
            c = new Cancellation();
        } catch (RuntimeException e) {
            complete(failure(e), null);
            return;
        }
        cancellation = c; // from here on abort() raises it (it reads `cancellation` after setting `cancelStatus`)
        try {
            if (cancelStatus != null) {
                return;
            }
            long timeout = timeoutMillis();
            if (timeout < 0) {
                complete(deadlineExceeded("before the request was sent"), null);
                return;
            }
            byte[] response = channel.unary(path, unaryRequest, options.timeoutMillis(timeout).cancellation(c));
            complete(Status.OK, response);
        } catch (RuntimeException e) {
            complete(failure(e), null);
        } finally {
            c.close();
        }
    }

    // ---- client streaming: the sender ----

    private void scheduleSender() {
        if (senderScheduled.compareAndSet(false, true)) {
            work.execute(sender);
        }
    }

    private void runSender() {
        while (true) {
            drainOutbox();
            if (done.get()) {
                releaseStream();
            } else if (readyWanted && !fireOnReadyIfReady()) {
                // The caller waits for onReady: wait for room, a while at a time (new messages,
                // a half-close or a cancel may come meanwhile).
                if (stream.awaitReady(READY_WAIT_MILLIS) == ClientStream.Readiness.CLOSED && outbox.isEmpty()
                        && !done.get()) {
                    outcome(); // the call ended while the caller waited: say how
                }
                continue;
            }
            senderScheduled.set(false);
            if (!hasSenderWork() || !senderScheduled.compareAndSet(false, true)) {
                return;
            }
        }
    }

    private boolean hasSenderWork() {
        if (!outbox.isEmpty()) {
            return true;
        }
        return done.get() ? !streamReleased : readyWanted;
    }

    private void drainOutbox() {
        Object item;
        while ((item = outbox.poll()) != null) {
            if (item != HALF_CLOSE) {
                waiting.decrementAndGet();
            }
            if (done.get()) {
                continue; // dropped: the call is over
            }
            if (item == HALF_CLOSE) {
                outcome();
            } else {
                try {
                    stream.send((byte[]) item);
                } catch (SwtlsException e) {
                    if (e.getStatus() == SwtlsException.CLOSED) {
                        outcome(); // the server ended the call early (maybe with OK and its response)
                    } else {
                        complete(Statuses.of(e), null);
                    }
                }
            }
            if (readyWanted) {
                fireOnReadyIfReady();
            }
        }
    }

    /** Ends the stream (or, when the call is already over, learns how it ended) and records the outcome. */
    private void outcome() {
        try {
            complete(Status.OK, stream.finish());
        } catch (RuntimeException e) {
            complete(failure(e), null);
        }
    }

    /** Fires onReady if the caller waits for it and the stream would take a message now; true if it need not wait further. */
    private boolean fireOnReadyIfReady() {
        if (done.get() || halfClosed) {
            readyWanted = false;
            return true;
        }
        if (waiting.get() >= SEND_AHEAD || !stream.isReady()) {
            return false;
        }
        readyWanted = false;
        callbacks.execute(new Runnable() {
            @Override
            public void run() {
                if (!listenerClosed) {
                    listener.onReady();
                }
            }
        });
        return true;
    }

    private void releaseStream() {
        if (!streamReleased) {
            streamReleased = true;
            ClientStream s = stream;
            if (s != null) {
                s.close();
            }
        }
    }

    // ---- helpers ----

    /** Milliseconds left until the deadline (at least 1), 0 for none (the channel's default), -1 once it passed. */
    private long timeoutMillis() {
        if (deadline == null) {
            return 0;
        }
        long nanos = deadline.timeRemaining(TimeUnit.NANOSECONDS);
        if (nanos <= 0) {
            return -1;
        }
        return Math.max(1, (nanos + 999_999) / 1_000_000);
    }

    private Status deadlineExceeded(String when) {
        return Status.DEADLINE_EXCEEDED.withDescription(path + ": the deadline (" + deadline + ") passed " + when);
    }

    private static Status failure(RuntimeException e) {
        if (e instanceof SwtlsException) {
            return Statuses.of((SwtlsException) e);
        }
        return Status.INTERNAL.withDescription("swtls-grpc: " + e).withCause(e);
    }

    private static void copyMetadata(Metadata headers, org.apache.skywalking.swtls.CallOptions opts) {
        for (String key : headers.keys()) {
            if (key.endsWith(Metadata.BINARY_HEADER_SUFFIX)) {
                Iterable<byte[]> values = headers.getAll(Metadata.Key.of(key, Metadata.BINARY_BYTE_MARSHALLER));
                if (values != null) {
                    for (byte[] v : values) {
                        opts.addMetadata(key, v);
                    }
                }
            } else {
                Iterable<String> values = headers.getAll(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER));
                if (values != null) {
                    for (String v : values) {
                        opts.addMetadata(key, v);
                    }
                }
            }
        }
    }

    /** The message's bytes, read from the marshaller's stream (protobuf's knows its length). */
    private byte[] serialize(ReqT message) throws IOException {
        InputStream in = method.streamRequest(message);
        try {
            int size = in.available();
            byte[] bytes = new byte[size];
            int n = 0;
            while (n < size) {
                int r = in.read(bytes, n, size - n);
                if (r < 0) {
                    break;
                }
                n += r;
            }
            int next = n == size ? in.read() : -1;
            if (next < 0) {
                return n == size ? bytes : java.util.Arrays.copyOf(bytes, n);
            }
            // The stream did not know its length: read the rest.
            ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(64, 2 * size));
            out.write(bytes, 0, n);
            out.write(next);
            byte[] buf = new byte[8192];
            int r;
            while ((r = in.read(buf)) > 0) {
                out.write(buf, 0, r);
            }
            return out.toByteArray();
        } finally {
            in.close();
        }
    }
}
