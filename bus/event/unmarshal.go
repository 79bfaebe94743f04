package event

import (
	"strconv"

	"github.com/hotline-hub/hotline/bus/event/jsondec"
)

// Hand-written decoders for the payloads every chat message carries
// (message.received, message.sent, message.delivered) and the Address and
// BlobRef inside them: every consumer decodes each of them once, and
// encoding/json's validation scan, reflection and the search for unknown
// members were a measurable share of the chat hub's CPU.
//
// They read one shape, the one Hotline writes, and only when they are
// certain to give exactly what encoding/json (unmarshalKeeping) gives:
// each known member at most once, under its exact name, with a value of
// its own type. Anything else leaves the value untouched and goes through
// unmarshalKeeping as before: a name encoding/json would match
// case-insensitively or keep in Extra, a duplicate, null, a number with a
// fraction or exponent, invalid JSON (which the decoders check, since
// Envelope.Decode hands them data no one has validated).
//
// Like encoding/json they leave fields the input does not mention as they
// were: each reads into a copy of the value, sets only what is there, and
// stores the copy only if it read everything. Where encoding/json would
// decode into what a field already holds (a non-nil list, whose elements
// it reuses, or a non-nil Raw) they decline. Envelope.Decode always
// decodes into a new, zero value; json.Unmarshal into a used value and
// the fallback's calls of Address.UnmarshalJSON on a used From get the
// same result as before.

// messageMembers points at the fields of a chat payload that its fast
// path reads; a nil pointer is a member the payload does not have.
type messageMembers struct {
	messageID, externalID, clientMessageID, agentID *string
	subject, text, language, inReplyTo              *string
	status, reason                                  *string
	from                                            *Address
	to, cc                                          *[]Address
	attachments                                     *[]BlobRef
	raw                                             **BlobRef
	attempts                                        *int
}

// read reads an object of m's members and reports whether it handled
// it; if s has failed, s.End says so.
func (m *messageMembers) read(s *jsondec.Scanner) bool {
	return s.Members(func(name []byte) (uint64, bool) {
		switch string(name) {
		case "message_id":
			return 1 << 0, readString(s, m.messageID)
		case "external_id":
			return 1 << 1, readString(s, m.externalID)
		case "client_message_id":
			return 1 << 2, readString(s, m.clientMessageID)
		case "agent_id":
			return 1 << 3, readString(s, m.agentID)
		case "from":
			return 1 << 4, m.from != nil && readAddress(s, m.from)
		case "to":
			return 1 << 5, readList(s, m.to)
		case "cc":
			return 1 << 6, readList(s, m.cc)
		case "subject":
			return 1 << 7, readString(s, m.subject)
		case "text":
			return 1 << 8, readString(s, m.text)
		case "attachments":
			return 1 << 9, readList(s, m.attachments)
		case "raw":
			return 1 << 10, readBlobPointer(s, m.raw)
		case "language":
			return 1 << 11, readString(s, m.language)
		case "in_reply_to":
			return 1 << 12, readString(s, m.inReplyTo)
		case "status":
			return 1 << 13, readString(s, m.status)
		case "reason":
			return 1 << 14, readString(s, m.reason)
		case "attempts":
			return 1 << 15, readInt(s, m.attempts)
		}
		return 0, false
	})
}

// readFast decodes data as UnmarshalJSON does, if it is a shape the
// hand-written decoder handles, and reports whether it was; if not, d is
// untouched. It reads into a copy of d, so that only the members data has
// are set, as encoding/json does. The five readFast methods are written
// out: through a generic helper taking the read function as a value, the
// copy and the Scanner would escape, two allocations more per call.
func (d *MessageReceivedData) readFast(data []byte) bool {
	v := *d
	m := messageMembers{messageID: &v.MessageID, externalID: &v.ExternalID, clientMessageID: &v.ClientMessageID,
		from: &v.From, to: &v.To, cc: &v.Cc, subject: &v.Subject, text: &v.Text, attachments: &v.Attachments,
		raw: &v.Raw, language: &v.Language, inReplyTo: &v.InReplyTo}
	s := jsondec.NewScanner(data)
	if !m.read(&s) || !s.End() {
		return false
	}
	v.Extra = nil
	*d = v
	return true
}

// readFast: see MessageReceivedData.readFast.
func (d *MessageSentData) readFast(data []byte) bool {
	v := *d
	m := messageMembers{messageID: &v.MessageID, clientMessageID: &v.ClientMessageID, agentID: &v.AgentID,
		from: &v.From, to: &v.To, cc: &v.Cc, subject: &v.Subject, text: &v.Text, attachments: &v.Attachments,
		language: &v.Language, inReplyTo: &v.InReplyTo}
	s := jsondec.NewScanner(data)
	if !m.read(&s) || !s.End() {
		return false
	}
	v.Extra = nil
	*d = v
	return true
}

// readFast: see MessageReceivedData.readFast.
func (d *MessageDeliveredData) readFast(data []byte) bool {
	v := *d
	m := messageMembers{messageID: &v.MessageID, status: &v.Status, externalID: &v.ExternalID, reason: &v.Reason,
		attempts: &v.Attempts}
	s := jsondec.NewScanner(data)
	if !m.read(&s) || !s.End() {
		return false
	}
	v.Extra = nil
	*d = v
	return true
}

// readFast: see MessageReceivedData.readFast.
func (a *Address) readFast(data []byte) bool {
	v := *a
	s := jsondec.NewScanner(data)
	if !readAddress(&s, &v) || !s.End() {
		return false
	}
	*a = v
	return true
}

// readFast: see MessageReceivedData.readFast.
func (b *BlobRef) readFast(data []byte) bool {
	v := *b
	s := jsondec.NewScanner(data)
	if !readBlob(&s, &v) || !s.End() {
		return false
	}
	*b = v
	return true
}

// readAddress reads an address object into a, setting the members it has
// and clearing Extra, as Address.UnmarshalJSON does when the object has no
// unknown members.
func readAddress(s *jsondec.Scanner, a *Address) bool {
	ok := s.Members(func(name []byte) (uint64, bool) {
		switch string(name) {
		case "address":
			return 1 << 0, readString(s, &a.Address)
		case "name":
			return 1 << 1, readString(s, &a.Name)
		}
		return 0, false
	})
	a.Extra = nil
	return ok
}

// readBlob reads a blob reference into r as readAddress reads an address.
func readBlob(s *jsondec.Scanner, r *BlobRef) bool {
	ok := s.Members(func(name []byte) (uint64, bool) {
		switch string(name) {
		case "sha256":
			return 1 << 0, readString(s, &r.SHA256)
		case "size":
			var ok bool
			r.Size, ok = s.Int(64)
			return 1 << 1, ok
		case "content_type":
			return 1 << 2, readString(s, &r.ContentType)
		case "name":
			return 1 << 3, readString(s, &r.Name)
		}
		return 0, false
	})
	r.Extra = nil
	return ok
}

// readList reads an array of addresses or blob references into *dst, when
// *dst is nil: encoding/json would decode into the elements a list
// already has. An empty array gives an empty list, not nil, as in
// encoding/json.
func readList[T Address | BlobRef](s *jsondec.Scanner, dst *[]T) bool {
	if dst == nil || *dst != nil || !s.BeginArray() {
		return false
	}
	list := []T{}
	for s.NextElement() {
		var zero T
		list = append(list, zero)
		var ok bool
		// A type switch rather than a func parameter: a call through a
		// func value would make s escape, and cost the caller's Scanner
		// an allocation.
		switch e := any(&list[len(list)-1]).(type) {
		case *Address:
			ok = readAddress(s, e)
		case *BlobRef:
			ok = readBlob(s, e)
		}
		if !ok {
			return false
		}
	}
	*dst = list
	return true
}

// readBlobPointer reads a blob reference into a new BlobRef when *dst is
// nil: encoding/json would decode into the one it points at.
func readBlobPointer(s *jsondec.Scanner, dst **BlobRef) bool {
	if dst == nil || *dst != nil {
		return false
	}
	r := new(BlobRef)
	if !readBlob(s, r) {
		return false
	}
	*dst = r
	return true
}

func readString(s *jsondec.Scanner, dst *string) bool {
	if dst == nil {
		return false
	}
	v, ok := s.Unquote()
	*dst = v
	return ok
}

func readInt(s *jsondec.Scanner, dst *int) bool {
	if dst == nil {
		return false
	}
	v, ok := s.Int(strconv.IntSize)
	*dst = int(v)
	return ok
}
