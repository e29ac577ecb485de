package bench;

import org.apache.skywalking.swtls.Channel;
import org.apache.skywalking.swtls.ClientStream;
import org.apache.skywalking.swtls.Config;
import org.apache.skywalking.swtls.TlsMode;

/**
 * The {@code swtls-java} client: the swtls Java binding (JNI into the Rust core). The channel
 * is configured as an agent configures it: the backend address and the agent's ca folder,
 * from which the core loads ca.crt, client.crt and client.pem (mutual TLS).
 */
public final class SwtlsMain {
    public static void main(String[] args) {
        long tStart = System.nanoTime(); // "first": as early as possible
        Bench.main("swtls-java", tStart, args, flags -> new SwtlsClient(flags));
    }

    private SwtlsMain() {}

    private static final class SwtlsClient implements Bench.Client {
        private final Channel channel;

        SwtlsClient(Bench.Flags flags) {
            // Not Config.fromEnvironment(): only the flags decide, whatever the harness's environment holds.
            channel = new Channel(new Config()
                    .set("collector.backend_service", flags.target)
                    .set("agent.ca_dir", flags.certs));
            if (channel.tlsMode() != TlsMode.MUTUAL_TLS) {
                channel.close();
                throw new IllegalStateException("expected mutual TLS from " + flags.certs + ", got "
                        + channel.tlsMode() + " (" + channel.tlsReason() + ")");
            }
        }

        @Override
        public void keepAlive() {
            channel.unary(Bench.KEEP_ALIVE, Bench.PING, Bench.UNARY_DEADLINE_MILLIS);
        }

        @Override
        public Bench.Stream openStream() {
            final ClientStream s = channel.openStream(Bench.COLLECT, Bench.STREAM_DEADLINE_MILLIS);
            return new Bench.Stream() {
                @Override
                public void send(byte[] message) {
                    s.send(message);
                }

                @Override
                public byte[] finish() {
                    try {
                        return s.finish();
                    } finally {
                        s.close();
                    }
                }
            };
        }

        @Override
        public void close() {
            channel.close();
        }
    }
}
