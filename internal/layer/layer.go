package layer

// Layer is one of KrakenD's three telemetry layers, or None for data that does
// not come from a gateway's instrumentation.
type Layer uint8

const (
	None Layer = iota
	Global
	Proxy
	Backend
)

// Part narrows the backend layer down to the switch that governs it. The
// global and proxy layers have a single part, PartStage.
type Part uint8

const (
	PartNone Part = iota
	// PartStage is the layer's own span or metric: the global server span, the
	// proxy span, the backend stage span (krakend.backend.duration).
	PartStage
	// PartRoundTrip is the backend's HTTP round trip (backend-request spans,
	// http.client.* metrics), governed by `round_trip`.
	PartRoundTrip
	// PartReadPayload is the reading of the backend's response body (the read
	// tracker span, http.client.response.read.* metrics), governed by `read_payload`.
	PartReadPayload
	// PartDetailedConnection is the connection timing metrics (get-conn, dns,
	// tls), governed by `detailed_connection`.
	PartDetailedConnection
)

// Class is the classification of one span, metric or log record.
type Class struct {
	Layer Layer
	Part  Part
}

// The classes a gateway produces.
var (
	Unclassified              = Class{}
	GlobalStage               = Class{Global, PartStage}
	ProxyStage                = Class{Proxy, PartStage}
	BackendStage              = Class{Backend, PartStage}
	BackendRoundTrip          = Class{Backend, PartRoundTrip}
	BackendReadPayload        = Class{Backend, PartReadPayload}
	BackendDetailedConnection = Class{Backend, PartDetailedConnection}
)

// Classes lists every class a gateway item can have, in pipeline order.
var Classes = []Class{GlobalStage, ProxyStage, BackendStage, BackendRoundTrip, BackendReadPayload, BackendDetailedConnection}

func (l Layer) String() string {
	switch l {
	case Global:
		return "global"
	case Proxy:
		return "proxy"
	case Backend:
		return "backend"
	default:
		return "none"
	}
}

func (p Part) String() string {
	switch p {
	case PartStage:
		return "stage"
	case PartRoundTrip:
		return "round_trip"
	case PartReadPayload:
		return "read_payload"
	case PartDetailedConnection:
		return "detailed_connection"
	default:
		return "none"
	}
}

// String is the class's mark: "global", "proxy", "backend.stage",
// "backend.round_trip", "backend.read_payload", "backend.detailed_connection"
// or "none". The strings are constants so that marking allocates nothing.
func (c Class) String() string {
	switch c {
	case GlobalStage:
		return "global"
	case ProxyStage:
		return "proxy"
	case BackendStage:
		return "backend.stage"
	case BackendRoundTrip:
		return "backend.round_trip"
	case BackendReadPayload:
		return "backend.read_payload"
	case BackendDetailedConnection:
		return "backend.detailed_connection"
	default:
		return "none"
	}
}

// ParseClass reads a mark written by Class.String.
func ParseClass(s string) (Class, bool) {
	switch s {
	case "global":
		return GlobalStage, true
	case "proxy":
		return ProxyStage, true
	case "backend.stage":
		return BackendStage, true
	case "backend.round_trip":
		return BackendRoundTrip, true
	case "backend.read_payload":
		return BackendReadPayload, true
	case "backend.detailed_connection":
		return BackendDetailedConnection, true
	case "none":
		return Unclassified, true
	}
	return Unclassified, false
}
