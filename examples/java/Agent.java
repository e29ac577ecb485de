import java.util.UUID;
import org.apache.skywalking.apm.network.language.agent.v3.SegmentObject;
import org.apache.skywalking.apm.network.management.v3.InstancePingPkg;
import org.apache.skywalking.swtls.Channel;
import org.apache.skywalking.swtls.Config;
import org.apache.skywalking.swtls.Stats;
import org.apache.skywalking.swtls.SwtlsException;

/**
 * A small agent loop over the swtls Java binding: a keepAlive (InstancePingPkg) every
 * round and trace segments (SegmentObject) reported in the background, configured as the
 * SkyWalking Java agent is, from the environment:
 *
 * <pre>
 *   SW_AGENT_COLLECTOR_BACKEND_SERVICES  backends, e.g. oap:11800        (default 127.0.0.1:11800)
 *   SWTLS_CA_DIR                         folder with ca.crt, client.crt, client.pem (default ./ca)
 *   SW_AGENT_FORCE_TLS, SW_AGENT_AUTHENTICATION, SW_AGENT_SSL_*       as for the Java agent
 *   SW_AGENT_NAME, SW_AGENT_INSTANCE_NAME  service and instance names
 * </pre>
 *
 * The messages are the SkyWalking protocol's generated Java classes, as the SkyWalking Java
 * agent has them: {@code org.apache.skywalking:apm-network} (9.3.0, built for Java 8) on
 * {@code com.google.protobuf:protobuf-java} (3.25.9), both from Maven Central; the swtls jar
 * itself needs neither. Outside a Maven project, fetch the two jars with
 *
 * <pre>
 *   mvn dependency:copy -Dartifact=org.apache.skywalking:apm-network:9.3.0 -DoutputDirectory=lib
 *   mvn dependency:copy -Dartifact=com.google.protobuf:protobuf-java:3.25.9 -DoutputDirectory=lib
 * </pre>
 *
 * (.ci/test-java.sh does that). Build and run:
 * {@code javac -cp swtls.jar:lib/* Agent.java} and
 * {@code java -cp swtls.jar:lib/*:. Agent [rounds] [segments-per-round] [interval-ms]}.
 * Exits with status 1 when a keepAlive failed or a segment was not delivered.
 */
public final class Agent {
    static final String KEEP_ALIVE = "/skywalking.v3.ManagementService/keepAlive";
    static final String COLLECT = "/skywalking.v3.TraceSegmentReportService/collect";

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        int perRound = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        long intervalMs = args.length > 2 ? Long.parseLong(args[2]) : 1000;
        String service = env("SW_AGENT_NAME", "java-example");
        String instance = env("SW_AGENT_INSTANCE_NAME", "java-example-1");

        boolean ok = true;
        Channel channel;
        try {
            channel = new Channel(Config.fromEnvironment());
        } catch (SwtlsException e) {
            // The message names the variable, key or file at fault.
            System.err.println("configuration error: " + e.getMessage());
            System.exit(2);
            return;
        }
        try {
            System.out.println("TLS mode " + channel.tlsMode() + ": " + channel.tlsReason());
            for (int round = 1; round <= rounds; round++) {
                try {
                    channel.unary(KEEP_ALIVE, instancePing(service, instance), 5000);
                    System.out.println("round " + round + ": keepAlive ok");
                } catch (SwtlsException e) {
                    System.out.println("round " + round + ": keepAlive failed: " + e.getMessage());
                    ok = false;
                }
                for (int i = 0; i < perRound; i++) {
                    try {
                        channel.report(COLLECT, segment(UUID.randomUUID().toString(), round + "." + i, service, instance));
                    } catch (SwtlsException e) {
                        // RESOURCE_EXHAUSTED: the queue is full and the segment was dropped (and counted).
                        System.out.println("segment dropped: " + e.getMessage());
                    }
                }
                if (round < rounds) {
                    Thread.sleep(intervalMs);
                }
            }
        } finally {
            try {
                channel.close(10000); // delivers what is queued, for up to 10 s
            } catch (SwtlsException e) {
                System.out.println("close: " + e.getMessage());
                ok = false;
            }
        }
        Stats s = channel.stats();
        System.out.println("delivered " + s.acknowledged + " of " + s.queued + " segments, dropped " + s.dropped()
                + " (" + s.tlsMode + " to " + s.backend + ")");
        System.exit(ok && s.dropped() == 0 ? 0 : 1);
    }

    static String env(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isEmpty() ? fallback : v;
    }

    /** skywalking.v3.InstancePingPkg, the body of keepAlive. */
    static byte[] instancePing(String service, String instance) {
        return InstancePingPkg.newBuilder().setService(service).setServiceInstance(instance).build().toByteArray();
    }

    /** skywalking.v3.SegmentObject without spans, one message of TraceSegmentReportService/collect. */
    static byte[] segment(String traceId, String segmentId, String service, String instance) {
        return SegmentObject.newBuilder()
                .setTraceId(traceId)
                .setTraceSegmentId(segmentId)
                .setService(service)
                .setServiceInstance(instance)
                .build()
                .toByteArray();
    }
}
