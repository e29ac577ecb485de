package org.apache.skywalking.swtls.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.skywalking.swtls.Config;
import org.apache.skywalking.swtls.grpc.test.v3.Commands;
import org.apache.skywalking.swtls.grpc.test.v3.InstancePingPkg;
import org.apache.skywalking.swtls.grpc.test.v3.SegmentObject;
import org.apache.skywalking.swtls.grpc.test.v3.SpanObject;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.function.Executable;

final class Fixtures {
    private Fixtures() {}

    /** A configuration for one backend with mutual TLS (the test CA and client certificate), 10 s call timeout. */
    static Config mtls(String backend) throws Exception {
        return new Config()
                .set("collector.backend_service", backend)
                .set("agent.ca_dir", TestCerts.get().agentDir("ca.crt", "client.crt", "client.pem").toString())
                .set("collector.grpc_upstream_timeout", "10");
    }

    static InstancePingPkg ping(String service, String instance) {
        return InstancePingPkg.newBuilder().setService(service).setServiceInstance(instance).setLayer("GENERAL").build();
    }

    static SegmentObject segment(int i, int tagBytes) {
        StringBuilder tag = new StringBuilder(tagBytes);
        for (int k = 0; k < tagBytes; k++) {
            tag.append((char) ('a' + k % 26));
        }
        return SegmentObject.newBuilder()
                .setTraceId("trace-" + i)
                .setTraceSegmentId("segment-" + i)
                .setService("svc")
                .setServiceInstance("svc-1")
                .addSpans(SpanObject.newBuilder()
                        .setSpanId(0)
                        .setParentSpanId(-1)
                        .setStartTime(1000L + i)
                        .setEndTime(1010L + i)
                        .setOperationName("/op/" + i)
                        .setPeer("db:3306")
                        .setComponentId(5)
                        .addTags(org.apache.skywalking.swtls.grpc.test.v3.KeyStringValuePair.newBuilder()
                                .setKey("blob").setValue(tag.toString())))
                .build();
    }

    /** Asserts that {@code call} throws a StatusRuntimeException with {@code code} and a description holding {@code parts}. */
    static Status assertStatus(Status.Code code, Executable call, String... parts) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call);
        return check(e.getStatus(), code, parts);
    }

    static Status check(Status s, Status.Code code, String... parts) {
        assertEquals(code, s.getCode(), "status: " + s);
        for (String p : parts) {
            assertTrue(s.getDescription() != null && s.getDescription().contains(p),
                    "the description should mention '" + p + "': " + s);
        }
        return s;
    }

    /** A StreamObserver for a call's response that records how it ended. */
    static final class Response implements StreamObserver<Commands> {
        final AtomicReference<Commands> value = new AtomicReference<Commands>();
        final AtomicReference<Throwable> error = new AtomicReference<Throwable>();
        final AtomicReference<String> thread = new AtomicReference<String>();
        final CountDownLatch done = new CountDownLatch(1);

        @Override
        public void onNext(Commands c) {
            value.set(c);
            thread.set(Thread.currentThread().getName());
        }

        @Override
        public void onError(Throwable t) {
            error.set(t);
            done.countDown();
        }

        @Override
        public void onCompleted() {
            done.countDown();
        }

        /** Waits for the end; the status it ended with. */
        Status await() throws InterruptedException {
            assertTrue(done.await(30, TimeUnit.SECONDS), "the call did not end within 30 s");
            return error.get() == null ? Status.OK : Status.fromThrowable(error.get());
        }
    }
}
