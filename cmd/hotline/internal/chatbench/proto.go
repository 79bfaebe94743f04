package chatbench

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Modes of a phase: the real hub, or the bare relay of the baseline.
const (
	modeHub   = "hub"
	modeRelay = "relay"
)

// plan is a worker's share of a phase, the first line it reads.
type plan struct {
	Mode       string        `json:"mode"`
	URL        string        `json:"url"` // http://127.0.0.1:port
	Tenant     string        `json:"tenant"`
	Queue      string        `json:"queue"`
	Password   string        `json:"password"`  // of every agent account
	Agents     []int         `json:"agents"`    // global agent indices
	Customers  []int         `json:"customers"` // global customer indices
	AllCust    int           `json:"all_customers"`
	Rate       float64       `json:"rate"` // aggregate, all workers
	Worker     int           `json:"worker"`
	Workers    int           `json:"workers"`
	Warmup     time.Duration `json:"warmup"`
	Duration   time.Duration `json:"duration"`
	Drain      time.Duration `json:"drain"`
	ReplyEvery int           `json:"reply_every"`
	ReplyVia   string        `json:"reply_via"` // ReplyViaSocket or ReplyViaHTTP
}

// How agents reply (Options.ReplyVia).
const (
	ReplyViaSocket = "socket"
	ReplyViaHTTP   = "http"
)

// Commands from the coordinator, one JSON line each after the plan.
const (
	cmdAgents    = "agents"    // log agents in, set them available (relay: connect them)
	cmdCustomers = "customers" // connect customers and queue their conversations
	cmdSockets   = "sockets"   // agents stop taking offers and open their sockets
	cmdStart     = "start"     // run the schedule from T0
)

type command struct {
	Cmd string `json:"cmd"`
	T0  int64  `json:"t0,omitempty"` // unix ns
}

// Events a worker writes, one JSON line each.
const (
	evAgentsReady    = "agents_ready"
	evCustomersReady = "customers_ready"
	evAssigned       = "assigned"
	evSocketsReady   = "sockets_ready"
	evWindow         = "window" // the measured window has started or ended
	evResult         = "result"
	evError          = "error"
)

type workerEvent struct {
	Ev     string        `json:"ev"`
	N      int           `json:"n,omitempty"`
	Error  string        `json:"error,omitempty"`
	Result *workerResult `json:"result,omitempty"`
}

// workerResult is what a worker measured; the coordinator adds them up.
type workerResult struct {
	Counts Counts  `json:"counts"`
	C2A    []int64 `json:"c2a"` // ns
	// C2ASent is each C2A sample's send time (unix ns), for the timeline.
	C2ASent []int64  `json:"c2a_sent"`
	A2C     []int64  `json:"a2c"`  // ns
	Acks    []int64  `json:"acks"` // ns, customer's write to the hub's ack
	LagP99  int64    `json:"lag_p99"`
	LagMax  int64    `json:"lag_max"`
	CPU     int64    `json:"cpu_ns"` // user+sys over the measured window
	Errors  []string `json:"errors,omitempty"`
}

// Phases of a message, in its text and client id.
const (
	phaseWarm     = 'w'
	phaseMeasured = 'm'
)

// stamp is what a message or reply carries: its phase, the customer and
// the sequence number, and its send time on the wall clock (every process
// runs on one host).
type stamp struct {
	Phase    byte
	Customer int
	Seq      int
	Sent     int64 // unix ns
}

// text is the message text: "<phase> <customer> <seq> <sent ns>".
func (s stamp) text() string {
	return string(s.Phase) + " " + strconv.Itoa(s.Customer) + " " + strconv.Itoa(s.Seq) + " " + strconv.FormatInt(s.Sent, 10)
}

// key identifies the message (and its reply) across processes.
func (s stamp) key() int64 { return int64(s.Customer)<<32 | int64(s.Seq) }

// clientID is the message's client id, unique per customer message.
func (s stamp) clientID(prefix string) string {
	return prefix + string(s.Phase) + "-" + strconv.Itoa(s.Customer) + "-" + strconv.Itoa(s.Seq)
}

// parseStamp reads a text made by stamp.text.
func parseStamp(text string) (stamp, error) {
	f := strings.Fields(text)
	if len(f) != 4 || len(f[0]) != 1 || (f[0][0] != phaseWarm && f[0][0] != phaseMeasured) {
		return stamp{}, fmt.Errorf("not a bench message: %q", text)
	}
	c, err1 := strconv.Atoi(f[1])
	q, err2 := strconv.Atoi(f[2])
	t, err3 := strconv.ParseInt(f[3], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || c < 0 || q < 0 {
		return stamp{}, fmt.Errorf("not a bench message: %q", text)
	}
	return stamp{Phase: f[0][0], Customer: c, Seq: q, Sent: t}, nil
}
