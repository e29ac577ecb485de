//! The few SkyWalking v3 messages the collector decodes, written by hand with
//! `prost` derives (field numbers from apache/skywalking-data-collect-protocol).
//! Fields not listed here are skipped when decoding.

/// `skywalking.v3.InstancePingPkg` (management/Management.proto), the body of
/// `ManagementService/keepAlive`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct InstancePingPkg {
    /// `string service = 1`
    #[prost(string, tag = "1")]
    pub service: String,
    /// `string serviceInstance = 2`
    #[prost(string, tag = "2")]
    pub service_instance: String,
    /// `string layer = 3`
    #[prost(string, tag = "3")]
    pub layer: String,
}

/// `skywalking.v3.InstanceProperties`, the body of
/// `ManagementService/reportInstanceProperties` (only the names are decoded).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct InstanceProperties {
    /// `string service = 1`
    #[prost(string, tag = "1")]
    pub service: String,
    /// `string serviceInstance = 2`
    #[prost(string, tag = "2")]
    pub service_instance: String,
}

/// `skywalking.v3.SegmentObject` (language-agent/Tracing.proto), without the spans.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct SegmentObject {
    /// `string traceId = 1`
    #[prost(string, tag = "1")]
    pub trace_id: String,
    /// `string traceSegmentId = 2`
    #[prost(string, tag = "2")]
    pub trace_segment_id: String,
    /// `string service = 4`
    #[prost(string, tag = "4")]
    pub service: String,
    /// `string serviceInstance = 5`
    #[prost(string, tag = "5")]
    pub service_instance: String,
    /// `bool isSizeLimited = 6`
    #[prost(bool, tag = "6")]
    pub is_size_limited: bool,
}

/// `skywalking.v3.Source` (event/Event.proto): what an event is about.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct EventSource {
    /// `string service = 1`
    #[prost(string, tag = "1")]
    pub service: String,
    /// `string serviceInstance = 2`
    #[prost(string, tag = "2")]
    pub service_instance: String,
    /// `string endpoint = 3`
    #[prost(string, tag = "3")]
    pub endpoint: String,
}

/// `skywalking.v3.Event` (event/Event.proto), the messages of `EventService/collect`
/// (the Java agent's `Start` and `Shutdown` events), without its parameters.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct AgentEvent {
    /// `string uuid = 1`
    #[prost(string, tag = "1")]
    pub uuid: String,
    /// `Source source = 2`
    #[prost(message, optional, tag = "2")]
    pub source: Option<EventSource>,
    /// `string name = 3`
    #[prost(string, tag = "3")]
    pub name: String,
    /// `string message = 5`
    #[prost(string, tag = "5")]
    pub message: String,
    /// `int64 startTime = 7`
    #[prost(int64, tag = "7")]
    pub start_time: i64,
    /// `int64 endTime = 8`
    #[prost(int64, tag = "8")]
    pub end_time: i64,
    /// `string layer = 9`
    #[prost(string, tag = "9")]
    pub layer: String,
}

/// `skywalking.v3.JVMMetricCollection` (language-agent/JVMMetric.proto), the body of
/// `JVMMetricReportService/collect`. The `JVMMetric` messages are kept undecoded: the
/// collector only counts them (a length-delimited field reads as bytes).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct JvmMetricCollection {
    /// `repeated JVMMetric metrics = 1`, each as its encoded bytes
    #[prost(bytes = "vec", repeated, tag = "1")]
    pub metrics: Vec<Vec<u8>>,
    /// `string service = 2`
    #[prost(string, tag = "2")]
    pub service: String,
    /// `string serviceInstance = 3`
    #[prost(string, tag = "3")]
    pub service_instance: String,
}

/// `skywalking.v3.ProfileTaskCommandQuery` (profile/Profile.proto), the body of
/// `ProfileTask/getProfileTaskCommands`, which agents poll.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ProfileTaskCommandQuery {
    /// `string service = 1`
    #[prost(string, tag = "1")]
    pub service: String,
    /// `string serviceInstance = 2`
    #[prost(string, tag = "2")]
    pub service_instance: String,
    /// `int64 lastCommandTime = 3`
    #[prost(int64, tag = "3")]
    pub last_command_time: i64,
}

/// `skywalking.v3.Commands` (common/Command.proto). The collector always answers
/// with no commands, which encodes as an empty message.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Commands {}

/// Encodes an `InstancePingPkg`.
pub fn encode_ping(service: &str, instance: &str, layer: &str) -> Vec<u8> {
    use prost::Message as _;
    InstancePingPkg { service: service.to_string(), service_instance: instance.to_string(), layer: layer.to_string() }
        .encode_to_vec()
}

/// Encodes a `SegmentObject` with no spans.
pub fn encode_segment(trace_id: &str, segment_id: &str, service: &str, instance: &str) -> Vec<u8> {
    use prost::Message as _;
    SegmentObject {
        trace_id: trace_id.to_string(),
        trace_segment_id: segment_id.to_string(),
        service: service.to_string(),
        service_instance: instance.to_string(),
        is_size_limited: false,
    }
    .encode_to_vec()
}

/// Encodes an `Event` about `service`/`instance` named `name` (the Java agent sends `Start`).
pub fn encode_event(name: &str, service: &str, instance: &str, layer: &str) -> Vec<u8> {
    use prost::Message as _;
    AgentEvent {
        uuid: format!("{name}-{service}-{instance}"),
        source: Some(EventSource {
            service: service.to_string(),
            service_instance: instance.to_string(),
            endpoint: String::new(),
        }),
        name: name.to_string(),
        message: String::new(),
        start_time: 1,
        end_time: 2,
        layer: layer.to_string(),
    }
    .encode_to_vec()
}

/// Encodes a `JVMMetricCollection` of `metrics` `JVMMetric`s (each holding only a time).
pub fn encode_jvm_metrics(service: &str, instance: &str, metrics: usize) -> Vec<u8> {
    use prost::Message as _;
    JvmMetricCollection {
        // JVMMetric { int64 time = 1 }: field 1, varint.
        metrics: (0..metrics).map(|i| vec![0x08, (i % 128) as u8]).collect(),
        service: service.to_string(),
        service_instance: instance.to_string(),
    }
    .encode_to_vec()
}
