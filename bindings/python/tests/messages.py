"""The two SkyWalking messages the tests send, encoded by hand (protobuf string fields):
no protobuf package needed."""


def varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def pb_string(field: int, value: str) -> bytes:
    data = value.encode("utf-8")
    return varint(field << 3 | 2) + varint(len(data)) + data


def ping(service: str, instance: str) -> bytes:
    """skywalking.v3.InstancePingPkg: service = 1, serviceInstance = 2."""
    return pb_string(1, service) + pb_string(2, instance)


def segment(trace_id: str, segment_id: str, service: str = "svc", instance: str = "inst") -> bytes:
    """skywalking.v3.SegmentObject without spans: traceId = 1, traceSegmentId = 2,
    service = 4, serviceInstance = 5."""
    return pb_string(1, trace_id) + pb_string(2, segment_id) + pb_string(4, service) + pb_string(5, instance)
