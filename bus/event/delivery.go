package event

import (
	"errors"
	"fmt"
	"sync"

	"github.com/hotline-hub/hotline/bus"
)

// FromDelivery returns the event a delivery carries: FromMessage on its
// message, computed once per process for every delivery of the same
// record (bus.Delivery.Memo; the embedded bus shares one record between all
// the subscriptions that read it, Kafka's gives each delivery its own), and
// its Decode is computed once as well. It is how consumers read
// deliveries.
//
// The envelope, its Data (which is the delivery's Value, not a copy) and
// the payload Decode returns are therefore shared with the other consumers
// of the process and are read-only: a consumer that wants to change one,
// or to keep a slice or map of it to append to or sort, copies it first.
// Errors are shared too: a malformed record fails the same way for every
// consumer.
func FromDelivery(d *bus.Delivery) (*Envelope, error) {
	if d == nil {
		return nil, fmt.Errorf("%w: nil delivery", ErrMalformed)
	}
	v, err := d.Memo(func() (any, error) {
		e, err := fromMessage(&d.Message, true)
		if err != nil {
			return nil, err
		}
		e.payload = new(payloadMemo)
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	if e, ok := v.(*Envelope); ok {
		return e, nil
	}
	// The memo holds what another layer derived from the record: decode
	// this delivery on its own.
	return FromMessage(&d.Message)
}

// payloadMemo is the shared result of Decode on an envelope from
// FromDelivery. It remembers what it decoded, so that a copy of the
// envelope whose type, dataschema, content type or data was replaced
// decodes its own data instead of getting the memo's.
type payloadMemo struct {
	once        sync.Once
	typ, schema string
	contentType string
	data        []byte
	p           Payload
	err         error
}

var errDecodePanicked = errors.New("event: decoding this event's payload panicked")

// decode returns e's payload, decoded the first time only.
func (m *payloadMemo) decode(e *Envelope) (Payload, error) {
	m.once.Do(func() {
		m.typ, m.schema, m.contentType, m.data = e.Type, e.DataSchema, e.DataContentType, e.Data
		m.err = errDecodePanicked
		m.p, m.err = e.decode()
	})
	if m.typ == e.Type && m.schema == e.DataSchema && m.contentType == e.DataContentType && sameBytes(m.data, e.Data) {
		return m.p, m.err
	}
	return e.decode()
}

// sameBytes reports whether a and b are the same slice of the same memory.
func sameBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	return len(a) == 0 || &a[0] == &b[0]
}
