package inbox

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/hotline-hub/hotline/bus/event/jsonenc"
)

// The inbox socket's hot frames are encoded by hand: a customer's message
// and its reply are folded into a frame for the agent and every
// supervisor, hundreds of times a second, and encoding/json's reflection
// was ~3 % of the hub's CPU under `hotline bench chat`. The output is
// byte-identical to encoding/json's for the same value (frames_test.go
// proves it over varied values), HTML escaping included, so a client
// sees no difference. A rare nested part, a call's state, is still
// marshalled by encoding/json.

// appendMessageFrame appends the JSON of f.
func appendMessageFrame(b []byte, f *messageOut) ([]byte, error) {
	b = append(b, `{"type":`...)
	b = jsonenc.AppendString(b, f.Type)
	b = append(b, `,"conversation_id":`...)
	b = jsonenc.AppendString(b, f.ConversationID)
	b = append(b, `,"entry":`...)
	b, err := appendEntry(b, &f.Entry)
	if err != nil {
		return nil, err
	}
	if f.Conversation != nil {
		b = append(b, `,"conversation":`...)
		if b, err = appendSummary(b, f.Conversation); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// appendConversationFrame appends the JSON of f.
func appendConversationFrame(b []byte, f *conversationOut) ([]byte, error) {
	b = append(b, `{"type":`...)
	b = jsonenc.AppendString(b, f.Type)
	b = append(b, `,"conversation":`...)
	b, err := appendSummary(b, &f.Conversation)
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// appendSummary appends the JSON of s.
func appendSummary(b []byte, s *Summary) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = jsonenc.AppendString(b, s.ID)
	b = append(b, `,"tenant":`...)
	b = jsonenc.AppendString(b, s.Tenant)
	b = append(b, `,"channel":`...)
	b = jsonenc.AppendString(b, s.Channel)
	b = jsonenc.AppendOptional(b, `,"contact_id":`, s.ContactID)
	b = append(b, `,"customer":`...)
	b = appendCustomer(b, &s.Customer)
	b = jsonenc.AppendOptional(b, `,"queue":`, s.Queue)
	b = append(b, `,"status":`...)
	b = jsonenc.AppendString(b, s.Status)
	b = jsonenc.AppendOptional(b, `,"agent_id":`, s.AgentID)
	var err error
	if s.Offer != nil {
		b = append(b, `,"offer":`...)
		if b, err = appendOffer(b, s.Offer); err != nil {
			return nil, err
		}
	}
	b = append(b, `,"last_activity":`...)
	if b, err = jsonenc.AppendTime(b, s.LastActivity); err != nil {
		return nil, fmt.Errorf("inbox: encode last_activity: %w", err)
	}
	b = append(b, `,"messages":`...)
	b = strconv.AppendInt(b, int64(s.Messages), 10)
	b = append(b, `,"tags":`...)
	b = jsonenc.AppendStrings(b, s.Tags)
	if s.Call != nil {
		raw, err := json.Marshal(s.Call)
		if err != nil {
			return nil, fmt.Errorf("inbox: encode call: %w", err)
		}
		b = append(b, `,"call":`...)
		b = append(b, raw...)
	}
	return append(b, '}'), nil
}

// appendEntry appends the JSON of e.
func appendEntry(b []byte, e *Entry) ([]byte, error) {
	b = append(b, `{"message_id":`...)
	b = jsonenc.AppendString(b, e.MessageID)
	b = append(b, `,"direction":`...)
	b = jsonenc.AppendString(b, e.Direction)
	b = jsonenc.AppendOptional(b, `,"agent_id":`, e.AgentID)
	b = append(b, `,"text":`...)
	b = jsonenc.AppendString(b, e.Text)
	b = append(b, `,"time":`...)
	b, err := jsonenc.AppendTime(b, e.Time)
	if err != nil {
		return nil, fmt.Errorf("inbox: encode entry time: %w", err)
	}
	b = append(b, `,"delivered":`...)
	b = strconv.AppendBool(b, e.Delivered)
	b = jsonenc.AppendOptional(b, `,"delivery_error":`, e.DeliveryError)
	return append(b, '}'), nil
}

// appendCustomer appends the JSON of c.
func appendCustomer(b []byte, c *Customer) []byte {
	b = append(b, '{')
	b = jsonenc.AppendOptional(b, `"name":`, c.Name)
	address := `,"address":`
	if c.Name == "" {
		address = address[1:] // the first member
	}
	b = jsonenc.AppendOptional(b, address, c.Address)
	return append(b, '}')
}

// appendOffer appends the JSON of o.
func appendOffer(b []byte, o *Offer) ([]byte, error) {
	b = append(b, `{"agent_id":`...)
	b = jsonenc.AppendString(b, o.AgentID)
	b = append(b, `,"deadline":`...)
	b, err := jsonenc.AppendTime(b, o.Deadline)
	if err != nil {
		return nil, fmt.Errorf("inbox: encode offer deadline: %w", err)
	}
	return append(b, '}'), nil
}

// Sizes of the frames, to allocate each once: the keys, punctuation and
// times, plus the strings (which escaping rarely lengthens).
func messageFrameSize(f *messageOut) int {
	n := 64 + len(f.ConversationID) + entrySize(&f.Entry)
	if f.Conversation != nil {
		n += summarySize(f.Conversation)
	}
	return n
}

func replyResultSize(requestID string, out *replyOut) int {
	return 64 + len(requestID) + summarySize(&out.Conversation) + entrySize(&out.Entry)
}

func entrySize(e *Entry) int {
	return 160 + len(e.MessageID) + len(e.Direction) + len(e.AgentID) + len(e.Text) + len(e.DeliveryError)
}

func summarySize(s *Summary) int {
	n := 224 + len(s.ID) + len(s.Tenant) + len(s.Channel) + len(s.ContactID) + len(s.Customer.Name) +
		len(s.Customer.Address) + len(s.Queue) + len(s.Status) + len(s.AgentID)
	if s.Offer != nil {
		n += 80 + len(s.Offer.AgentID)
	}
	for _, t := range s.Tags {
		n += 3 + len(t)
	}
	if s.Call != nil {
		n += 256
	}
	return n
}

// appendReplyResult appends the reply_result frame answering the reply
// frame requestID with out: {"type","request_id","conversation","entry"}.
func appendReplyResult(b []byte, requestID string, out *replyOut) ([]byte, error) {
	b = append(b, `{"type":"reply_result","request_id":`...)
	b = jsonenc.AppendString(b, requestID)
	b = append(b, `,"conversation":`...)
	b, err := appendSummary(b, &out.Conversation)
	if err != nil {
		return nil, err
	}
	b = append(b, `,"entry":`...)
	if b, err = appendEntry(b, &out.Entry); err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}
