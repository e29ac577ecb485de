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
